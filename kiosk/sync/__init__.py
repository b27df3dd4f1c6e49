"""The wire protocol shared with kiosk-central, and the kiosk's sync agent."""
