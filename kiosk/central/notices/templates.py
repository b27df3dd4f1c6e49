"""The words of each notice: one Jinja2 file per kind and language, staff may replace.

A file (``en/due_soon.txt``) holds five blocks: ``subject`` (the email's subject line),
``text`` (the email's plain text), ``html`` (its HTML part, escaped as HTML), ``sms``
(a text message) and ``digest`` (its lines in the day's digest). The library's own
folder (``[notices] templates``) is read over the shipped one
(``kiosk/central/notices/templates``): a file there replaces the shipped file of the
same kind and language. Each file is checked when loaded: Jinja's
syntax, every variable it names (each kind has its own, :data:`VARIABLES`) and a trial
rendering with sample facts; a mistake is reported with its file and line, and the
shipped file is used meanwhile. A language with no file of a kind falls back to English.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from jinja2 import (
    Environment,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    nodes,
)
from jinja2.meta import find_undeclared_variables

from kiosk.central.notices.preferences import KINDS, REQUESTED

SHIPPED = Path(__file__).with_name("templates")
LANGUAGES = ("en", "es", "fr")
DEFAULT_LANGUAGE = "en"
DIGEST = "digest"
BLOCKS = ("subject", "text", "html", "sms", "digest")
# What every template may name, whatever its kind.
COMMON = ("library", "first_name", "preferences_url", "renewal_url", "language")
# What each kind's facts hold (kiosk.central.notices.finding writes them).
VARIABLES: dict[str, tuple[str, ...]] = {
    "due_soon": ("due", "items"),
    "overdue": ("level", "items", "total"),
    # pickup: the name of the branch whose hold shelf it is on ("" for a hold with none;
    # absent from a notice queued before pickups, or, for hold_expiring, before its own).
    "hold_ready": ("title", "pickup_by", "pickup"),
    "hold_expiring": ("title", "pickup_by", "pickup"),
    "membership_expiring": ("expires",),
    "receipt": ("action", "items"),
    "new_arrivals": ("week", "items"),
    "registration_received": ("card",),
    "registration_approved": ("card",),
    DIGEST: ("notices",),
}
# Facts for the trial rendering at load, shaped as the real ones.
_ITEM = {"title": "A Title", "due": "2026-12-01", "fine": "1.50", "author": "An Author"}
SAMPLES: dict[str, dict[str, Any]] = {
    "due_soon": {"due": "2026-12-01", "items": [_ITEM]},
    "overdue": {"level": 1, "items": [_ITEM], "total": "1.50"},
    "hold_ready": {"title": "A Title", "pickup_by": "2026-12-01", "pickup": "Main Library"},
    "hold_expiring": {"title": "A Title", "pickup_by": "2026-12-01", "pickup": "Main Library"},
    "membership_expiring": {"expires": "2026-12-31"},
    "receipt": {"action": "checkout", "items": [_ITEM]},
    "new_arrivals": {"week": "2026-W48", "items": [_ITEM]},
    "registration_received": {"card": "T123456789"},
    "registration_approved": {"card": "21000000001234"},
    DIGEST: {
        "notices": [{"kind": "due_soon", "subject": "Due soon", "digest": "Due soon:\n- A Title"}]
    },
}
SAMPLE_COMMON = {
    "library": "The Library",
    "first_name": "Ada",
    "preferences_url": "https://library.example/my/preferences",
    "renewal_url": "https://library.example/my/renew",
}


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Composed:
    """One message in its forms: an email's subject, text and HTML, a text message, and
    its lines in a digest."""

    subject: str
    text: str
    html: str
    sms: str
    digest: str


def _day(value: str | date, language: str) -> str:
    day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return format_date(day, "long", locale=language)


@lru_cache(maxsize=8)
def _environments(currency: str) -> tuple[Environment, Environment]:
    def money(value: str | Decimal, language: str) -> str:
        amount = Decimal(str(value))
        if currency:
            return format_currency(amount, currency, locale=language)
        return format_decimal(amount, "#,##0.00", locale=language)

    made = []
    for autoescape in (False, True):
        environment = Environment(
            autoescape=autoescape,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        environment.filters["day"] = _day
        environment.filters["money"] = money
        made.append(environment)
    return made[0], made[1]


@dataclass
class Templates:
    """Every kind's template in every language, checked; ``problems`` says what was
    wrong with the library's own files (the shipped file stood in for each)."""

    site: Path | None = None
    currency: str = ""
    problems: list[TemplateProblem] = field(default_factory=list)
    _compiled: dict[tuple[str, str], tuple[Path, Template, Template]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for kind in (*KINDS, *REQUESTED, DIGEST):
            for language in LANGUAGES:
                self._load(kind, language)

    def _load(self, kind: str, language: str) -> None:
        name = f"{language}/{kind}.txt"
        candidates = [self.site / name] if self.site is not None else []
        candidates.append(SHIPPED / name)
        for path in candidates:
            if not path.is_file():
                continue
            try:
                source = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                self.problems.append(TemplateProblem(path, None, f"cannot be read: {error}"))
                continue
            found, pair = _checked(self.currency, kind, language, path, source)
            if pair is None:
                self.problems.extend(found)
                continue
            self._compiled[(kind, language)] = (path, *pair)
            return

    def _template(self, kind: str, language: str) -> tuple[Path, Template, Template]:
        found = self._compiled.get((kind, language))
        return found if found is not None else self._compiled[(kind, DEFAULT_LANGUAGE)]

    def path(self, kind: str, language: str) -> Path:
        """The file a kind's message in ``language`` is made from."""
        return self._template(kind, language)[0]

    def compose(
        self,
        kind: str,
        language: str,
        values: Mapping[str, Any],
        blocks: Iterable[str] = BLOCKS,
    ) -> Composed:
        """The message of ``kind`` in ``language`` (English when there is none): its
        ``blocks``, the others empty."""
        language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        path, plain, html = self._template(kind, language)
        return render(plain, html, path, {**values, "language": language}, blocks)


def _compiled(environment: Environment, path: Path, source: str) -> Template:
    """A template compiled with its file's name, so that an error names its line."""
    code = environment.compile(source, name=str(path), filename=str(path))
    return environment.template_class.from_code(
        environment, code, environment.make_globals(None), None
    )


def render(
    plain: Template,
    html: Template,
    path: Path,
    values: Mapping[str, Any],
    blocks: Iterable[str] = BLOCKS,
) -> Composed:
    """The ``blocks`` of a template (the others left empty: an email needs no text
    message, a text message no HTML)."""
    parts = dict.fromkeys(BLOCKS, "")
    context = {"plain": plain.new_context(dict(values))}
    for block in blocks:
        template = html if block == "html" else plain
        renderer = template.blocks.get(block)
        if renderer is None:
            raise TemplateError(f"{path}: has no {{% block {block} %}}")
        if block == "html":
            context.setdefault("html", html.new_context(dict(values)))
        parts[block] = "".join(renderer(context["html" if block == "html" else "plain"]))
    return Composed(
        subject=_one_line(parts["subject"]),
        text=parts["text"].strip() + "\n",
        html=parts["html"].strip(),
        sms=_one_line(parts["sms"]),
        digest=parts["digest"].strip(),
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


@lru_cache(maxsize=256)
def _checked(
    currency: str, kind: str, language: str, path: Path, source: str
) -> tuple[tuple[TemplateProblem, ...], tuple[Template, Template] | None]:
    """A template's problems and, when it has none, its two compiled forms; kept, as
    every runner and command loads the same shipped files."""
    plain, html = _environments(currency)
    try:
        tree = plain.parse(source, name=str(path), filename=str(path))
    except TemplateSyntaxError as error:
        return (TemplateProblem(path, error.lineno, f"syntax error: {error.message}"),), None
    problems = _names_and_blocks(plain, kind, path, tree)
    if problems:
        return tuple(problems), None
    pair = _compiled(plain, path, source), _compiled(html, path, source)
    try:
        render(*pair, path, {**SAMPLE_COMMON, **SAMPLES[kind], "language": language})
    except Exception as error:  # any error a template can raise, told with its line
        problem = TemplateProblem(path, _line_of(error, path), f"cannot be rendered: {error}")
        return (problem,), None
    return (), pair


def _names_and_blocks(
    plain: Environment, kind: str, path: Path, tree: nodes.Template
) -> list[TemplateProblem]:
    """A variable a template of ``kind`` may not name, a block it lacks; at its line."""
    allowed = {*COMMON, *VARIABLES[kind]}
    problems = []
    for name in sorted(find_undeclared_variables(tree) - allowed - set(plain.globals)):
        line = next((node.lineno for node in tree.find_all(nodes.Name) if node.name == name), None)
        problems.append(
            TemplateProblem(
                path,
                line,
                f"unknown variable {name!r}; a {kind} notice has: " + ", ".join(sorted(allowed)),
            )
        )
    defined = {block.name for block in tree.find_all(nodes.Block)}
    for block in BLOCKS:
        if block not in defined:
            problems.append(TemplateProblem(path, None, f"has no {{% block {block} %}}"))
    return problems


def _line_of(error: BaseException, path: Path) -> int | None:
    """The template line a rendering error came from (Jinja puts it in the traceback)."""
    line = None
    trace = error.__traceback__
    while trace is not None:
        template = trace.tb_frame.f_globals.get("__jinja_template__")
        if template is not None and trace.tb_frame.f_code.co_filename == str(path):
            line = template.get_corresponding_lineno(trace.tb_lineno)
        trace = trace.tb_next
    return line
