"""The kiosks' sync API: ``/v1/...`` over HTTP, one bearer token per kiosk.

``app`` builds the FastAPI application and its routes, ``feed`` answers what
kiosks read (the snapshot in pages, the change log since a cursor), ``kiosks``
registers kiosks and checks their tokens. Routes are thin: what a push changes
is decided by ``kiosk.central.circulation``.
"""
