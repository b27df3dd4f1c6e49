"""The console's lists by branch (issue 21): the Kiosks page, the hold shelf, the copies
in transit and the reports each show one branch's rows, or every branch's.

The branch comes from the page's query string. Absent, it is the signed-in member of
staff's own (their account's branch; every branch for an account with none); empty, it
is every branch; a code that names no branch is answered in words, naming the nearest,
with every branch's rows shown meanwhile and the page's status 400. The choices list the
member of staff's own branch first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query
from sqlalchemy.orm import Session

from kiosk.central.circulation.branches import branch_problem, branches
from kiosk.central.web.accounts import SignedIn

# A branch asked for in a page's query (None: the member of staff's own; "": every one).
# Bounded before anything reads it; a longer one is refused by FastAPI with a 422.
BranchChoice = Annotated[str | None, Query(max_length=32)]
EVERY = "Every branch"


@dataclass(frozen=True, slots=True)
class BranchView:
    """``chosen``: the branch whose rows a page shows (None: every branch); ``options``:
    the filter's choices, for govukSelect; ``problem``: what was wrong with the branch
    asked for (None: nothing)."""

    chosen: str | None
    options: list[dict[str, Any]]
    problem: str | None = None

    @property
    def status(self) -> int:
        return 200 if self.problem is None else 400

    @property
    def query(self) -> str:
        """The choice as the page's query string says it (``""``: every branch)."""
        return self.chosen or ""


def branch_view(db: Session, who: SignedIn, asked: str | None) -> BranchView:
    """The branch a page shows for ``who`` asking for ``asked`` (as ``BranchChoice``)."""
    found = branches(db)
    codes = {branch.code for branch in found}
    own = who.branch if who.branch in codes else None
    problem = None
    if asked is None:
        chosen = own
    elif not asked.strip():
        chosen = None
    else:
        problem = branch_problem(asked, codes)
        chosen = None if problem is not None else asked
    first = [branch for branch in found if branch.code == own]
    rest = [branch for branch in found if branch.code != own]
    options = [
        {
            "value": branch.code,
            "text": f"{branch.name} ({branch.code}), your branch",
            "selected": branch.code == chosen,
        }
        for branch in first
    ]
    options.append({"value": "", "text": EVERY, "selected": chosen is None})
    options += [
        {
            "value": branch.code,
            "text": f"{branch.name} ({branch.code})",
            "selected": branch.code == chosen,
        }
        for branch in rest
    ]
    return BranchView(chosen, options, problem)
