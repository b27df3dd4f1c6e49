"""kiosk-central: the library's circulation server that kiosks sync with.

Its rooms (shared/docs/architecture.md, "Inside central/"):

- ``database``, ``models``, ``migrations``: the authoritative schema (Alembic),
  SQLite and PostgreSQL alike;
- ``circulation``: the one decision path, which every change goes through and
  enters the change log;
- ``api``: the kiosks' sync API;
- ``commands``: one module per ``kiosk-central`` command (``cli`` registers them);
- ``web``, ``notices``, ``sip2``, ``config``: the staff console and patron portal,
  the notices, the SIP2 server and ``central.toml``, to come.

Of the kiosk side it imports only ``kiosk.rules``, ``kiosk.sync.protocol`` and
``kiosk.common``; the demo's command reaches it through an entry point.
"""
