"""A kiosk's health at a glance, from the last heartbeat the server stored: green, amber
or red (or disabled, by staff), with the reasons in staff words. Not a lending question:
only what the kiosk said about itself, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from kiosk.central.models import Kiosk

Light = Literal["green", "amber", "red", "disabled"]
LIGHTS: tuple[Light, ...] = ("red", "amber", "green", "disabled")

HEARTBEAT_SECONDS = 15  # kiosk.toml's [server] sync_interval by default
AMBER_AFTER = timedelta(minutes=2)  # eight heartbeats missed
RED_AFTER = timedelta(minutes=15)
OLD_BACKLOG = timedelta(minutes=30)  # an entry not yet on the server for this long
LOW_DISK_MB = 200
UNKNOWN = "\N{EN DASH}"  # what the kiosk has not said yet


@dataclass(frozen=True, slots=True)
class Health:
    colour: Light
    reasons: tuple[str, ...]


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    hours = minutes // 60
    return f"{hours} h ago" if hours < 48 else f"{hours // 24} days ago"


def light(kiosk: Kiosk, now: datetime) -> Health:
    if kiosk.disabled_at is not None:
        return Health(
            "disabled", (f"disabled {kiosk.disabled_at:%Y-%m-%d %H:%M}: its token is refused",)
        )
    if kiosk.last_seen is None:
        return Health("red", ("never heard from",))
    silent = now - kiosk.last_seen
    if silent > RED_AFTER:
        return Health("red", (f"offline: last heard {_ago(silent)}",))
    reasons: list[str] = []
    if silent > AMBER_AFTER:
        reasons.append(f"no heartbeat for {_ago(silent).removesuffix(' ago')}")
    if kiosk.last_error:
        reasons.append(f"last error: {kiosk.last_error}")
    if kiosk.oldest_pending is not None and now - kiosk.oldest_pending > OLD_BACKLOG:
        reasons.append(f"backlog: oldest entry from {_ago(now - kiosk.oldest_pending)}")
    if kiosk.disk_free_mb is not None and kiosk.disk_free_mb < LOW_DISK_MB:
        reasons.append(f"disk nearly full: {kiosk.disk_free_mb} MB free")
    if kiosk.scanners is not None and not kiosk.scanners:
        reasons.append("no scanner connected")
    return Health("amber" if reasons else "green", tuple(reasons))


@dataclass(frozen=True, slots=True)
class KioskRow:
    """One line of the *Kiosks* page, as words."""

    id: int
    name: str
    light: Light
    reasons: tuple[str, ...]
    last_seen: str
    backlog: str
    version: str
    disk: str
    scanners: str
    branch: str = "none"  # the branch it stands in


def row(kiosk: Kiosk, now: datetime) -> KioskRow:
    health = light(kiosk, now)
    if kiosk.journal_depth is None:
        backlog = UNKNOWN
    elif kiosk.journal_depth == 0:
        backlog = "none"
    else:
        oldest = (
            f", oldest {_ago(now - kiosk.oldest_pending)}"
            if kiosk.oldest_pending is not None
            else ""
        )
        backlog = f"{kiosk.journal_depth} waiting{oldest}"
    if kiosk.held_for_backup:  # sent and applied, kept on the kiosk until a backup
        backlog += f"; {kiosk.held_for_backup} kept until a backup"
    return KioskRow(
        id=kiosk.id,
        name=kiosk.name,
        light=health.colour,
        reasons=health.reasons,
        last_seen="never" if kiosk.last_seen is None else _ago(now - kiosk.last_seen),
        backlog=backlog,
        version=kiosk.version or UNKNOWN,
        disk=UNKNOWN if kiosk.disk_free_mb is None else f"{kiosk.disk_free_mb:,} MB",
        scanners=UNKNOWN if kiosk.scanners is None else ", ".join(kiosk.scanners) or "none",
        branch=kiosk.branch or "none",
    )
