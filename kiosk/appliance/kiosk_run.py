"""The composition root of ``kiosk run``: builds the whole object graph explicitly.

Nothing in the package creates a store, a scanner or a window at import time; this
module makes each one, hands each its collaborators, and starts them in order. Kivy is
imported only in :func:`run_app`, after its environment is set.
"""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from kiosk import __version__
from kiosk.appliance.notify import SystemdNotifier
from kiosk.appliance.sections import BINS_SECTION, PRINTER_SECTION, SCANNERS_SECTION
from kiosk.appliance.status import DISK_FULL_MB, gather, rows
from kiosk.circulation.service import Circulation, OfflineGuard
from kiosk.circulation.views import SortingBins
from kiosk.common.clock import Clock, SystemClock
from kiosk.common.pins import return_hash_memory_after_each_pin
from kiosk.config import KioskConfig
from kiosk.devices import ScanBus, Scanners, ScannerSettings
from kiosk.devices.printer import PrinterSettings, PrintOutcome, Receipt, ReceiptPrinter
from kiosk.session.flow import KioskFlow
from kiosk.session.i18n import load_translators
from kiosk.session.ports import FlowSettings, Health, Mode, Ports, StaffStatus
from kiosk.session.viewdata import Look
from kiosk.store.errors import StoreError
from kiosk.store.migrate_apart import upgrade_apart
from kiosk.store.store import Store
from kiosk.sync import last_sync

if TYPE_CHECKING:
    from kiosk.sync.agent import SyncAgent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KioskOptions:
    """What ``kiosk run`` needs, whether it comes from kiosk.toml or from --demo."""

    data_dir: Path
    name: str = "kiosk"
    library_name: str = "Library"
    logo: str = ""
    mode: Mode = "both"
    languages: tuple[str, ...] = ("en", "es", "fr")
    default_language: str = "en"
    currency: str = ""
    theme: str = "standard"
    large_text: bool = False
    pin_required: bool = True
    inactivity_seconds: float = 60.0
    warning_seconds: float = 15.0
    offline: OfflineGuard = field(default_factory=OfflineGuard)
    bins: SortingBins = field(default_factory=SortingBins)
    staff_cards: frozenset[str] = frozenset()
    staff_pin_verifier: str | None = None
    server_url: str = ""
    token: str = ""
    ca_file: Path | None = None
    sync_interval: float = 30.0
    scanners: ScannerSettings = field(default_factory=lambda: ScannerSettings(keyboard=True))
    printer: PrinterSettings = field(default_factory=PrinterSettings)
    fullscreen: bool = True
    size: tuple[int, int] = (800, 480)
    sounds: bool = True
    screen_width_mm: float = 0.0  # 0: the display's own report of its size
    faults: tuple[str, ...] = ()  # mistakes in optional parts of kiosk.toml
    demo: tuple[str, ...] = ()
    welcome_message: Mapping[str, str] = field(default_factory=dict)


class BackgroundPrinter:
    """Prints off the UI thread: a jammed printer must not freeze the screen for its
    write timeout. An absent printer is known at once (``available``); a receipt that
    fails later is logged and shown to staff, the patron having gone."""

    def __init__(self, printer: ReceiptPrinter) -> None:
        self.printer = printer
        self.last_failure: str | None = None

    @property
    def available(self) -> bool:
        return self.printer.available

    def print_receipt(self, heading: str, lines: tuple[str, ...], footer: str) -> bool:
        """The session's receipt port: True at once, the printing going on behind."""
        receipt = Receipt(heading, lines, footer)

        def work() -> None:
            outcome = self.printer.print_receipt(receipt)
            if outcome is not PrintOutcome.PRINTED:
                self.last_failure = f"a receipt was not printed ({outcome.value})"
                log.warning(self.last_failure)

        threading.Thread(target=work, name="receipt", daemon=True).start()
        return True


class SyncThread:
    """The demo's sync agent, on a thread of the app (an installed kiosk runs it as its
    own service, kiosk-sync). Staff's "Sync now" reaches either the same way."""

    def __init__(self, agent: SyncAgent, interval: float) -> None:
        self.agent = agent
        self.interval = interval
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sync-agent", daemon=True)

    def start(self) -> SyncThread:
        self.thread.start()
        return self

    def _run(self) -> None:
        self.agent.run(self.stop_event, self.interval)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)


class Kiosk:
    """Every long-lived part of a running kiosk, built and wired in one place."""

    def __init__(
        self,
        options: KioskOptions,
        *,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        self.clock = clock or SystemClock()
        self.store_problem: str | None = None
        # A migration (new kiosk, new version) in a child process: Alembic's 10 MB would
        # otherwise stay in the screens' process for as long as it runs.
        upgrade_apart(options.data_dir)
        self.store = self._open_store()
        self.circulation = self._circulation(self.store)
        self.bus = ScanBus()
        self.scanners = Scanners(options.scanners, self.bus, self.clock.now)
        self.sync: SyncThread | None = None
        if options.server_url and self.store is not None:
            # Only the demo syncs in this process; requests and pydantic stay out of an
            # installed kiosk's screens (kiosk-sync is another service).
            from kiosk.sync.agent import SyncAgent  # noqa: PLC0415

            agent = SyncAgent(
                self.store, options.server_url, options.token, self.clock, ca_file=options.ca_file
            )
            self.sync = SyncThread(agent, options.sync_interval)
        if self.sync is not None:
            first_sync(self)  # before the flow looks at the mirror, which may be empty
        self.translators = load_translators(options.languages, options.currency)
        self.settings = FlowSettings(
            library_name=options.library_name,
            logo=options.logo,
            mode=options.mode,
            languages=options.languages,
            default_language=options.default_language,
            inactivity_seconds=options.inactivity_seconds,
            warning_seconds=options.warning_seconds,
            staff_cards=options.staff_cards,
            staff_pin_verifier=options.staff_pin_verifier,
            look=Look(options.theme, options.large_text),
            demo=options.demo,
            welcome_message=options.welcome_message,
        )
        self.ports = Ports(
            circulation=self.circulation,
            translators=self.translators,
            monotonic=monotonic,
            health=self.health,
            staff_status=self.staff_status,
            sync_now=lambda: last_sync.request_sync(options.data_dir),
        )
        self.printer = BackgroundPrinter(ReceiptPrinter(options.printer))
        self.ports.printer = self.printer
        self.flow = KioskFlow(self.settings, self.ports)

    def _open_store(self) -> Store | None:
        """The data directory, or None with the reason kept: a damaged journal holds
        transactions nobody else has, so the kiosk says it is out of service (and staff
        mode says why) until staff have saved it; it is tried again at every health check."""
        try:
            store = Store.open(self.options.data_dir)
        except (StoreError, OSError) as error:
            if self.store_problem != str(error):
                log.error("the kiosk cannot use its data directory: %s", error)
            self.store_problem = str(error)
            return None
        self.store_problem = None
        return store

    def _circulation(self, store: Store | None) -> Circulation:
        if store is None:
            # Never called: the flow starts out of service and stays there until a store
            # opens (see health), and out of service it sends nothing to circulation.
            return cast(Circulation, None)
        return Circulation(
            store,
            self.clock,
            bins=self.options.bins,
            pin_required=self.options.pin_required,
            offline=self.options.offline,
        )

    def start(self) -> None:
        self.scanners.start()
        if self.sync is not None:
            self.sync.start()

    def stop(self) -> None:
        if self.sync is not None:
            self.sync.stop()
        self.scanners.stop()
        if self.store is not None:
            self.store.close()

    # --- what staff and the out-of-service screen need to know --------------------------

    def health(self) -> Health:
        if self.store is None:
            self.store = self._open_store()
            if self.store is None:
                # SQLite cannot even open its files on a full disk: say so, not "records".
                return Health("disk_full" if self._disk_full() else "store_unusable")
            self.circulation = self.ports.circulation = self._circulation(self.store)
        progress = (
            self.sync.agent.status.snapshot_percent
            if self.sync
            else last_sync.load_progress(self.options.data_dir, self.clock.now())
        )
        cause = self.circulation.readiness()
        if cause is not None:
            return Health(cause.value, progress)
        if self._disk_full():
            return Health("disk_full")
        states = [status.state for status in self.scanners.statuses()]
        if states and "connected" not in states:
            return Health("no_scanner")
        return Health()

    def _disk_full(self) -> bool:
        """Below the mark at which ``kiosk status`` also calls the disk full."""
        return shutil.disk_usage(self.options.data_dir).free < DISK_FULL_MB * 2**20

    def staff_status(self) -> StaffStatus:
        """What ``kiosk status`` says, with the scanners as this process sees them."""
        status = gather(self.options.data_dir, self.clock, offline=self.options.offline)
        found = [
            ("kiosk", f"{self.options.name} ({self.options.mode}), version {__version__}"),
            ("server", self.options.server_url or "kiosk-sync's, see kiosk.toml"),
            *rows(status),
        ]
        found += [(f"scanner {s.source}", s.state) for s in self.scanners.statuses()]
        faults = [*self.options.faults, *status.problems, *status.warnings]
        if self.store_problem:
            faults.insert(0, f"The data directory cannot be used: {self.store_problem}")
        if self.options.printer.enabled and not self.printer.available:
            faults.append(f"The receipt printer is not at {self.options.printer.device}")
        if self.printer.last_failure:
            faults.append(f"Printer: {self.printer.last_failure}")
        return StaffStatus(tuple(found), tuple(faults))


def options_from_config(config: KioskConfig, **overrides: Any) -> KioskOptions:
    """What ``kiosk run`` takes from kiosk.toml. The sync agent is the kiosk-sync
    service's, so the server's settings are not the screens' business."""
    values: dict[str, Any] = {
        "data_dir": config.kiosk.data_dir,
        "name": config.kiosk.name,
        "library_name": config.library.name,
        "logo": str(config.library.logo or ""),
        "currency": config.library.currency,
        "welcome_message": dict(config.library.message),
        "mode": config.kiosk.mode,
        "languages": tuple(config.display.languages),
        "default_language": config.display.default_language,
        "theme": config.display.theme,
        "large_text": config.display.large_text,
        "fullscreen": config.display.fullscreen,
        "size": (config.display.width, config.display.height),
        "sounds": config.display.sounds,
        "screen_width_mm": config.display.screen_width_mm,
        "pin_required": config.patrons.pin_required,
        "inactivity_seconds": config.session.inactivity_seconds,
        "warning_seconds": config.session.warning_seconds,
        "offline": OfflineGuard(
            timedelta(hours=config.offline.max_mirror_age_hours),
            config.offline.items_per_session,
        ),
        "bins": config[BINS_SECTION],
        "staff_cards": frozenset(config.staff.cards),
        "staff_pin_verifier": config.staff.pin_verifier.value or None,
        "scanners": config[SCANNERS_SECTION],
        "printer": config[PRINTER_SECTION],
        "faults": tuple(str(fault) for fault in config.faults),
    }
    values.update(overrides)
    return KioskOptions(**values)


def first_sync(kiosk: Kiosk) -> None:
    """Fill an empty mirror before the window opens, with a progress bar on the terminal."""
    if kiosk.sync is None or kiosk.store is None or kiosk.store.refresh_health().value == "ready":
        return
    from kiosk.sync.agent import SyncError  # noqa: PLC0415

    agent = kiosk.sync.agent

    def progress(done: int, total: int) -> None:
        bar = "#" * (30 * done // max(total, 1))
        percent = 100 * done // max(total, 1)
        print(
            f"\rdemo: first snapshot [{bar:<30}] {percent:3d}%", end="\n" if done >= total else ""
        )

    agent.on_progress = progress
    try:
        agent.sync_once()
    except SyncError as error:
        print(f"\ndemo: the first sync failed ({error}); the kiosk will retry by itself")
    finally:
        agent.on_progress = None


# --- the window ---------------------------------------------------------------------------


@dataclass
class RunRequest:
    script: Path | None = None
    trace: Path | None = None
    screenshots: Path | None = None


class Watchdog:
    """Fed from the UI's own clock: a frozen screen stops feeding it and systemd
    restarts the kiosk (systemd/kiosk.service, WatchdogSec)."""

    def __init__(self, notifier: SystemdNotifier) -> None:
        self.notifier = notifier
        interval = notifier.watchdog_interval()
        self.every = interval if interval is not None else None
        self.next = 0.0

    def feed(self) -> None:
        if self.every is None:
            return
        now = time.monotonic()
        if now >= self.next:
            self.notifier.watchdog()
            self.next = now + self.every


class ShiftedClock:
    """Monotonic time that a script's ``idle`` can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def run_app(
    options: KioskOptions,
    request: RunRequest,
    *,
    on_ready: Any = None,
    clock: Clock | None = None,
) -> int:
    from kiosk.session.scripting import ScriptError, read_script  # noqa: PLC0415

    steps = None
    if request.script is not None:
        try:
            steps = read_script(request.script)
        except ScriptError as error:
            print(f"kiosk run: {error}", file=sys.stderr)
            return 2
    from kiosk.screens.window import prepare_kivy  # noqa: PLC0415 - before Kivy loads

    prepare_kivy(options.size, fullscreen=options.fullscreen, home=options.data_dir / "kivy")
    return_hash_memory_after_each_pin()
    # systemd stops the kiosk with SIGTERM, a terminal with SIGINT. Handlers set before
    # the window exists are kept by SDL (which would otherwise turn both into a window
    # close, and the kiosk refuses those); the UI's clock acts on them at its next tick.
    stop_asked = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop_asked.set())
    from kiosk.screens.app import KioskApp  # noqa: PLC0415 - creates the window
    from kiosk.screens.runner import ScriptRunner  # noqa: PLC0415
    from kiosk.session.trace import Trace  # noqa: PLC0415

    monotonic = ShiftedClock()
    kiosk = Kiosk(options, clock=clock, monotonic=monotonic)
    runner: list[ScriptRunner] = []
    notifier = SystemdNotifier()
    watchdog = Watchdog(notifier)

    def started(app: KioskApp) -> None:
        notifier.ready()
        if steps is not None:
            runner.append(
                ScriptRunner(
                    app, steps, screenshots=request.screenshots, advance_idle=monotonic.advance
                )
            )
            runner[0].start()
        if on_ready is not None:
            on_ready(app)

    def tick() -> None:
        watchdog.feed()
        if stop_asked.is_set():
            log.info("stopping: asked to by a signal")
            app.quit_from_staff()

    app = KioskApp(
        kiosk.flow,
        kiosk.bus,
        keyboard=kiosk.scanners.keyboard,
        trace=Trace(request.trace),
        sounds_dir=options.data_dir / "sounds" if options.sounds else None,
        fullscreen=options.fullscreen,
        screen_width_mm=options.screen_width_mm,
        on_start=started,
        on_tick=tick,
    )

    kiosk.ports.quit = app.quit_from_staff
    kiosk.start()
    try:
        app.run()
    finally:
        notifier.stopping()
        kiosk.stop()
    if runner and runner[0].failure:
        return 1
    return 0
