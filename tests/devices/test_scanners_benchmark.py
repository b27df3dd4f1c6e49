"""The scanner benchmark keeps running and reports each figure with its floor."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent


def test_scanner_benchmark_reports_decoder_speed_and_serial_latency() -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "scanners.py"),
            "--json",
            "--codes",
            "50",
            "--scans",
            "20",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    figures = json.loads(run.stdout)
    assert set(figures) == {"hid_decoder", "serial_latency", "serial_floor_raw_read"}
    assert figures["hid_decoder"]["chars_per_second"] > 0
    assert figures["hid_decoder"]["floor_chars_per_second"] > 0
    assert figures["serial_latency"]["scans"] == 20
    assert 0 < figures["serial_latency"]["p50_ms"] <= figures["serial_latency"]["p99_ms"]
