"""Layered settings files, as both kiosk.toml and central.toml are read: the defaults
under the site's file, each value's file and line, every mistake located, and the two
commands' printing (check-config's report, config show's TOML with origins and masks)."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest

from kiosk.common.layered import (
    ConfigProblem,
    LayeredReader,
    Layers,
    counted,
    masking,
    named_file,
    read_layers,
    render_toml,
    report,
    show_layers,
)
from kiosk.common.secrets import MASK, SecretFile
from kiosk.common.settings import as_positive_int, as_text

DEFAULTS = """\
# the shipped defaults
[app]
name = "The App"
port = 8080
data = ""
password_file = ""

[extras]
words = ["a", "b"]
"""
PASSWORD = SecretFile("password file", "put the password in it")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def layers(tmp_path: Path, site: str | None) -> Layers:
    defaults = write(tmp_path / "defaults.toml", DEFAULTS)
    read = read_layers(defaults, None if site is None else write(tmp_path / "site.toml", site))
    assert isinstance(read, Layers), read
    return read


def test_the_site_replaces_the_defaults_key_by_key_and_lists_whole(tmp_path: Path) -> None:
    read = layers(tmp_path, '[app]\nport = 9000\n\n[extras]\nwords = ["c"]\n')
    assert read.merged == {
        "app": {"name": "The App", "port": 9000, "data": "", "password_file": ""},
        "extras": {"words": ["c"]},
    }
    assert read.set_by_site("app.port")
    assert not read.set_by_site("app.name")
    site = tmp_path / "site.toml"
    assert (read.where("app.port")[0].path, read.where("app.port")[1]) == (site, 2)
    # A default the site left alone is still the site's to fix: placed at its table.
    assert (read.where("app.name")[0].path, read.where("app.name")[1]) == (site, 1)
    alone = layers(tmp_path, None)
    assert alone.site is None
    assert (alone.where("app.name")[0].path, alone.where("app.name")[1]) == (
        tmp_path / "defaults.toml",
        3,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[app\n",
            "site.toml:1: not valid TOML: Expected ']' at the end of a table declaration (column 5)",
        ),
        ("[app]\nport = = 1\n", "site.toml:2: not valid TOML: Invalid value (column 8)"),
    ],
)
def test_a_file_that_is_not_toml_gives_its_line(tmp_path: Path, text: str, expected: str) -> None:
    defaults = write(tmp_path / "defaults.toml", DEFAULTS)
    problem = read_layers(defaults, write(tmp_path / "site.toml", text))
    assert isinstance(problem, ConfigProblem)
    assert str(problem) == f"{tmp_path}/{expected}"


def test_a_missing_or_binary_file_says_so(tmp_path: Path) -> None:
    defaults = write(tmp_path / "defaults.toml", DEFAULTS)
    missing = read_layers(defaults, tmp_path / "nowhere.toml")
    assert str(missing) == (
        f"{tmp_path}/nowhere.toml: cannot read the config file: No such file or directory"
    )
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[app]")
    assert str(read_layers(defaults, binary)) == f"{binary}: is not UTF-8 text; save it as UTF-8"


def test_the_named_file_is_the_one_given_else_the_one_in_the_variable() -> None:
    assert named_file(Path("given.toml"), {"APP_CONFIG": "env.toml"}, "APP_CONFIG") == Path(
        "given.toml"
    )
    assert named_file(None, {"APP_CONFIG": "env.toml"}, "APP_CONFIG") == Path("env.toml")
    assert named_file(None, {"APP_CONFIG": ""}, "APP_CONFIG") is None
    assert named_file(None, {}, "APP_CONFIG") is None


class Reader(LayeredReader):
    def read(self) -> tuple[str, int, Path | None, Path | None]:
        self.unknown_tables()
        app = self.section("app", ("name", "port", "data", "password_file"))
        data = self.path(app, "app", "data")
        self.existing(data, "app.data", folder=True)
        password_file, _ = self.secret_file(app, "app", "password_file", PASSWORD)
        self.section("extras", ("words",))
        return (
            self.get(app, "app", "name", "", as_text, "text"),
            self.get(app, "app", "port", 0, as_positive_int, "a whole number above 0"),
            data,
            password_file,
        )


def test_every_mistake_at_its_file_line_and_key_in_file_order(tmp_path: Path) -> None:
    secret = write(tmp_path / "secret", "s3cret\n")
    secret.chmod(0o644)
    read = layers(
        tmp_path,
        '[app]\nport = "high"\ndata = "nowhere"\npasword = "x"\npassword_file = "secret"\n'
        "\n[extra]\nwords = []\n",
    )
    reader = Reader(read, ("app", "extras"))
    name, port, data, password_file = reader.read()
    assert (name, port, data, password_file) == ("The App", 0, tmp_path / "nowhere", secret)
    site = tmp_path / "site.toml"
    problems = reader.located(lambda key: reader.part(key) == "extras")
    assert [str(problem) for problem in problems] == [
        f"{site}:2: app.port: must be a whole number above 0, not 'high'",
        f"{site}:3: app.data: {tmp_path}/nowhere does not exist",
        f"{site}:4: app.pasword: unknown key (did you mean 'password_file'?); known keys: "
        "name, port, data, password_file",
        f"{site}:5: app.password_file: {secret}: readable by other users (mode 644); "
        f"run: chmod 600 {secret}",
        f"{site}:7: extra: unknown table (did you mean 'extras'?); known tables: app, extras",
    ]
    assert "s3cret" not in "".join(map(str, problems))
    # The unknown table belongs to the part it was probably meant for.
    assert [problem.vital for problem in problems] == [True, True, True, True, False]


def test_a_relative_path_starts_at_the_folder_of_the_file_that_names_it(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "data").mkdir()
    secret = write(tmp_path / "site" / "secret", " s3cret \n")
    secret.chmod(0o600)
    defaults = write(tmp_path / "defaults.toml", DEFAULTS)
    site = write(tmp_path / "site" / "app.toml", '[app]\ndata = "data"\npassword_file = "secret"\n')
    read = read_layers(defaults, site)
    assert isinstance(read, Layers)
    reader = Reader(read, ("app", "extras"))
    assert reader.read()[2:] == (tmp_path / "site" / "data", secret)
    assert reader.problems == []
    assert reader.secret_file(read.merged["app"], "app", "password_file", PASSWORD) == (
        secret,
        "s3cret",
    )


def test_the_report_prints_each_problem_then_the_programs_own_summary() -> None:
    problems = [
        ConfigProblem(Path("a.toml"), 3, "app.port", "must be a whole number above 0, not 0"),
        ConfigProblem(Path("a.toml"), None, "printer.width", "too wide", vital=False),
        ConfigProblem(None, None, "", "no file at all"),
    ]
    err = io.StringIO()
    report(
        problems,
        err,
        lambda vital, optional: f"{counted(vital, 'error')}, {counted(optional, 'fault')}",
        optional_mark=" [optional]",
    )
    assert err.getvalue().splitlines() == [
        "a.toml:3: app.port: must be a whole number above 0, not 0",
        "a.toml: printer.width: too wide [optional]",
        "no file at all",
        "2 errors, 1 fault",
    ]


def test_config_show_is_valid_toml_with_origins_overrides_and_masks(tmp_path: Path) -> None:
    read = layers(tmp_path, '[app]\nname = "Branch"\n\n[extras]\nwords = ["c"]\n')
    site = tmp_path / "site.toml"
    shown = show_layers(
        read,
        masking({"app.name"}),
        {"app.port": (9999, "--port"), "new.key": ("x", "$NEW")},
    )
    assert shown.splitlines()[:2] == [
        f"# defaults: {tmp_path / 'defaults.toml'}",
        f"# site: {site}",
    ]
    assert f'name = "{MASK}"  # {site}:2\n' in shown
    assert "port = 9999  # --port\n" in shown
    assert 'data = ""\n' in shown  # a default: no comment
    assert f'words = ["c"]  # {site}:5\n' in shown
    assert tomllib.loads(shown) == {
        "app": {"name": MASK, "port": 9999, "data": "", "password_file": ""},
        "extras": {"words": ["c"]},
        "new": {"key": "x"},
    }
    # the layers themselves are left as read
    assert read.merged["app"]["port"] == 8080
    assert "new" not in read.merged


def test_masking_leaves_an_empty_secret_empty() -> None:
    mask = masking({"a.secret"})
    assert mask("a.secret", "") == ""
    assert mask("a.secret", "x") == MASK
    assert mask("a.other", "x") == "x"


def test_render_toml_writes_nested_tables_and_arrays_of_tables() -> None:
    data = {
        "top": 1,
        "scanners": {"keyboard": True, "hid": [{"device": "a b", "layout": "fr"}, {"x": 1.5}]},
        "bins": {"shelf": {"label": "Shelf"}},
        "odd key": {"quoted key": "é"},
    }
    text = render_toml(data)
    assert tomllib.loads(text) == data
    assert "[[scanners.hid]]" in text
    assert "[bins]" not in text  # a table holding only tables needs no header of its own
