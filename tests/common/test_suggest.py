""" "Did you mean": one helper for every message that names what was probably meant."""

from __future__ import annotations

from kiosk.common.suggest import closest, did_you_mean


def test_the_closest_word_whatever_its_case() -> None:
    assert closest("chekout", ["checkout", "return", "both"]) == "checkout"
    assert closest("RETRUN", ["checkout", "return", "both"]) == "return"
    assert closest("Branch", ["Branch-1", "Desk"]) == "Branch-1"
    assert closest("xyz", ["checkout", "return"]) is None


def test_after_a_semicolon_or_in_brackets() -> None:
    assert did_you_mean("printr", ["printer", "staff"]) == "; did you mean 'printer'?"
    assert did_you_mean("printr", ["printer"], bracketed=True) == " (did you mean 'printer'?)"
    assert did_you_mean("printr", ["kiosk"]) == ""
    assert did_you_mean("printr", ["kiosk"], bracketed=True) == ""


def test_a_higher_cutoff_asks_for_a_closer_word() -> None:
    assert did_you_mean("chk", ["check"]) == "; did you mean 'check'?"
    assert did_you_mean("chk", ["check"], cutoff=0.8) == ""
