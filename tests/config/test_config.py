"""kiosk.toml: defaults under the site's file, every mistake with its file, line and key."""

from __future__ import annotations

import io
import os
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.appliance import kiosk_run
from kiosk.appliance.sections import (
    BINS_SECTION,
    KIOSK_SECTIONS,
    PRINTER_SECTION,
    SCANNERS_SECTION,
)
from kiosk.circulation.views import SortingBin, SortingBins
from kiosk.commands import main
from kiosk.commands.check_config import check_config_command
from kiosk.commands.staff_pin import staff_pin_command
from kiosk.common import KioskError
from kiosk.common.layered import key_lines
from kiosk.common.pins import pin_matches
from kiosk.config import (
    DEFAULTS_FILE,
    MASK,
    ConfigError,
    ConfigProblem,
    DisplaySection,
    KioskConfig,
    KioskSection,
    Secret,
    Sections,
    ServerSection,
    StaffSection,
    check_config,
    load_config,
)
from kiosk.devices.printer import PrinterSettings
from kiosk.devices.settings import HidScannerSettings, ScannerSettings, SerialScannerSettings

ROOT = Path(__file__).parents[2]
VERIFIER = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


def site(tmp_path: Path, text: str) -> Path:
    """A site's kiosk.toml beside a data folder and a private token file."""
    (tmp_path / "data").mkdir(exist_ok=True)
    token = tmp_path / "token"
    token.write_text("secret-token\n")
    token.chmod(0o600)
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    return path


GOOD = """\
[kiosk]
name = "branch-1"
data_dir = "data"

[server]
url = "https://central.example:8443"
token_file = "token"
"""


def messages(problems: list[ConfigProblem] | tuple[ConfigProblem, ...]) -> list[str]:
    return [str(problem) for problem in problems]


def test_the_repository_copy_is_the_shipped_defaults() -> None:
    assert (ROOT / "config" / "kiosk.toml").read_text() == DEFAULTS_FILE.read_text()


def test_a_minimal_site_file_gives_the_documented_defaults(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD)
    config = load_config(path, sections=KIOSK_SECTIONS)
    expected = KioskConfig(
        kiosk=KioskSection(name="branch-1", data_dir=tmp_path / "data"),
        server=ServerSection(url="https://central.example:8443", token_file=tmp_path / "token"),
        sections={
            BINS_SECTION: SortingBins(),
            PRINTER_SECTION: PrinterSettings(),
            SCANNERS_SECTION: ScannerSettings(),
        },
        files=(DEFAULTS_FILE, path),
    )
    assert config == expected
    assert config.faults == ()
    assert check_config(path, sections=KIOSK_SECTIONS) == []
    assert config.kiosk.lends
    assert config.kiosk.takes_returns
    assert config.session.inactivity_seconds == 60
    assert config.session.warning_seconds == 15
    assert config[BINS_SECTION] == SortingBins()
    assert config.display.fullscreen
    assert (config.display.width, config.display.height) == (800, 480)
    assert config[PRINTER_SECTION].width == 42


def test_every_setting_read_from_the_site_file(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG")
    path = site(
        tmp_path,
        GOOD
        + f"""ca_file = "token"
sync_interval = 60
[library]
name = "Springfield Public Library"
logo = "{logo}"
currency = "usd"
"""
        + """
[patrons]
pin_required = false
[session]
inactivity_seconds = 90
warning_seconds = 20.5
[display]
languages = ["fr", "en"]
default_language = "fr"
theme = "high_contrast"
large_text = true
fullscreen = false
width = 1024
height = 600
sounds = false
[bins.staff]
label = "Desk"
number = 7
colour = "#FF00aa"
[printer]
enabled = false
device = "/dev/ttyUSB1"
baud = 9600
width = 32
[staff]
cards = ["29999999999999"]
pin_verifier = "VERIFIER"
[[scanners.hid]]
device = "0c2e:0b61"
layout = "fr"
[barcodes]
prefix = "]"
""".replace("VERIFIER", VERIFIER),
    )
    config = load_config(path, sections=KIOSK_SECTIONS)
    assert config.library.name == "Springfield Public Library"
    assert config.library.logo == logo
    assert config.library.currency == "USD"
    assert config.server.ca_file == tmp_path / "token"
    assert config.server.sync_interval == 60.0
    assert not config.patrons.pin_required
    assert (config.session.inactivity_seconds, config.session.warning_seconds) == (90.0, 20.5)
    assert config.display == DisplaySection(
        languages=("fr", "en"),
        default_language="fr",
        theme="high_contrast",
        large_text=True,
        fullscreen=False,
        width=1024,
        height=600,
        sounds=False,
    )
    assert config[BINS_SECTION] == SortingBins(staff=SortingBin("Desk", 7, "#ff00aa"))
    assert config[PRINTER_SECTION] == PrinterSettings(
        enabled=False, device="/dev/ttyUSB1", baud=9600, width=32
    )
    assert config.staff == StaffSection(cards=("29999999999999",), pin_verifier=Secret(VERIFIER))
    assert config[SCANNERS_SECTION].hid == (HidScannerSettings(device="0c2e:0b61", layout="fr"),)
    assert config[SCANNERS_SECTION].barcodes.prefix == "]"
    assert config.faults == ()


def test_a_syntax_error_gives_its_line_and_column(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD + "\n[display]\nlarge_text = yes please\n")
    assert messages(check_config(path, sections=KIOSK_SECTIONS)) == [
        f"{path}:10: not valid TOML: Invalid value (column 14)",
    ]
    with pytest.raises(ConfigError) as raised:
        load_config(path, sections=KIOSK_SECTIONS)
    assert str(raised.value).splitlines()[-1] == "1 error; the kiosk cannot start with this config"


def test_a_wrong_type(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD + '[session]\ninactivity_seconds = "sixty"\n')
    assert messages(check_config(path, sections=KIOSK_SECTIONS)) == [
        f"{path}:9: session.inactivity_seconds: must be a number of seconds above 0, not 'sixty'",
    ]


def test_the_offline_guard_is_read_and_checked(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD + "[offline]\nmax_mirror_age_hours = 6\nitems_per_session = 2\n")
    config = load_config(path, sections=KIOSK_SECTIONS)
    assert (config.offline.max_mirror_age_hours, config.offline.items_per_session) == (6, 2)
    path = site(tmp_path, GOOD + "[offline]\nmax_mirror_age = 6\nitems_per_session = 0\n")
    assert messages(check_config(path, sections=KIOSK_SECTIONS)) == [
        f"{path}:9: offline.max_mirror_age: unknown key (did you mean "
        "'max_mirror_age_hours'?); known keys: max_mirror_age_hours, items_per_session",
        f"{path}:10: offline.items_per_session: must be a whole number of items above 0, not 0",
    ]


def test_the_welcome_message_is_read_per_language(tmp_path: Path) -> None:
    text = '[library.message]\nen = "Closed on Monday"\nfr = "Fermé lundi"\nes = " "\n'
    path = site(tmp_path, GOOD + text)
    config = load_config(path, sections=KIOSK_SECTIONS)
    assert config.library.message == {"en": "Closed on Monday", "fr": "Fermé lundi"}
    assert kiosk_run.options_from_config(config).welcome_message == config.library.message
    path = site(tmp_path, GOOD + '[library.message]\nfre = "Fermé"\nen = 25\n')
    assert messages(check_config(path, sections=KIOSK_SECTIONS)) == [
        f"{path}:9: library.message.fre: unknown key (did you mean 'fr'?); known keys: en, es, fr",
        f"{path}:10: library.message.en: must be text, not 25",
    ]


def test_an_unknown_key_says_what_was_meant(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD.replace('name = "branch-1"', 'name = "branch-1"\nmdoe = "return"'))
    assert messages(check_config(path, sections=KIOSK_SECTIONS)) == [
        f"{path}:3: kiosk.mdoe: unknown key (did you mean 'mode'?); known keys: name, mode, "
        "data_dir, log_level",
    ]


def test_a_currency_is_a_three_letter_code(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD + '[library]\ncurrency = "$"\n')
    assert messages(check_config(path, sections=KIOSK_SECTIONS)) == [
        f'{path}:9: library.currency: must be a three-letter currency code such as "USD", '
        f'"EUR" or "GBP", or "" for none, not \'$\'',
    ]


def test_a_misspelt_value_says_what_was_meant(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD + '[display]\ntheme = "high-contrast"\nlanguages = ["en", "fre"]\n')
    assert messages(check_config(path, sections=KIOSK_SECTIONS)) == [
        f"{path}:9: display.theme: must be one of standard, high_contrast, not 'high-contrast' "
        "(did you mean 'high_contrast'?)",
        f"{path}:10: display.languages[1]: must be one of en, es, fr, not 'fre' (did you mean 'fr'?)",
    ]


def test_a_missing_vital_key_is_placed_at_its_table(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD.replace('name = "branch-1"\n', ""))
    problems = check_config(path, sections=KIOSK_SECTIONS)
    assert messages(problems) == [
        f"{path}:1: kiosk.name: missing: set it to this kiosk's name in kiosk-central "
        '(kiosk-central kiosk add NAME), e.g. name = "branch-1"',
    ]
    assert problems[0].vital
    with pytest.raises(ConfigError, match=r"kiosk\.name: missing"):
        load_config(path, sections=KIOSK_SECTIONS)


def test_no_data_directory_refuses_to_start(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD.replace('data_dir = "data"', 'data_dir = "/nonexistent/kiosk"'))
    with pytest.raises(ConfigError) as raised:
        load_config(path, sections=KIOSK_SECTIONS)
    assert messages(raised.value.problems) == [
        f"{path}:3: kiosk.data_dir: /nonexistent/kiosk does not exist",
    ]


def test_several_mistakes_are_reported_at_once_in_file_order(tmp_path: Path) -> None:
    path = site(
        tmp_path,
        """\
[kiosk]
mode = "chekout"
data_dir = "data"
log_levle = "debug"

[server]
url = "central.example"
token_file = "token"
read_timeout = 0

[session]
inactivity_seconds = 10
warning_seconds = 30

[bins.shelf]
colour = "gren"

[printr]
enabled = true
""",
    )
    problems = check_config(path, sections=KIOSK_SECTIONS)
    assert messages(problems) == [
        f"{path}:1: kiosk.name: missing: set it to this kiosk's name in kiosk-central "
        '(kiosk-central kiosk add NAME), e.g. name = "branch-1"',
        f"{path}:2: kiosk.mode: must be one of checkout, return, both, not 'chekout' "
        "(did you mean 'checkout'?)",
        f"{path}:4: kiosk.log_levle: unknown key (did you mean 'log_level'?); known keys: "
        "name, mode, data_dir, log_level",
        f"{path}:7: server.url: must start with https:// or http://, not 'central.example'",
        f"{path}:9: server.read_timeout: must be a number of seconds above 0, not 0",
        f"{path}:13: session.warning_seconds: must be less than inactivity_seconds (10), not 30",
        f"{path}:16: bins.shelf.colour: must be one of yellow, green, red, blue, orange, purple, "
        "white, black, grey or \"#rrggbb\", not 'gren' (did you mean 'green'?)",
        f"{path}:18: printr: unknown table (did you mean 'printer'?); known tables: kiosk, "
        "library, server, patrons, session, offline, display, bins, printer, staff, scanners, "
        "barcodes",
    ]
    assert [p.vital for p in problems] == [True, True, True, False, False, True, True, False]
    out, err = io.StringIO(), io.StringIO()
    assert check_config_command(path, out, err) == 2
    assert err.getvalue().splitlines()[-1] == (
        "8 errors: 5 stop the kiosk; 3 in parts it lends without (shown in staff mode)"
    )
    assert out.getvalue() == ""


def test_optional_parts_fail_alone_and_the_kiosk_still_lends(tmp_path: Path) -> None:
    path = site(
        tmp_path,
        GOOD
        + """
[printer]
enabled = true
device = "/dev/usb/no-such-printer"

[[scanners.hid]]
device = "0c2e:0b61"
layout = "qwerty"

[[scanners.serial]]
port = "/dev/ttyUSB0"
""",
    )
    config = load_config(path, sections=KIOSK_SECTIONS)
    assert messages(config.faults) == [
        f"{path}:11: printer.device: /dev/usb/no-such-printer does not exist: is the printer "
        "plugged in and on?",
        f"{path}:15: scanners.hid[0].layout: must be one of us, uk, de, fr, not 'qwerty'",
    ]
    assert not any(fault.vital for fault in config.faults)
    # The bad scanner is left out; the good one works.
    assert config[SCANNERS_SECTION] == ScannerSettings(
        serial=(SerialScannerSettings(port="/dev/ttyUSB0"),)
    )


def test_a_token_file_readable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD)
    (tmp_path / "token").chmod(0o644)
    config = load_config(path, sections=KIOSK_SECTIONS)
    token = tmp_path / "token"
    assert messages(config.faults) == [
        f"{path}:7: server.token_file: {token}: readable by other users (mode 644); "
        f"run: chmod 600 {token}",
    ]


def test_an_empty_or_missing_token_file_says_how_to_fill_it(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD)
    token = tmp_path / "token"
    token.write_text("\n")
    assert messages(load_config(path, sections=KIOSK_SECTIONS).faults) == [
        f"{path}:7: server.token_file: {token}: is empty; put the token from "
        "`kiosk-central kiosk add` in it",
    ]
    token.unlink()
    assert messages(check_config(path, sections=KIOSK_SECTIONS)) == [
        f"{path}:7: server.token_file: {token}: cannot read the token file: "
        "No such file or directory",
    ]


def test_two_scanners_of_one_name_are_a_fault_and_neither_is_used(tmp_path: Path) -> None:
    path = site(
        tmp_path,
        GOOD
        + """
[scanners]
keyboard = true

[[scanners.hid]]
device = "0c2e:0b61"
name = "desk"

[[scanners.serial]]
port = "/dev/ttyUSB0"
name = "desk"
""",
    )
    config = load_config(path, sections=KIOSK_SECTIONS)
    assert messages(config.faults) == [
        f"{path}:9: scanners: two scanners share the source name 'desk'",
    ]
    assert config[SCANNERS_SECTION] == ScannerSettings()


def test_a_bad_barcode_pattern_is_vital(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD + "[barcodes]\npatron = ['2(\\d{13}']\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path, sections=KIOSK_SECTIONS)
    (problem,) = raised.value.problems
    assert (problem.line, problem.key, problem.vital) == (9, "barcodes.patron[0]", True)
    assert problem.message.startswith("not a valid regular expression")


def test_the_site_file_comes_from_the_environment_when_not_given(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD)
    assert (
        load_config(None, sections=KIOSK_SECTIONS, environ={"KIOSK_CONFIG": str(path)}).kiosk.name
        == "branch-1"
    )
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as raised:
        load_config(None, sections=KIOSK_SECTIONS, environ={"KIOSK_CONFIG": str(missing)})
    assert messages(raised.value.problems) == [
        f"{missing}: cannot read the config file: No such file or directory"
    ]


def test_check_config_command_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = site(tmp_path, GOOD)
    assert main(["check-config", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: valid\n"
    monkeypatch.setenv("KIOSK_CONFIG", str(path))
    assert main(["check-config"]) == 0
    path.write_text(GOOD + "[patrons]\npin_required = 'no'\n")
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:9: patrons.pin_required: must be true or false, not 'no'" in err


def test_config_show_masks_secrets_and_is_valid_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = site(
        tmp_path,
        GOOD
        + f'[staff]\ncards = ["29999999999999"]\npin_verifier = "{VERIFIER}"\n'
        + '[[scanners.serial]]\nport = "/dev/ttyUSB0"\nbaud = 19200\n',
    )
    assert main(["config", "show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert VERIFIER not in shown
    assert f'pin_verifier = "{MASK}"  # {path}:10' in shown
    assert f'name = "branch-1"  # {path}:2' in shown
    assert 'mode = "both"\n' in shown  # a default: no comment
    assert f'port = "/dev/ttyUSB0"  # {path}:12' in shown
    data = tomllib.loads(shown)
    assert data["staff"]["pin_verifier"] == MASK
    assert data["scanners"]["serial"] == [{"port": "/dev/ttyUSB0", "baud": 19200}]
    defaults = tomllib.loads(DEFAULTS_FILE.read_text())
    assert data["display"] == defaults["display"]
    assert data["barcodes"] == defaults["barcodes"]
    assert str(load_config(path, sections=KIOSK_SECTIONS).staff.pin_verifier) == MASK
    assert VERIFIER not in repr(load_config(path, sections=KIOSK_SECTIONS))


def test_key_lines_skip_the_inside_of_multi_line_values() -> None:
    text = """\
# comment = 1
[a]
list = [
  "x = 1",
  "[b]",
]
text = \"\"\"
c = 2
\"\"\"
"quoted key" = 3
dotted.key = 4
[[s.hid]]
device = "one"
[[s.hid]]
device = "two"
"""
    assert key_lines(text) == {
        "a": 2,
        "a.list": 3,
        "a.text": 7,
        "a.quoted key": 10,
        "a.dotted.key": 11,
        "s": 12,
        "s.hid": 12,
        "s.hid[0]": 12,
        "s.hid[0].device": 13,
        "s.hid[1]": 14,
        "s.hid[1].device": 15,
    }


def test_staff_pin_prints_a_verifier_of_the_pin_typed_twice() -> None:
    answers = iter(["483920", "483920"])
    out, err = io.StringIO(), io.StringIO()
    assert staff_pin_command(lambda _prompt: next(answers), out, err) == 0
    line = out.getvalue().strip()
    assert line.startswith('pin_verifier = "$argon2id$')
    verifier = tomllib.loads(line)["pin_verifier"]
    assert pin_matches(verifier, "483920")
    assert "483920" not in out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        (["4839", "4838"], "the two PINs differ"),
        (["12"], "4 to 12 digits"),
        (["12ab"], "4 to 12 digits"),
    ],
)
def test_staff_pin_refuses_a_mismatch_or_a_bad_pin(typed: list[str], said: str) -> None:
    answers = iter(typed)
    out, err = io.StringIO(), io.StringIO()
    assert staff_pin_command(lambda _prompt: next(answers), out, err) == 1
    assert out.getvalue() == ""
    assert said in err.getvalue()


def test_the_shipped_defaults_match_the_dataclass_defaults(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD)
    loaded = load_config(path, sections=KIOSK_SECTIONS)
    built = KioskConfig(
        kiosk=KioskSection(name="branch-1", data_dir=tmp_path / "data"),
        server=replace(
            ServerSection(), url="https://central.example:8443", token_file=tmp_path / "token"
        ),
        sections={
            BINS_SECTION: SortingBins(),
            PRINTER_SECTION: PrinterSettings(),
            SCANNERS_SECTION: ScannerSettings(),
        },
    )
    assert replace(loaded, files=()) == built
    assert os.fspath(DEFAULTS_FILE).endswith("kiosk/config/defaults.toml")


def test_the_sync_agent_refuses_a_config_whose_server_part_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = site(tmp_path, GOOD)
    token = tmp_path / "token"
    token.chmod(0o640)
    assert main(["sync", "--config", str(path), "--once"]) == 2
    assert capsys.readouterr().err == (
        f"kiosk sync: {path}:7: server.token_file: {token}: readable by other users "
        f"(mode 640); run: chmod 600 {token}\nthe kiosk cannot sync until this is fixed\n"
    )
    assert main(["sync", "--once"]) == 2
    assert "give --data, --server, --token-file or --config FILE" in capsys.readouterr().err


def test_a_screen_width_outside_any_screen_is_refused_with_what_is_wanted(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD + "\n[display]\nscreen_width_mm = 15.5\n")
    with pytest.raises(ConfigError) as refused:
        load_config(path, sections=KIOSK_SECTIONS)
    assert "display.screen_width_mm: must be a width in millimetres from 40 to 2000" in str(
        refused.value
    )
    path = site(tmp_path, GOOD + "\n[display]\nscreen_width_mm = 155\n")
    assert load_config(path, sections=KIOSK_SECTIONS).display.screen_width_mm == 155.0


def test_every_table_is_read_by_config_or_by_one_section_handed_to_it(tmp_path: Path) -> None:
    """A table nobody reads would be silently ignored: config refuses to load without
    a reader for each, or with two."""
    path = site(tmp_path, GOOD)
    with pytest.raises(ValueError, match=r"unread: \['bins', 'printer', 'scanners', 'barcodes'\]"):
        load_config(path, sections=())
    twice: Sections = (*KIOSK_SECTIONS, PRINTER_SECTION)
    with pytest.raises(ValueError, match=r"read twice: \['printer'\]"):
        check_config(path, sections=twice)
    other = replace(SCANNERS_SECTION)  # the same tables, read by another section
    config = load_config(path, sections=(PRINTER_SECTION, other, BINS_SECTION))
    assert config[other] == ScannerSettings()
    with pytest.raises(KeyError, match=r"Section\(scanners, barcodes\) was not read"):
        config[SCANNERS_SECTION]


def test_a_config_that_cannot_be_used_is_one_of_the_projects_errors(tmp_path: Path) -> None:
    path = site(tmp_path, GOOD.replace('name = "branch-1"\n', ""))
    with pytest.raises(KioskError) as raised:
        load_config(path, sections=KIOSK_SECTIONS)
    assert isinstance(raised.value, ConfigError)
    assert str(raised.value).splitlines() == [
        f"{path}:1: kiosk.name: missing: set it to this kiosk's name in kiosk-central "
        '(kiosk-central kiosk add NAME), e.g. name = "branch-1"',
        "1 error; the kiosk cannot start with this config",
    ]
