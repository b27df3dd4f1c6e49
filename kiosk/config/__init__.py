"""The staff's config files: ``kiosk.toml`` read, layered and checked.

``load_config(path, sections=...)`` gives a :class:`KioskConfig` or raises
:class:`ConfigError` with every vital mistake; mistakes in optional parts are in
``KioskConfig.faults``.

Config owns the file: its tables, the shipped defaults, where each key stands, which
parts the kiosk lends without, and the plain sections of its own ([kiosk], [library],
[server], [patrons], [session], [display], [staff]). It imports nothing of the project
but ``common``. The tables whose types belong to other parts ([bins] to circulation's
``SortingBins``, [printer], [scanners] and [barcodes] to devices' settings) are read by
*sections* the composition roots and commands hand in, each a
:class:`kiosk.common.settings.Section`: the owning part's own reader, on the project's
one settings reader. Config runs them over the merged tables, places their mistakes at
file, line and key like its own, and keeps what each read in ``config[section]``.

Why this rather than config yielding plain values that the appliance turns into those
types: each shape and its checks stay in one place, the part that uses it (devices
reads its own settings for ``kiosk scanners`` too), and no table is described twice.
Why not import the types: config would depend on devices and circulation, and every
program reading kiosk.toml would load them. The composition is explicit instead:
``kiosk.appliance.sections.KIOSK_SECTIONS`` lists the sections, and config refuses to
load with a table nobody reads.
"""

from kiosk.common.layered import ConfigProblem, Layers, key_prefixes
from kiosk.common.secrets import MASK, Secret
from kiosk.config.loading import (
    CONFIG_ENV,
    DEFAULTS_FILE,
    OWN_TABLES,
    SECRET_KEYS,
    SITE_FILE,
    TABLES,
    Sections,
    check_config,
    load_config,
    read_config,
    read_layers,
    site_file,
)
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
    PatronsSection,
    ServerSection,
    SessionSection,
    StaffSection,
    Theme,
)

__all__ = [
    "CONFIG_ENV",
    "DEFAULTS_FILE",
    "LANGUAGES",
    "LOG_LEVELS",
    "MASK",
    "MODES",
    "OWN_TABLES",
    "SECRET_KEYS",
    "SITE_FILE",
    "TABLES",
    "THEMES",
    "ConfigError",
    "ConfigProblem",
    "DisplaySection",
    "KioskConfig",
    "KioskSection",
    "Language",
    "Layers",
    "LibrarySection",
    "LogLevel",
    "Mode",
    "PatronsSection",
    "Secret",
    "Sections",
    "ServerSection",
    "SessionSection",
    "StaffSection",
    "Theme",
    "check_config",
    "key_prefixes",
    "load_config",
    "read_config",
    "read_layers",
    "site_file",
]
