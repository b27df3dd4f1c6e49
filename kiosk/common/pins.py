"""PIN verifiers: salted argon2id hashes, never a PIN in clear.

The cost is set for a Raspberry Pi: one verification takes a few tens of
milliseconds there, which a patron does not notice and a thief with a copy of
the mirror feels on every guess.
"""

from __future__ import annotations

import ctypes
import ctypes.util

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
