"""One module per subcommand, each exposing a click command named ``command``.

Modules import heavy libraries (torch, yolox, boxmot) inside the command function only.
"""
