"""The library's lending policy, as data, and the decisions it makes.

Pure standard-library Python: no I/O, no clock (``now`` is always passed in),
money as ``Decimal``. See shared/docs/lending-rules.md and docs/lending-rules.md.
"""

from kiosk.rules.decisions import (
    CheckoutDecision,
    FaultOutcome,
    MembershipRenewalDecision,
    RenewalDecision,
    ReturnOutcome,
    Route,
    Routing,
    assess_fault,
    assess_return,
    decide_checkout,
    decide_membership_renewal,
    decide_renewal,
    lending_closed,
    route_return,
    standing_refusals,
    trap_for,
)
from kiosk.rules.errors import InvalidPolicy, Problem, RulesError
from kiosk.rules.model import (
    Calendar,
    Due,
    FaultCharge,
    Item,
    Loan,
    MemberType,
    Patron,
    Policy,
    Privilege,
    PublicationType,
)
from kiosk.rules.parsing import advisories, read_policy
from kiosk.rules.reasons import Reason, Refusal

__all__ = [
    "Calendar",
    "CheckoutDecision",
    "Due",
    "FaultCharge",
    "FaultOutcome",
    "InvalidPolicy",
    "Item",
    "Loan",
    "MemberType",
    "MembershipRenewalDecision",
    "Patron",
    "Policy",
    "Privilege",
    "Problem",
    "PublicationType",
    "Reason",
    "Refusal",
    "RenewalDecision",
    "ReturnOutcome",
    "Route",
    "Routing",
    "RulesError",
    "advisories",
    "assess_fault",
    "assess_return",
    "decide_checkout",
    "decide_membership_renewal",
    "decide_renewal",
    "lending_closed",
    "read_policy",
    "route_return",
    "standing_refusals",
    "trap_for",
]
