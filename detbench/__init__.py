"""detbench: detection-tracking benchmark harness."""
import warnings as _warnings

__version__ = "0.1.0"

# Output that is not the user's business: YOLOX's head calls the deprecated
# torch.cuda.amp.autocast, a FutureWarning about its code. (triton's "nanobind: leaked ..." lines at
# the end of a command are kept off the terminal by the `detbench` command alone, at exit:
# detbench.teardown; importing detbench changes no other package.)
_warnings.filterwarnings("ignore", message=r".*torch\.cuda\.amp\.autocast.*is deprecated", category=FutureWarning,
                         module=r"yolox(\.|$)")
