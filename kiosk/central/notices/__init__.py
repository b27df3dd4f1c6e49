"""Notices to patrons (to come, issue 14): ``kiosk-central notices``.

The outbox (in the central database), the kinds of notice (due, overdue, hold
ready, membership, receipts), the channels (email, SMS) and their templates. Each
notice has a key fixed when it is decided and is sent once, however many workers
run.
"""
