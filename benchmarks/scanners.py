"""Scanner benchmark: HID decoding speed, and serial scan latency through a real pty.

    python benchmarks/scanners.py [--json] [--codes N] [--scans N]

Each figure is set against a floor it names: the decoder against a bare loop over the
same events doing one dict lookup each; the serial path (pty -> pyserial -> framing ->
pipeline -> bus) against a raw ``os.read`` of the same bytes on the same kind of pty.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import sys
import tempfile
import time
import tty
from datetime import datetime
from pathlib import Path

from evdev import InputEvent

from kiosk.devices import BarcodeSettings, ScanBus, ScanPipeline, SerialScannerSettings
from kiosk.devices.hid import HidDecoder
from kiosk.devices.layouts import EV_KEY, KEY_ENTER, KEY_LEFTSHIFT, US
from kiosk.devices.reader import Delivery, StatusBoard
from kiosk.devices.serial_source import SerialSource

GOAL_P99_MS = 5.0


def key_events(codes: list[str]) -> list[InputEvent]:
    where: dict[str, tuple[int, int]] = {}
    for code, chars in US.keys.items():
        for level, char in enumerate(chars[:2]):
            where.setdefault(char, (code, level))
    events = []
    for text in codes:
        for char in text:
            code, level = where[char]
            if level:
                events.append(InputEvent(0, 0, EV_KEY, KEY_LEFTSHIFT, 1))
            events += [InputEvent(0, 0, EV_KEY, code, 1), InputEvent(0, 0, EV_KEY, code, 0)]
            if level:
                events.append(InputEvent(0, 0, EV_KEY, KEY_LEFTSHIFT, 0))
        events += [InputEvent(0, 0, EV_KEY, KEY_ENTER, 1), InputEvent(0, 0, EV_KEY, KEY_ENTER, 0)]
    return events


def bench_decoder(count: int) -> dict[str, float]:
    codes = [f"3{n:013d}" if n % 2 else f"Lib-{n:08d}/X" for n in range(count)]
    events = key_events(codes)
    chars = sum(map(len, codes))
    table = US.keys

    best_floor = best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        hits = 0
        for event in events:
            if event.type == EV_KEY and event.value == 1 and table.get(event.code) is not None:
                hits += 1
        best_floor = min(best_floor, time.perf_counter() - started)

        decoder = HidDecoder("us", max_length=64)
        started = time.perf_counter()
        lines = list(decoder.feed_all(events))
        best = min(best, time.perf_counter() - started)
        assert lines == codes
    return {
        "chars": chars,
        "chars_per_second": round(chars / best),
        "floor_chars_per_second": round(chars / best_floor),
        "times_floor": round(best / best_floor, 2),
    }


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _figures(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples, 0.50) * 1000, 3),
        "p99_ms": round(percentile(samples, 0.99) * 1000, 3),
        "mean_ms": round(statistics.fmean(samples) * 1000, 3),
    }


def bench_floor(count: int) -> dict[str, float]:
    master, slave = os.openpty()
    tty.setraw(slave)
    samples = []
    try:
        for n in range(count):
            payload = f"3{n:013d}\r".encode()
            os.write(master, payload)
            written = time.perf_counter()
            got = b""
            while not got.endswith(b"\r"):
                select.select([slave], [], [], 5)
                got += os.read(slave, 4096)
            samples.append(time.perf_counter() - written)
    finally:
        os.close(master)
        os.close(slave)
    return _figures(samples)


def bench_serial(count: int) -> dict[str, float]:
    master, slave = os.openpty()
    tty.setraw(slave)
    with tempfile.TemporaryDirectory() as folder:
        link = Path(folder) / "scanner"
        link.symlink_to(os.ttyname(slave))
        bus = ScanBus()
        status = StatusBoard()
        pipeline = ScanPipeline(BarcodeSettings(debounce_seconds=0), lambda: datetime(2025, 1, 1))
        source = SerialSource(
            SerialScannerSettings(port=str(link)), Delivery(pipeline, bus, "bench"), status
        )
        source.start()
        deadline = time.monotonic() + 10
        while (s := status.get("bench")) is None or s.state != "connected":
            if time.monotonic() > deadline:
                raise SystemExit("the serial source did not connect")
            time.sleep(0.01)
        samples = []
        try:
            for n in range(count):
                code = f"3{n:013d}"
                os.write(master, f"{code}\r".encode())
                written = time.perf_counter()
                scan = bus.get(timeout=5)
                samples.append(time.perf_counter() - written)
                assert scan is not None
                assert scan.code == code
        finally:
            source.stop()
            os.close(master)
            os.close(slave)
    return _figures(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--codes", type=int, default=20000, help="codes through the decoder")
    parser.add_argument("--scans", type=int, default=1000, help="scans through the pty")
    args = parser.parse_args(argv)

    decoder = bench_decoder(args.codes)
    serial = bench_serial(args.scans)
    floor = bench_floor(args.scans)
    figures = {
        "hid_decoder": decoder,
        "serial_latency": {
            **serial,
            "scans": args.scans,
            "goal_p99_ms": GOAL_P99_MS,
            "meets_goal": serial["p99_ms"] <= GOAL_P99_MS,
        },
        "serial_floor_raw_read": floor,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"HID decoder: {decoder['chars_per_second']:,} chars/s "
        f"(floor, one dict lookup per event: {decoder['floor_chars_per_second']:,} chars/s; "
        f"{decoder['times_floor']}x the floor's time)"
    )
    print(
        f"Serial, last byte written to Scan on the bus: p50 {serial['p50_ms']} ms, "
        f"p99 {serial['p99_ms']} ms over {args.scans} scans (goal p99 <= {GOAL_P99_MS} ms)"
    )
    print(f"Floor, raw os.read of the same pty: p50 {floor['p50_ms']} ms, p99 {floor['p99_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
