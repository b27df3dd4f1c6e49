"""A SIP2 server for the library's other self-service equipment (to come, issue 14):
``kiosk-central sip2``.

The SIP2 codec and the server: messages are translated to and from
``kiosk.central.circulation``, which decides; a handler decides nothing itself.
"""
