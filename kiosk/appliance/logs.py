"""Logging for the kiosk's services: plain lines on standard error, which systemd puts
in the journal (it adds the time and the unit).

Nothing the kiosk logs names a patron, a card number or a PIN
(tests/appliance/test_logs.py checks). SQLAlchemy's engine logs would: at INFO they
echo every statement with its parameters, card numbers included. SQLAlchemy keeps
them at WARNING unless told otherwise; so does this, whatever level is asked for.
"""

from __future__ import annotations

import logging
import sys

LEVELS = ("debug", "info", "warning", "error")
# Loggers that print query parameters or request bodies: never below WARNING.
QUIET = ("sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool")


class _StandardError(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (tests replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # logging must never stop the kiosk
            self.handleError(record)


def setup_logging(level: str) -> logging.Handler:
    """Send the kiosk's logs at ``level`` and above to standard error. Calling it again
    replaces the earlier setup rather than adding to it."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StandardError):
            root.removeHandler(handler)
    handler = _StandardError()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
