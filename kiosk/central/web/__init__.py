"""The staff console and the patron portal (to come, issue 14).

Templates, static assets, sessions, sign-in and CSRF live here. Routes stay thin:
every lending question (checkout, return, renew, holds, payments, membership
renewal) is put to ``kiosk.central.circulation``, never decided in a route.
"""
