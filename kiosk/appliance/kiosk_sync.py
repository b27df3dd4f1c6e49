"""The composition root of ``kiosk sync``: the sync agent, its store, its clock and its
watchdog, built explicitly from the command line and kiosk.toml's [kiosk] and [server]."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from kiosk.sync.agent import DEFAULT_BACKUP_WAIT, DEFAULT_INTERVAL_S

DEFAULT_TIMEOUTS = (3.05, 30.0)
DEFAULT_BACKUP_WAIT_DAYS = DEFAULT_BACKUP_WAIT.days


@dataclass(frozen=True)
class SyncSettings:
    """Where and how to sync."""

    data_dir: Path
    server: str
    token_file: Path
    ca_file: Path | None = None
    interval: float = DEFAULT_INTERVAL_S
    timeouts: tuple[float, float] = DEFAULT_TIMEOUTS
    backup_wait_days: int = DEFAULT_BACKUP_WAIT_DAYS


def sync_settings(
    *,
    config_path: Path | None,
    data_dir: Path | None,
    server: str | None,
    token_file: Path | None,
    ca_file: Path | None,
    interval: float | None,
    log_level_given: bool,
) -> SyncSettings | str:
    """The options given, over ``config_path``'s [kiosk] and [server]; a message for staff
    when they do not say enough to sync."""
    from kiosk.appliance.sections import KIOSK_SECTIONS  # noqa: PLC0415
    from kiosk.config import ConfigError, load_config  # noqa: PLC0415

    configured_interval, timeouts = DEFAULT_INTERVAL_S, DEFAULT_TIMEOUTS
    backup_wait_days = DEFAULT_BACKUP_WAIT_DAYS
    if config_path is not None:
        try:
            config = load_config(config_path, sections=KIOSK_SECTIONS)
        except ConfigError as error:
            return str(error)
        server_faults = [str(f) for f in config.faults if f.key.startswith("server.")]
        if server_faults and not (server and token_file):
            return "\n".join([*server_faults, "the kiosk cannot sync until this is fixed"])
        if not log_level_given:
            from kiosk.appliance.logs import setup_logging  # noqa: PLC0415

            setup_logging(config.kiosk.log_level)
        data_dir = data_dir or config.kiosk.data_dir
        server = server or config.server.url
        token_file = token_file or config.server.token_file
        ca_file = ca_file or config.server.ca_file
        configured_interval = config.server.sync_interval
        timeouts = (config.server.connect_timeout, config.server.read_timeout)
        backup_wait_days = config.server.backup_wait_days
    missing = [
        option
        for option, value in (
            ("--data", data_dir),
            ("--server", server),
            ("--token-file", token_file),
        )
        if not value
    ]
    if missing or data_dir is None or server is None or token_file is None:
        return f"give {', '.join(missing)} or --config FILE"
    return SyncSettings(
        data_dir,
        server,
        token_file,
        ca_file,
        interval or configured_interval,
        timeouts,
        backup_wait_days,
    )


def scanner_report(config_path: Path | None) -> Callable[[], list[str]]:
    """What the heartbeat says of the scanners kiosk.toml names: each one's source,
    device and whether it is plugged in now (the screens run in another process)."""
    if config_path is None:
        return list
    from kiosk.appliance.sections import KIOSK_SECTIONS, SCANNERS_SECTION  # noqa: PLC0415
    from kiosk.config import ConfigError, load_config  # noqa: PLC0415
    from kiosk.devices.inventory import presence  # noqa: PLC0415

    try:
        settings = load_config(config_path, sections=KIOSK_SECTIONS)[SCANNERS_SECTION]
    except ConfigError:
        return list  # sync_settings has said what is wrong
    lines = ["keyboard: present"] if settings.keyboard else []

    def report() -> list[str]:
        found = [
            f"{source} {device}: {'present' if here else 'absent'}"[:100]
            for source, device, here in presence(settings)
        ]
        return (lines + found)[:20]

    return report


def _progress_printer(notifier_watchdog: Callable[[], object]) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        notifier_watchdog()  # a long first snapshot is progress, not a hang
        if not sys.stderr.isatty():  # the journal wants no progress bar
            if done >= total:
                print(f"snapshot: {total} rows", file=sys.stderr)
            return
        bar = "#" * (30 * done // total)
        print(
            f"\rsnapshot [{bar:<30}] {100 * done // total:3d}% ({done}/{total} rows)",
            end="",
            file=sys.stderr,
        )
        if done >= total:
            print(file=sys.stderr)

    return progress


def run_sync(settings: SyncSettings, *, once: bool, config_path: Path | None) -> int:
    """Build the agent and run it: one round with ``once``, else until SIGINT or SIGTERM,
    telling systemd it is ready and alive. Exit 0 done, 1 a round failed, 2 bad token."""
    from kiosk.appliance.notify import SystemdNotifier  # noqa: PLC0415
    from kiosk.common.clock import SystemClock  # noqa: PLC0415
    from kiosk.store.errors import StoreError  # noqa: PLC0415
    from kiosk.store.store import Store  # noqa: PLC0415
    from kiosk.sync.agent import SyncAgent, SyncError  # noqa: PLC0415
    from kiosk.sync.token import TokenFileError, read_token  # noqa: PLC0415

    try:
        token = read_token(settings.token_file)
    except TokenFileError as error:
        print(f"kiosk sync: {error}", file=sys.stderr)
        return 2
    notifier = SystemdNotifier()
    try:
        store = Store.open(settings.data_dir)
    except StoreError as error:  # a full disk or a damaged journal: said, not a traceback
        print(f"kiosk sync: {error}", file=sys.stderr)
        return 1
    agent = SyncAgent(
        store,
        settings.server,
        token,
        SystemClock(),
        ca_file=settings.ca_file,
        connect_timeout=settings.timeouts[0],
        read_timeout=settings.timeouts[1],
        on_progress=_progress_printer(notifier.watchdog),
        scanners=scanner_report(config_path),
        backup_wait=timedelta(days=settings.backup_wait_days),
    )
    try:
        if once:
            try:
                report = agent.sync_once()
            except SyncError as error:
                print(f"kiosk sync: {error}", file=sys.stderr)
                return 1
            print(
                f"pushed {report.pushed} ({report.duplicates} already there, "
                f"{report.exceptions} for staff), {report.changes} changes, "
                f"{report.purged} entries purged"
            )
            return 0
        stop = threading.Event()

        def stopping(*_: object) -> None:
            notifier.stopping()
            stop.set()

        def alive() -> None:
            notifier.watchdog()
            status = agent.status
            notifier.status(
                f"{status.connectivity.value}; last success "
                f"{status.last_success.isoformat() if status.last_success else 'never'}"
                + (f"; {status.last_error}" if status.last_error else "")
            )

        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, stopping)
        notifier.ready()
        agent.run(
            stop, interval=settings.interval, alive=alive, alive_every=notifier.watchdog_interval()
        )
        return 0
    finally:
        store.close()
