"""The staff console (issue 14) and, later, the patron portal: kiosk-central in a browser.

Templates, static assets (GOV.UK Frontend, vendored), sessions, sign-in and CSRF live
here. ``console.mount_console`` puts it on the server's app under ``/staff``. Routes
stay thin (``routes/``, one module per resource): who is asking and what their role
allows comes from ``deps``; every lending question (checkout, return, renew, holds,
payments, membership renewal) is put to ``kiosk.central.circulation``, never decided in
a route.
"""
