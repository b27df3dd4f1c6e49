"""A SIP2 server for the library's other self-service equipment (issue 18): vendor
self-checks, sorters and authenticators, as ``kiosk-central sip2``.

``codec`` is the 3M Standard Interchange Protocol 2.00 itself: every message as a frozen
dataclass, ``parse`` for what a device sends, ``encode`` and ``frame`` for our answers,
``verify_checksum`` for the AY/AZ error detection (``fields``: the kinds of value, SIP2
dates, the field names; ``docs/sip2.md``: the table for people). The server translates
messages to and from ``kiosk.central.circulation``, which decides; a handler decides
nothing itself.
"""
