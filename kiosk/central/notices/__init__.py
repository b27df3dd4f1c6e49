"""Notices to patrons (issue 16): ``kiosk-central notices``.

- :mod:`~kiosk.central.notices.preferences`: what each patron chose (channel, kinds,
  days before a due date, digest, new arrivals);
- :mod:`~kiosk.central.notices.finding`: what is due, each notice with its key
  (patron, kind, subject, day) fixed by the rules' own dates;
- :mod:`~kiosk.central.notices.outbox`: the outbox, every key once, every notice sent
  at most once whatever the runners, restarts and kills;
- :mod:`~kiosk.central.notices.templates`: the words, one Jinja2 file per kind and
  language, the library's own over the shipped ones;
- :mod:`~kiosk.central.notices.channels`: email (SMTP) and text messages (an HTTP
  gateway);
- :mod:`~kiosk.central.notices.runner`: one pass and the service.
"""
