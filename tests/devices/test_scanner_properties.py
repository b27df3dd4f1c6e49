"""No input makes a decoder, framer or the pipeline raise or hang (hypothesis' deadline
fails any example that takes too long)."""

from __future__ import annotations

from datetime import datetime

from evdev import InputEvent
from evdev import ecodes as e
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.devices import BarcodeSettings, ScanPipeline
from kiosk.devices.hid import HidDecoder
from kiosk.devices.serial_source import LineFramer

MORNING = datetime(2025, 3, 4, 9, 30)

chunks = st.lists(st.binary(max_size=200), max_size=20)


@given(
    chunks=chunks,
    idle_after=st.lists(st.booleans(), max_size=20),
    terminator=st.sampled_from(["cr", "lf", "crlf", "none"]),
)
@settings(max_examples=200, deadline=200)
def test_no_byte_sequence_breaks_the_serial_framer(
    chunks: list[bytes], idle_after: list[bool], terminator: str
) -> None:
    lines: list[str] = []
    framer = LineFramer(lines.append, terminator=terminator, max_length=32, timeout=0.01)
    framer.connection_made(None)
    for index, chunk in enumerate(chunks):
        framer.data_received(chunk)
        if index < len(idle_after) and idle_after[index]:
            framer.idle()
    framer.connection_lost(None)
    assert framer.timeout is None  # nothing is left pending after the disconnect
    for line in lines:
        assert 0 < len(line) <= 32
        assert line.isascii()
        assert line.isprintable()


key_events = st.lists(
    st.tuples(
        st.sampled_from([e.EV_KEY, e.EV_KEY, e.EV_KEY, e.EV_SYN, e.EV_MSC]),
        st.integers(min_value=0, max_value=300),
        st.integers(min_value=0, max_value=2),
    ),
    max_size=300,
)


@given(events=key_events, layout=st.sampled_from(["us", "uk", "de", "fr"]))
@settings(max_examples=200, deadline=200)
def test_no_key_event_sequence_breaks_the_hid_decoder(
    events: list[tuple[int, int, int]], layout: str
) -> None:
    decoder = HidDecoder(layout, max_length=24)
    for kind, code, value in events:
        line = decoder.feed(InputEvent(0, 0, kind, code, value))
        if line is not None:
            assert 0 < len(line) <= 24
            assert line.isprintable()
    decoder.reset()


@given(raw=st.text(max_size=100), prefix=st.text(max_size=3), suffix=st.text(max_size=3))
@settings(max_examples=200, deadline=200)
def test_no_text_breaks_the_pipeline(raw: str, prefix: str, suffix: str) -> None:
    pipeline = ScanPipeline(BarcodeSettings(prefix=prefix, suffix=suffix), lambda: MORNING)
    scan = pipeline.process(raw, "any")
    if scan is not None:
        assert scan.code
        assert scan.kind in ("patron", "item", "unknown")
