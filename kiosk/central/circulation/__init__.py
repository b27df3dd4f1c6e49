"""The one decision path on the server: everything that changes the library's record.

Kiosk facts applied once (``apply``), the change log every change enters
(``changes``), the policy in force (``policy``), holds (``holds``), staff's
exceptions and the transactions recorded (``staff``), the staff's CSV imports
(``importers``) and the Koha export of what was recorded (``koc``). Lending
questions are decided here with ``kiosk.rules``; the kiosks' API, the staff
console, the patron portal and SIP2 call this part and never decide on their own.
"""
