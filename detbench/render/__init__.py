"""Drawing for people: tracks over images."""
