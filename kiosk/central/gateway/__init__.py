"""Gateway mode (issue 19): kiosk-central in front of the library's own system (Koha,
Evergreen, Sierra, Alma ...), which stays the record. The decision path queues every
transaction it records in the upstream outbox (``outbox``), and ``kiosk-central relay``
(``relay``) sends them there over SIP2 (``client``, with the SIP2 server's own codec),
once each and in the order decided."""
