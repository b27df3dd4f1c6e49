"""PIN verifiers: argon2id, and the memory each verification borrows given back."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timedelta

import pytest

from kiosk.common.pins import MAX_WRONG_PINS, PinState, pin_matches, pin_verifier

# A fresh interpreter, so that glibc's heaps hold nothing of the test run's own.
VERIFY_FROM_THREADS = textwrap.dedent(
    """
    import sys, threading
    from kiosk.common.pins import pin_matches, pin_verifier, return_hash_memory_after_each_pin
    if sys.argv[1] == "tuned":
        assert return_hash_memory_after_each_pin()
    def anon_mb():
        for line in open("/proc/self/status"):
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    verifier = pin_verifier("1234")
    before = anon_mb()
    for _ in range(6):
        worker = threading.Thread(target=pin_matches, args=(verifier, "1234"))
        worker.start()
        worker.join()
        pin_matches(verifier, "0000")
    print(anon_mb() - before)
    """
)


def _growth_mb(mode: str) -> float:
    answer = subprocess.run(
        [sys.executable, "-c", VERIFY_FROM_THREADS, mode],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(answer.stdout)


def test_a_verifier_never_holds_the_pin_and_checks_it() -> None:
    verifier = pin_verifier("1234")
    assert "1234" not in verifier
    assert verifier.startswith("$argon2id$")
    assert pin_matches(verifier, "1234")
    assert not pin_matches(verifier, "1235")
    assert not pin_matches("not a verifier", "1234")


def test_the_kiosk_gives_back_each_verifications_working_memory() -> None:
    # Untuned, glibc keeps each thread's freed 19 MiB buffer: the kiosk grew with its
    # first PINs. Tuned, twelve verifications in two threads leave it as it was.
    assert _growth_mb("untuned") > 15
    assert _growth_mb("tuned") < 5


_AT = datetime(2026, 12, 3, 10, 0)
_LOCK = _AT + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("before", "right", "at", "after"),
    [
        # A wrong PIN counts; the fifth locks for 15 minutes from when it was typed.
        (PinState(), False, _AT, PinState(1)),
        (PinState(3), False, _AT, PinState(4)),
        (PinState(4), False, _AT, PinState(0, _LOCK)),
        # A right one clears the count.
        (PinState(4), True, _AT, PinState()),
        # During a lock nothing counts, not even the right PIN.
        (PinState(0, _LOCK), True, _AT + timedelta(minutes=14), PinState(0, _LOCK)),
        (PinState(0, _LOCK), False, _AT + timedelta(minutes=14), PinState(0, _LOCK)),
        # Once it ends the card starts afresh, whichever PIN comes next.
        (PinState(0, _LOCK), True, _LOCK, PinState()),
        (PinState(2, _LOCK), False, _LOCK, PinState(1)),
    ],
)
def test_pins_are_counted_and_lock_the_card_as_the_lending_rules_say(
    before: PinState, right: bool, at: datetime, after: PinState
) -> None:
    assert before.after(right=right, at=at) == after
    assert after.attempts_left() == MAX_WRONG_PINS - after.failures
    assert after.locked_at(at) is (after.locked_until is not None and at < after.locked_until)
