"""PIN verifiers: salted argon2id hashes, never a PIN in clear.

The cost is set for a Raspberry Pi: one verification takes a few tens of
milliseconds there, which a patron does not notice and a thief with a copy of
the mirror feels on every guess.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# glibc's mallopt parameter: allocations above this size are mapped apart and unmapped
# when freed. Fixing it also stops glibc raising it after each large free.
_M_MMAP_THRESHOLD = -3
_LARGE_ALLOCATION = 1 << 20

MAX_WRONG_PINS = 5
LOCKOUT_MINUTES = 15


@dataclass(frozen=True, slots=True)
class PinState:
    """A card's wrong PINs, counted wherever they were typed (kiosks, the portal, SIP2):
    the server keeps it, each kiosk mirrors it and lays its own unsent attempts over it,
    so both sides must fold attempts the same way, here."""

    failures: int = 0
    locked_until: datetime | None = None

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def after(self, *, right: bool, at: datetime) -> PinState:
        """The state once a PIN typed at ``at`` was found ``right`` or wrong. An attempt
        during a lock changes nothing (the card is not even asked for a PIN then, but an
        offline kiosk may not have known of a lock set elsewhere)."""
        if self.locked_at(at):
            return self
        if right:
            return PinState()
        failures = (0 if self.locked_until is not None else self.failures) + 1
        if failures >= MAX_WRONG_PINS:
            return PinState(0, at + timedelta(minutes=LOCKOUT_MINUTES))
        return PinState(failures)

    def attempts_left(self) -> int:
        return MAX_WRONG_PINS - self.failures


def pin_verifier(pin: str) -> str:
    return _HASHER.hash(pin)


def pin_matches(verifier: str, pin: str) -> bool:
    try:
        return _HASHER.verify(verifier, pin)
    except (VerificationError, InvalidHashError):
        return False


def return_hash_memory_after_each_pin() -> bool:
    """Each verification takes a 19 MiB working buffer. Left to itself glibc keeps the
    freed buffer in the heap of the thread that used it, so a kiosk grew by tens of
    megabytes over its first PINs; mapped apart, each buffer goes back to the system.
    Returns False where the C library is not glibc (nothing to tune)."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _LARGE_ALLOCATION))
