"""kiosk-central: the library's circulation server that kiosks sync with."""
