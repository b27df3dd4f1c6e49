"""Reading ``kiosk.toml``: the shipped defaults, the site's file over them, every mistake.

The site's file replaces the defaults key by key (an array, such as the scanners, is
replaced whole). Every value is then checked; each mistake is reported with the file
and line it came from, its key and, for a misspelt key or value, what was probably
meant. Mistakes in parts the kiosk can lend without become ``faults``; any other
mistake raises :class:`ConfigError` listing them all.

The tables config reads itself are in :data:`OWN_TABLES`; every other table of
:data:`TABLES` is read by one of the sections the caller hands in (see the package's
docstring).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from kiosk.common import layered
from kiosk.common.layered import ConfigProblem, LayeredReader, Layers, named_file
from kiosk.common.secrets import KIOSK_TOKEN, Secret
from kiosk.common.settings import (
    Section,
    as_flag,
    as_positive_int,
    as_positive_seconds,
    as_text,
    read_section,
    shown,
)
from kiosk.common.suggest import did_you_mean
from kiosk.config.model import (
    LANGUAGES,
    LOG_LEVELS,
    MODES,
    THEMES,
    ConfigError,
    DisplaySection,
    KioskConfig,
    KioskSection,
    Language,
    LibrarySection,
    LogLevel,
    Mode,
    OfflineSection,
    PatronsSection,
    ServerSection,
    SessionSection,
    StaffSection,
    Theme,
)

Sections = Sequence[Section[Any]]

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")


def _screen_width(value: object) -> float | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return float(value) if value == 0 or 40 <= value <= 2000 else None


SITE_FILE = Path("/etc/kiosk/kiosk.toml")
CONFIG_ENV = "KIOSK_CONFIG"

# kiosk.toml's tables, in the order of the shipped defaults.
TABLES = (
    "kiosk",
    "library",
    "server",
    "patrons",
    "session",
    "offline",
    "display",
    "bins",
    "printer",
    "staff",
    "scanners",
    "barcodes",
)
# The tables read here; the others by the sections handed to load_config.
OWN_TABLES = ("kiosk", "library", "server", "patrons", "session", "offline", "display", "staff")
# Parts the kiosk lends without: a mistake there is a fault shown in staff mode.
OPTIONAL_PARTS = frozenset({"server", "printer", "scanners", "staff"})
OPTIONAL_KEYS = frozenset({"library.logo"})
SECRET_KEYS = frozenset({"staff.pin_verifier"})


def site_file(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The site's file: ``path`` if given, else $KIOSK_CONFIG, else /etc/kiosk/kiosk.toml."""
    return named_file(path, environ, CONFIG_ENV) or SITE_FILE


def load_config(
    path: Path | None = None,
    *,
    sections: Sections,
    environ: Mapping[str, str] | None = None,
) -> KioskConfig:
    """The kiosk's settings: defaults, with the site's file (see :func:`site_file`) over them.

    ``sections`` read the tables config does not own (all of :data:`TABLES` but
    :data:`OWN_TABLES`); what each read is ``config[section]``. Raises
    :class:`ConfigError` with every mistake when one of them is vital; mistakes in
    optional parts are returned in ``faults``.
    """
    config, problems = read_config(site_file(path, environ), sections)
    if config is None or any(problem.vital for problem in problems):
        raise ConfigError(problems)
    return config


def check_config(
    path: Path | None = None,
    *,
    sections: Sections,
    environ: Mapping[str, str] | None = None,
) -> list[ConfigProblem]:
    """Every mistake in the site's file, vital or not (``kiosk check-config``)."""
    return read_config(site_file(path, environ), sections)[1]


def read_layers(site: Path | None) -> Layers | ConfigProblem:
    """The defaults with the site's file over them, or why a file cannot be read."""
    return layered.read_layers(DEFAULTS_FILE, site)


def read_config(
    site: Path | None, sections: Sections
) -> tuple[KioskConfig | None, list[ConfigProblem]]:
    """The config (None when a file cannot be read at all) and every problem found."""
    _check_sections(sections)
    layers = read_layers(site)
    if isinstance(layers, ConfigProblem):
        return None, [layers]
    checker = _Checker(layers, sections)
    config = checker.config()
    problems = checker.vital_located()
    return replace(config, faults=tuple(p for p in problems if not p.vital)), problems


def _check_sections(sections: Sections) -> None:
    """Every table is read once: by config, or by one of ``sections``."""
    read = list(OWN_TABLES) + [table for section in sections for table in section.tables]
    if sorted(read) != sorted(TABLES):
        unread = [table for table in TABLES if table not in read]
        twice = sorted({table for table in read if read.count(table) > 1})
        unknown = [table for table in read if table not in TABLES]
        raise ValueError(
            "load_config needs one section for each table config does not read itself; "
            f"unread: {unread}, read twice: {twice}, not in kiosk.toml: {unknown}"
        )


# --- checking -----------------------------------------------------------------------------


class _Checker(LayeredReader):
    """Reads every table of the merged config; problems are kept, never raised."""

    def __init__(self, layers: Layers, sections: Sections) -> None:
        super().__init__(layers, TABLES)
        self.sections = sections

    def vital_located(self) -> list[ConfigProblem]:
        """Every problem at its file and line; vital unless in a part the kiosk lends
        without (for an unknown table, the part it was probably meant for)."""
        return self.located(lambda key: self.part(key) in OPTIONAL_PARTS or key in OPTIONAL_KEYS)

    def config(self) -> KioskConfig:
        self.unknown_tables()
        return KioskConfig(
            kiosk=self.kiosk(),
            library=self.library(),
            server=self.server(),
            patrons=PatronsSection(
                pin_required=self.get(
                    self.section("patrons", ("pin_required",)),
                    "patrons",
                    "pin_required",
                    True,
                    as_flag,
                    "true or false",
                )
            ),
            session=self.session(),
            offline=self.offline(),
            display=self.display(),
            staff=self.staff(),
            sections={section: self.read(section) for section in self.sections},
            files=tuple(
                source.path for source in (self.layers.defaults, self.layers.site) if source
            ),
        )

    def kiosk(self) -> KioskSection:
        table = self.section("kiosk", ("name", "mode", "data_dir", "log_level"))
        name = self.get(table, "kiosk", "name", "", as_text, "text").strip()
        if not name:
            self.problem(
                "kiosk.name",
                "missing: set it to this kiosk's name in kiosk-central "
                '(kiosk-central kiosk add NAME), e.g. name = "branch-1"',
            )
        data_dir = self.path(table, "kiosk", "data_dir")
        if data_dir is None:
            self.problem(
                "kiosk.data_dir",
                'missing: the folder for mirror.db and journal.db, e.g. "/var/lib/kiosk"',
            )
        self.existing(data_dir, "kiosk.data_dir", folder=True)
        return KioskSection(
            name=name,
            mode=cast(Mode, self.choice(table, "kiosk", "mode", "both", MODES)),
            data_dir=data_dir or KioskSection(name="").data_dir,
            log_level=cast(LogLevel, self.choice(table, "kiosk", "log_level", "info", LOG_LEVELS)),
        )

    def library(self) -> LibrarySection:
        table = self.section("library", ("name", "logo", "currency", "message"))
        logo = self.path(table, "library", "logo")
        self.existing(logo, "library.logo")
        messages = self.table(table.get("message", {}), "library.message", LANGUAGES)
        return LibrarySection(
            name=self.get(table, "library", "name", LibrarySection().name, as_text, "text"),
            logo=logo,
            currency=self.currency(table, "library", "currency"),
            message={
                code: text
                for code in LANGUAGES
                if (
                    text := self.get(messages, "library.message", code, "", as_text, "text")
                ).strip()
            },
        )

    def server(self) -> ServerSection:
        known = (
            "url",
            "token_file",
            "ca_file",
            "connect_timeout",
            "read_timeout",
            "sync_interval",
            "backup_wait_days",
        )
        table = self.section("server", known)
        defaults = ServerSection()
        url = self.get(table, "server", "url", "", as_text, "text").strip()
        if not url:
            self.problem(
                "server.url", 'missing: kiosk-central\'s address, e.g. "https://central:8443"'
            )
        elif not re.match(r"https?://[^/\s]+", url):
            self.problem("server.url", f"must start with https:// or http://, not {url!r}")
        token_file, _ = self.secret_file(table, "server", "token_file", KIOSK_TOKEN)
        if token_file is None:
            self.problem("server.token_file", "missing: the file holding this kiosk's token")
        ca_file = self.path(table, "server", "ca_file")
        self.existing(ca_file, "server.ca_file")

        def seconds(key: str, default: float) -> float:
            return self.get(
                table, "server", key, default, as_positive_seconds, "a number of seconds above 0"
            )

        return ServerSection(
            url=url,
            token_file=token_file or defaults.token_file,
            ca_file=ca_file,
            connect_timeout=seconds("connect_timeout", defaults.connect_timeout),
            read_timeout=seconds("read_timeout", defaults.read_timeout),
            sync_interval=seconds("sync_interval", defaults.sync_interval),
            backup_wait_days=self.get(
                table,
                "server",
                "backup_wait_days",
                defaults.backup_wait_days,
                as_positive_int,
                "a whole number of days above 0",
            ),
        )

    def session(self) -> SessionSection:
        table = self.section("session", ("inactivity_seconds", "warning_seconds"))
        defaults = SessionSection()
        wanted = "a number of seconds above 0"
        inactivity = self.get(
            table,
            "session",
            "inactivity_seconds",
            defaults.inactivity_seconds,
            as_positive_seconds,
            wanted,
        )
        warning = self.get(
            table,
            "session",
            "warning_seconds",
            defaults.warning_seconds,
            as_positive_seconds,
            wanted,
        )
        if warning >= inactivity:
            self.problem(
                "session.warning_seconds",
                f"must be less than inactivity_seconds ({inactivity:g}), not {warning:g}",
            )
        return SessionSection(inactivity_seconds=inactivity, warning_seconds=warning)

    def offline(self) -> OfflineSection:
        table = self.section("offline", ("max_mirror_age_hours", "items_per_session"))
        defaults = OfflineSection()
        return OfflineSection(
            max_mirror_age_hours=self.get(
                table,
                "offline",
                "max_mirror_age_hours",
                defaults.max_mirror_age_hours,
                as_positive_seconds,  # any number above 0, here of hours
                "a number of hours above 0",
            ),
            items_per_session=self.get(
                table,
                "offline",
                "items_per_session",
                defaults.items_per_session,
                as_positive_int,
                "a whole number of items above 0",
            ),
        )

    def display(self) -> DisplaySection:
        known = (
            "languages",
            "default_language",
            "theme",
            "large_text",
            "fullscreen",
            "width",
            "height",
            "sounds",
            "screen_width_mm",
        )
        table = self.section("display", known)
        defaults = DisplaySection()
        languages = self.languages(table.get("languages", list(defaults.languages)))
        default_language = self.choice(
            table, "display", "default_language", defaults.default_language, LANGUAGES
        )
        if languages and default_language not in languages:
            self.problem(
                "display.default_language",
                f"{default_language!r} is not among the languages ({', '.join(languages)})",
            )

        def flag(key: str, default: bool) -> bool:
            return self.get(table, "display", key, default, as_flag, "true or false")

        def pixels(key: str, default: int) -> int:
            return self.get(
                table, "display", key, default, as_positive_int, "a whole number above 0"
            )

        return DisplaySection(
            languages=languages or defaults.languages,
            default_language=cast(Language, default_language),
            theme=cast(Theme, self.choice(table, "display", "theme", defaults.theme, THEMES)),
            large_text=flag("large_text", defaults.large_text),
            fullscreen=flag("fullscreen", defaults.fullscreen),
            width=pixels("width", defaults.width),
            height=pixels("height", defaults.height),
            sounds=flag("sounds", defaults.sounds),
            screen_width_mm=self.get(
                table,
                "display",
                "screen_width_mm",
                defaults.screen_width_mm,
                _screen_width,
                "a width in millimetres from 40 to 2000, or 0 to trust the display",
            ),
        )

    def languages(self, value: object) -> tuple[Language, ...]:
        key = "display.languages"
        if not isinstance(value, list) or not value:
            self.problem(
                key, f"must be a list of languages from {', '.join(LANGUAGES)}, not {shown(value)}"
            )
            return ()
        chosen: list[Language] = []
        for index, item in enumerate(value):
            if isinstance(item, str) and item.lower() in LANGUAGES:
                if item.lower() not in chosen:
                    chosen.append(cast(Language, item.lower()))
                continue
            hint = (
                did_you_mean(item.lower(), LANGUAGES, bracketed=True)
                if isinstance(item, str)
                else ""
            )
            self.problem(
                f"{key}[{index}]",
                f"must be one of {', '.join(LANGUAGES)}, not {shown(item)}{hint}",
            )
        return tuple(chosen)

    def read(self, section: Section[Any]) -> Any:
        """What ``section`` makes of its tables; its mistakes join the others."""
        value, problems = read_section(section, self.layers.merged)
        self.problems.extend(problems)
        return value

    def staff(self) -> StaffSection:
        table = self.section("staff", ("cards", "pin_verifier"))
        cards = table.get("cards", [])
        if not isinstance(cards, list) or not all(isinstance(c, str) and c.strip() for c in cards):
            self.problem(
                "staff.cards", f"must be a list of card barcodes in quotes, not {shown(cards)}"
            )
            cards = []
        verifier = self.get(table, "staff", "pin_verifier", "", as_text, "text")
        if verifier and not verifier.startswith("$argon2id$"):
            self.problem(
                "staff.pin_verifier",
                "is not a PIN verifier: run `kiosk staff-pin` and paste the line it prints",
            )
            verifier = ""
        elif cards and not verifier:
            self.problem(
                "staff.pin_verifier",
                "missing: staff cards open staff mode only with the staff PIN; "
                "make its verifier with `kiosk staff-pin`",
            )
        return StaffSection(cards=tuple(c.strip() for c in cards), pin_verifier=Secret(verifier))
