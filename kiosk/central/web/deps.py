"""The console's FastAPI dependencies: a database session, the signed-in member of staff
and their role, and the CSRF check. Every route takes what it needs from here, so no
route can forget to check who is asking."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi_csrf_protect import CsrfProtect
from fastapi_csrf_protect.exceptions import CsrfProtectError
from sqlalchemy.orm import Session

from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.circulation.subject_cache import ArrivalSubjects
from kiosk.central.web import sessions
from kiosk.central.web.accounts import RANK, Role, SignedIn
from kiosk.central.web.settings import ConsoleSettings


class NotSignedIn(Exception):
    """No session, or an ended one: a page answers with the sign-in page."""


class NotAllowed(Exception):
    """Signed in, but the role does not reach: 403."""

    def __init__(self, who: SignedIn) -> None:
        super().__init__(who.username)
        self.who = who


class CsrfRefused(Exception):
    """A form posted without the token its page gave, or with another: 403."""


# The dependencies that only read the request or the app are coroutines: FastAPI runs a
# plain function in its thread pool, and each such hop waits for the GIL behind whatever
# page another thread is rendering (see kiosk.central.latency). Those that wait on the
# database stay plain functions, off the event loop.


async def settings(request: Request) -> ConsoleSettings:
    found: ConsoleSettings = request.app.state.console
    return found


async def now(request: Request) -> datetime:
    moment: datetime = request.app.state.now()
    return moment


async def origin(request: Request) -> str:
    """Where a request came from, for the audit log (the proxy's address behind one)."""
    return request.client.host if request.client else "unknown"


def policy_cache(request: Request) -> PolicyCache:
    """The server's one cache of the policy in force, for a page that reads it on the way."""
    found: PolicyCache = request.app.state.policies
    return found


async def policies(request: Request) -> PolicyCache:
    return policy_cache(request)


async def arrival_subjects(request: Request) -> ArrivalSubjects:
    """The server's one cache of the subjects of new arrivals the portal offers."""
    found: ArrivalSubjects = request.app.state.arrival_subjects
    return found


def database(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as db:
        yield db


Db = Annotated[Session, Depends(database)]
Policies = Annotated[PolicyCache, Depends(policies)]
OfferedSubjects = Annotated[ArrivalSubjects, Depends(arrival_subjects)]
Settings = Annotated[ConsoleSettings, Depends(settings)]
Now = Annotated[datetime, Depends(now)]
Origin = Annotated[str, Depends(origin)]


@dataclass(frozen=True, slots=True)
class Current:
    """The signed-in member of staff and their session's id (for signing out)."""

    who: SignedIn
    session_id: str


def current(request: Request, db: Db, config: Settings, moment: Now) -> Current:
    session_id = request.cookies.get(config.session_cookie, "")
    who = sessions.find(db, session_id, moment, config.lifetimes)
    if who is None:
        raise NotSignedIn
    request.state.staff = who
    return Current(who, session_id)


def optional_staff(request: Request, db: Db, config: Settings, moment: Now) -> SignedIn | None:
    """The signed-in member of staff, if any (the sign-in page sends them home)."""
    session_id = request.cookies.get(config.session_cookie, "")
    return sessions.find(db, session_id, moment, config.lifetimes) if session_id else None


def role(least: Role) -> Callable[[Current], Coroutine[Any, Any, Current]]:
    """A dependency letting through staff whose role is ``least`` or above."""

    async def check(signed_in: Annotated[Current, Depends(current)]) -> Current:
        if RANK[signed_in.who.role] < RANK[least]:
            raise NotAllowed(signed_in.who)
        return signed_in

    return check


Viewer = Annotated[Current, Depends(role("viewer"))]
Circulation = Annotated[Current, Depends(role("circulation"))]
Admin = Annotated[Current, Depends(role("admin"))]


async def csrf_protect() -> CsrfProtect:
    """The library's checker, made here rather than by FastAPI (which would build the
    class in its thread pool)."""
    return CsrfProtect()


async def csrf_checked(
    request: Request, csrf: Annotated[CsrfProtect, Depends(csrf_protect)]
) -> None:
    """The form's ``csrf_token`` must match the signed one in the CSRF cookie
    (fastapi-csrf-protect's double-submit cookie)."""
    await request.form()  # parsed here: the library then reads the field from it
    try:
        await csrf.validate_csrf(request)
    except CsrfProtectError:
        raise CsrfRefused from None


CsrfChecked = Depends(csrf_checked)
