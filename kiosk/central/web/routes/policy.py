"""*Policy*: the lending policy in force as tables anyone signed in may read (the
privilege matrix, the limits of each member and publication type, the fault charges and
the calendar), and for administrators, a new policy file (TOML, as ``kiosk-central
import policy`` takes it) put in force. Checking and putting it are
``kiosk.central.circulation.policy``'s: every problem is listed at its key path and a
policy with any changes nothing; a new one is audited and enters the change log, which
takes it to every kiosk."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from kiosk.central.circulation.policy import import_policy, policy_in_force
from kiosk.central.errors import ImportRejected
from kiosk.central.web.accounts import RANK
from kiosk.central.web.deps import Admin, Current, Db, Now, Origin, Settings, Viewer
from kiosk.central.web.pages import render
from kiosk.central.web.settings import ConsoleSettings
from kiosk.central.web.uploads import MB, Upload, describe, uploaded
from kiosk.rules import Policy, Privilege, advisories

router = APIRouter(prefix="/staff", include_in_schema=False)

MAX_BYTES = 1 * MB  # a policy file is a few kilobytes
STATUS = {"too large": 413, "no length": 411}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Uploaded = Annotated[Upload, Depends(uploaded(MAX_BYTES, "policy.toml"))]


# --- the policy as tables -----------------------------------------------------------------


def _counted(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _at_once(quota: int | None) -> str:
    if quota is None:
        return "no limit"
    return "none" if quota == 0 else f"up to {quota}"


def _money(amount: Decimal | None, otherwise: str) -> str:
    return otherwise if amount is None else f"{amount:.2f}"


def _day(day: date | None) -> str:
    return "none" if day is None else day.isoformat()


def _lines(lines: Sequence[str]) -> Markup:
    if len(lines) == 1:  # may not borrow
        return Markup('<span class="govuk-hint govuk-!-font-size-16">{}</span>').format(lines[0])
    return Markup(
        '<ul class="govuk-list govuk-!-font-size-16 govuk-!-margin-bottom-0">{}</ul>'
    ).format(Markup("").join(Markup("<li>{}</li>").format(line) for line in lines))


def privilege_lines(privilege: Privilege | None) -> list[str]:
    """One cell of the matrix: loan period, items at once, grace, fine and renewals."""
    if privilege is None:
        return ["May not borrow"]
    if privilege.is_short_loan:
        period = f"Loan: {_counted(privilege.hours, 'hour', 'hours')}"
    else:
        period = f"Loan: {_counted(privilege.days, 'day', 'days')}"
    if privilege.fine == 0:
        fine = "Fine: none"
    elif privilege.days_per_fine == 1:
        fine = f"Fine: {privilege.fine:.2f} a day"
    else:
        fine = f"Fine: {privilege.fine:.2f} per {privilege.days_per_fine} days"
    renewals = "no limit" if privilege.renewals is None else str(privilege.renewals or "none")
    grace = _counted(privilege.days_grace, "day", "days") if privilege.days_grace else "none"
    return [
        period,
        f"At once: {_at_once(privilege.quota)}",
        f"Grace: {grace}",
        fine,
        f"Renewals: {renewals}",
    ]


def _heading(name: str, code: str) -> Markup:
    return Markup(
        '{}<br><span class="govuk-!-font-size-16 govuk-!-font-weight-regular">{}</span>'
    ).format(name, code)


def tables(policy: Policy) -> dict[str, Any]:
    """The policy as GOV.UK tables' parameters (text escaped here, as ``Markup``)."""
    publications = list(policy.publication_types.values())
    matrix = {
        "caption": "Privileges: what each member type may borrow of each publication type",
        "captionClasses": "govuk-table__caption--m",
        "firstCellIsHeader": True,
        "attributes": {"id": "privileges"},
        "head": [{"text": "Member type"}]
        + [{"html": _heading(publication.name, publication.code)} for publication in publications],
        "rows": [
            [{"html": _heading(member.name, member.code)}]
            + [
                {
                    "html": _lines(
                        privilege_lines(policy.privilege(member.code, publication.code))
                    ),
                    "attributes": {
                        "data-pair": f"{member.code} x {publication.code}",
                    },
                }
                for publication in publications
            ]
            for member in policy.member_types.values()
        ],
    }
    members = {
        "caption": "Member types",
        "captionClasses": "govuk-table__caption--m",
        "firstCellIsHeader": True,
        "attributes": {"id": "member-types"},
        "head": [
            {"text": "Member type"},
            {"text": "Items at once"},
            {"text": "No loan due after"},
            {"text": "Most fine for one loan"},
            {"text": "Cannot borrow when owing over"},
        ],
        "rows": [
            [
                {"html": _heading(member.name, member.code)},
                {"text": _at_once(member.quota)},
                {"text": _day(member.no_issue_after)},
                {"text": _money(member.max_fine, "no cap")},
                {"text": _money(member.fine_limit, "never refused")},
            ]
            for member in policy.member_types.values()
        ],
    }
    publication_types = {
        "caption": "Publication types",
        "captionClasses": "govuk-table__caption--m",
        "firstCellIsHeader": True,
        "attributes": {"id": "publication-types"},
        "head": [
            {"text": "Publication type"},
            {"text": "Items at once"},
            {"text": "No loan due after"},
            {"text": "Most fine for one loan"},
            {"text": "Text book"},
        ],
        "rows": [
            [
                {"html": _heading(publication.name, publication.code)},
                {"text": _at_once(publication.quota)},
                {"text": _day(publication.no_issue_after)},
                {"text": _money(publication.max_fine, "no cap")},
                {"text": "Yes" if publication.text_book else "No"},
            ]
            for publication in publications
        ],
    }
    charges = {
        "caption": "Fault charges (never more than the item's price, when it has one)",
        "captionClasses": "govuk-table__caption--m",
        "firstCellIsHeader": True,
        "attributes": {"id": "fault-charges"},
        "head": [{"text": "Charge"}, {"text": "Amount"}, {"text": "The item becomes"}],
        "rows": [
            [
                {"html": _heading(charge.name, charge.code)},
                {"text": _money(charge.amount, "")},
                {"text": charge.status.replace("_", " ")},
            ]
            for charge in policy.fault_charges.values()
        ],
    }
    calendar = policy.calendar
    return {
        "matrix": matrix,
        "members": members,
        "publications": publication_types,
        "charges": charges if policy.fault_charges else None,
        "closed_weekdays": [WEEKDAYS[day] for day in sorted(calendar.closed_weekdays)],
        "closed_dates": [day.isoformat() for day in sorted(calendar.closed_dates)],
    }


# --- the pages ------------------------------------------------------------------------------


def _policy_page(
    request: Request,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    put: bool = False,
) -> HTMLResponse:
    in_force = policy_in_force(db)
    return render(
        request,
        config,
        "policy.html",
        who=signed_in.who,
        in_force=in_force,
        tables=tables(in_force.policy) if in_force else None,
        advisories=advisories(in_force.policy) if in_force else [],
        put=put,
        may_put=RANK[signed_in.who.role] >= RANK["admin"],
    )


@router.get("/policy", response_class=HTMLResponse)
def policy_page(request: Request, signed_in: Viewer, db: Db, config: Settings) -> HTMLResponse:
    return _policy_page(request, signed_in, db=db, config=config)


def _upload_page(
    request: Request,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    error: str | None = None,
    rejected: ImportRejected | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    in_force = policy_in_force(db)
    return render(
        request,
        config,
        "policy_upload.html",
        who=signed_in.who,
        status_code=status_code,
        in_force_version=in_force.version if in_force else None,
        error=error,
        rejected=rejected,
        max_mb=MAX_BYTES // MB,
    )


@router.get("/policy/upload", response_class=HTMLResponse)
def policy_upload_page(
    request: Request, signed_in: Admin, db: Db, config: Settings
) -> HTMLResponse:
    return _upload_page(request, signed_in, db=db, config=config)


@router.post("/policy/upload", response_class=HTMLResponse)
def policy_upload(
    request: Request,
    *,
    signed_in: Admin,
    upload: Uploaded,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
) -> HTMLResponse:
    problem = describe(upload, "a policy file")
    if problem is not None:
        return _upload_page(
            request,
            signed_in,
            db=db,
            config=config,
            error=problem,
            status_code=STATUS.get(upload.refused, 422),
        )
    with upload.saved() as path:
        try:
            import_policy(db, path, moment, actor=signed_in.who.username, origin=origin)
        except ImportRejected as rejected:
            db.rollback()
            return _upload_page(
                request, signed_in, db=db, config=config, rejected=rejected, status_code=422
            )
    # The answer to the POST itself: the new version and its advisories, shown once.
    return _policy_page(request, signed_in, db=db, config=config, put=True)
