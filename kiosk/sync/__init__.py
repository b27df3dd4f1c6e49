"""The wire protocol shared with kiosk-central, and the kiosk's sync agent. Arrives with issue 5."""
