"""Self-service library kiosk."""

__version__ = "0.1.0"
