"""kiosk-central: the library's circulation server that kiosks sync with.

Its rooms (shared/docs/architecture.md, "Inside central/"):

- ``database``, ``models``, ``migrations``: the authoritative schema (Alembic),
  SQLite and PostgreSQL alike;
- ``circulation``: the one decision path, which every change goes through and
  enters the change log;
- ``api``: the kiosks' sync API;
- ``commands``: one module per ``kiosk-central`` command (``cli`` registers them);
- ``config``: ``central.toml``, read and checked as the kiosk's ``kiosk.toml`` is;
- ``web``, ``notices``, ``sip2``: the staff console and patron portal, the notices
  and the SIP2 server, to come.

Of the kiosk side it imports only ``kiosk.rules``, ``kiosk.sync.protocol`` and
``kiosk.common``; the demo's command reaches it through an entry point.
"""
