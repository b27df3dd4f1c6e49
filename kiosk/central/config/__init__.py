"""``central.toml``, the central server's settings (to come, issue 14), loaded and
validated as ``kiosk.toml`` is: every mistake at once, with file, line, key and a
"did you mean"."""
