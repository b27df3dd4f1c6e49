"""The translators' tool: ``python -m kiosk.session.catalog update|check``.

``update`` collects every patron-facing message (``tr(...)``, ``tr.plural(...)``,
``N_(...)`` in kiosk/session and kiosk/screens, the refusal templates of
kiosk/rules/reasons.py, and the patron portal's: ``N_(...)`` in its routes, ``_(...)``
and ``said.plural(...)`` in its templates) into ``kiosk/locale/kiosk.pot`` and merges it
into each language's ``.po`` file, keeping what is already translated. ``check`` fails, naming
each message, when a language lacks one.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import write_po

from kiosk.session.i18n import DOMAIN, LANGUAGE_NAMES, LOCALE_DIR, po_path, read_translations

PACKAGE = Path(__file__).resolve().parent.parent
PORTAL = PACKAGE / "central" / "web"
# (a folder or a file, its files' pattern, the extractor, the keywords)
SOURCES = (
    (PACKAGE / "session", "*.py", "python", {"tr": None, "N_": None, "plural": (1, 2)}),
    (PACKAGE / "screens", "*.py", "python", {"tr": None, "N_": None, "plural": (1, 2)}),
    (PACKAGE / "rules" / "reasons.py", "", "python", {"Refusal": (2,)}),
    (PORTAL / "routes" / "my", "*.py", "python", {"N_": None}),
    (
        PORTAL / "templates" / "my",
        "*.html",
        "jinja2.ext:babel_extract",
        {"_": None, "plural": (1, 2)},
    ),
)
TRANSLATED = tuple(code for code in LANGUAGE_NAMES if code != "en")


def extract() -> Catalog:
    catalog = Catalog(project="library-kiosk", domain=DOMAIN)
    for source, pattern, method, keywords in SOURCES:
        files = sorted(source.glob(pattern)) if source.is_dir() else [source]
        for path in files:
            for line, message, comments, context in extract_from_file(
                method, str(path), keywords=keywords
            ):
                catalog.add(
                    message,
                    locations=[(str(path.relative_to(PACKAGE.parent)), line)],
                    auto_comments=comments,
                    context=context,
                )
    return catalog


def update() -> None:
    template = extract()
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as out:
        write_po(out, template, omit_header=True, sort_output=True, include_lineno=False)
    for code in TRANSLATED:
        path = po_path(code)
        if path.exists():
            catalog = read_translations(code)
            catalog.update(template, no_fuzzy_matching=True)
        else:
            catalog = Catalog(locale=code, domain=DOMAIN)
            catalog.update(template)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            write_po(
                out,
                catalog,
                omit_header=True,
                sort_output=True,
                ignore_obsolete=True,
                include_lineno=False,
            )


def missing() -> dict[str, list[str]]:
    """The message ids each language has no (or only a fuzzy) translation for."""
    template = extract()
    gaps: dict[str, list[str]] = {}
    for code in TRANSLATED:
        path = po_path(code)
        translated: dict[object, object] = {}
        if path.exists():
            catalog = read_translations(code)
            translated = {
                message.id: message.string
                for message in catalog
                if message.id and not message.fuzzy
            }
        for message in template:
            if not message.id:
                continue
            string = translated.get(message.id)
            done = all(string) if isinstance(string, tuple | list) else bool(string)
            if not done:
                gaps.setdefault(code, []).append(str(message.id))
    return gaps


def main(argv: Sequence[str] | None = None) -> int:
    command = (list(argv) if argv is not None else sys.argv[1:]) or ["check"]
    if command[0] == "update":
        update()
        return 0
    gaps = missing()
    for code, ids in gaps.items():
        for message in ids:
            print(f"{po_path(code)}: not translated: {message}")
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
