""" "Did you mean": the closest known word to a mistyped one, for error messages.

The one implementation for the whole project (``kiosk.rules`` keeps its own, as it
imports nothing of the project). Words are compared without regard to case.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate closest to ``word``, or None when none is close enough."""
    by_folded = {candidate.casefold(): candidate for candidate in candidates}
    close = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=cutoff)
    return by_folded[close[0]] if close else None


def did_you_mean(
    word: str, candidates: Iterable[str], cutoff: float = 0.6, *, bracketed: bool = False
) -> str:
    """``; did you mean 'X'?`` (with ``bracketed``: `` (did you mean 'X'?)``) for the
    closest candidate, or nothing, to put after a message."""
    found = closest(word, candidates, cutoff)
    if found is None:
        return ""
    return f" (did you mean {found!r}?)" if bracketed else f"; did you mean {found!r}?"
