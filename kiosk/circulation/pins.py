"""PIN verifiers: salted argon2id hashes, never a PIN in clear.

The cost is set for a Raspberry Pi: one verification takes a few tens of
milliseconds there, which a patron does not notice and a thief with a copy of
the mirror feels on every guess.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

MAX_WRONG_PINS = 5
LOCKOUT_MINUTES = 15


def pin_verifier(pin: str) -> str:
    return _HASHER.hash(pin)


def pin_matches(verifier: str, pin: str) -> bool:
    try:
        return _HASHER.verify(verifier, pin)
    except (VerificationError, InvalidHashError):
        return False
