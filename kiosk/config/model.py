"""The kiosk's settings as plain frozen values: what ``load_config`` returns.

The defaults written here are those of the shipped ``defaults.toml`` (a test keeps the
two the same); the loader always starts from that file. The tables whose types belong to
other parts are in ``KioskConfig.sections``, by the section that read them. A mistake is
a :class:`~kiosk.common.layered.ConfigProblem` and a secret a
:class:`~kiosk.common.secrets.Secret`, as for kiosk-central's ``central.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args

from kiosk.common import KioskError
from kiosk.common.layered import ConfigProblem
from kiosk.common.secrets import Secret
from kiosk.common.settings import Section

Mode = Literal["checkout", "return", "both"]
LogLevel = Literal["debug", "info", "warning", "error"]
Language = Literal["en", "es", "fr"]
Theme = Literal["standard", "high_contrast"]

MODES: tuple[str, ...] = get_args(Mode)
LOG_LEVELS: tuple[str, ...] = get_args(LogLevel)
LANGUAGES: tuple[str, ...] = get_args(Language)
THEMES: tuple[str, ...] = get_args(Theme)

T = TypeVar("T")


class ConfigError(KioskError):
    """The config cannot be used; ``problems`` holds every mistake found, vital or not.

    The root of ``kiosk.config``'s errors. Its message lists each mistake with its file,
    line and key, then how many stop the kiosk."""

    def __init__(self, problems: tuple[ConfigProblem, ...] | list[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        vital = sum(problem.vital for problem in self.problems)
        lines = [str(problem) for problem in self.problems]
        lines.append(
            f"{len(self.problems)} {'error' if len(self.problems) == 1 else 'errors'}"
            + (f" ({vital} vital)" if vital and vital != len(self.problems) else "")
            + "; the kiosk cannot start with this config"
        )
        super().__init__("\n".join(lines))


@dataclass(frozen=True, slots=True)
class KioskSection:
    name: str
    mode: Mode = "both"
    data_dir: Path = Path("/var/lib/kiosk")
    log_level: LogLevel = "info"

    @property
    def lends(self) -> bool:
        return self.mode in ("checkout", "both")

    @property
    def takes_returns(self) -> bool:
        return self.mode in ("return", "both")


@dataclass(frozen=True, slots=True)
class LibrarySection:
    name: str = "The Library"
    logo: Path | None = None
    currency: str = ""  # ISO 4217, e.g. "USD"; "" = amounts as bare numbers
    # The library's own message on the Welcome screen, by language code.
    message: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServerSection:
    url: str = ""
    token_file: Path = Path("/etc/kiosk/token")
    ca_file: Path | None = None  # None: the system's CAs; verification is always on
    connect_timeout: float = 3.05
    read_timeout: float = 30.0
    sync_interval: float = 15.0
    # The most days a transaction the server applied is kept here while no backup of the
    # server covers it (kiosk.sync.agent.DEFAULT_BACKUP_WAIT).
    backup_wait_days: int = 7


@dataclass(frozen=True, slots=True)
class PatronsSection:
    pin_required: bool = True


@dataclass(frozen=True, slots=True)
class SessionSection:
    inactivity_seconds: float = 60.0
    warning_seconds: float = 15.0


@dataclass(frozen=True, slots=True)
class OfflineSection:
    """The guard for a long time offline: once the mirror is older than this, a patron
    may borrow at most ``items_per_session`` items a session."""

    max_mirror_age_hours: float = 24.0
    items_per_session: int = 3


@dataclass(frozen=True, slots=True)
class DisplaySection:
    languages: tuple[Language, ...] = ("en", "es", "fr")
    default_language: Language = "en"
    theme: Theme = "standard"
    large_text: bool = False
    fullscreen: bool = True
    width: int = 800
    height: int = 480
    sounds: bool = True
    # The screen's visible width in millimetres, so that touch targets are 15 mm on the
    # glass; 0 trusts the size the display reports.
    screen_width_mm: float = 0.0


@dataclass(frozen=True, slots=True)
class StaffSection:
    cards: tuple[str, ...] = ()
    pin_verifier: Secret = field(default_factory=lambda: Secret(""))


@dataclass(frozen=True, slots=True)
class KioskConfig:
    kiosk: KioskSection
    library: LibrarySection = field(default_factory=LibrarySection)
    server: ServerSection = field(default_factory=ServerSection)
    patrons: PatronsSection = field(default_factory=PatronsSection)
    session: SessionSection = field(default_factory=SessionSection)
    offline: OfflineSection = field(default_factory=OfflineSection)
    display: DisplaySection = field(default_factory=DisplaySection)
    staff: StaffSection = field(default_factory=StaffSection)
    # The tables whose types belong to other parts ([bins], [printer], [scanners] and
    # [barcodes]), each read by the section handed to load_config: config[SECTION].
    sections: Mapping[Section[Any], Any] = field(default_factory=dict)
    # Mistakes in parts the kiosk lends without (printer, a scanner, the server, staff):
    # shown in staff mode. Vital mistakes raise ConfigError instead.
    faults: tuple[ConfigProblem, ...] = ()
    # The files read, defaults first.
    files: tuple[Path, ...] = ()

    def __getitem__(self, section: Section[T]) -> T:
        """What ``section`` read, e.g. ``config[PRINTER_SECTION]``: a ``PrinterSettings``."""
        try:
            return cast(T, self.sections[section])
        except KeyError:
            raise KeyError(f"{section!r} was not read: hand it to load_config") from None
