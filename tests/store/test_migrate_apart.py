"""Migrating in a child process: the kiosk's screens never load Alembic, and anything that
goes wrong is left for Store.open to meet as before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.store import migrate
from kiosk.store.errors import StoreCorrupt
from kiosk.store.migrate_apart import behind, upgrade_apart
from kiosk.store.store import MirrorHealth, Store


def test_a_new_data_directory_is_migrated_by_a_child_and_alembic_stays_out(
    tmp_path: Path,
) -> None:
    assert behind(tmp_path) == ["journal", "mirror"]
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from kiosk.store.migrate_apart import upgrade_apart; "
            "assert upgrade_apart(Path(sys.argv[1])); "
            "print(sorted({name.split('.')[0] for name in sys.modules} & {'alembic', 'mako'}))",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
    assert behind(tmp_path) == []
    store = Store.open(tmp_path)
    assert migrate.is_current(store.journal, "journal")
    assert migrate.is_current(store.mirror, "mirror")
    assert store.mirror_health is MirrorHealth.EMPTY
    store.close()


def test_files_already_current_start_no_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store.open(tmp_path).close()

    def no_child(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a child process was started for current files")

    monkeypatch.setattr(subprocess, "run", no_child)
    assert upgrade_apart(tmp_path)


def test_a_damaged_journal_is_left_as_it_was_for_the_store_to_refuse(tmp_path: Path) -> None:
    damaged = b"not a database at all " * 200
    (tmp_path / "journal.db").write_bytes(damaged)
    assert not upgrade_apart(tmp_path)
    assert (tmp_path / "journal.db").read_bytes() == damaged
    with pytest.raises(StoreCorrupt):
        Store.open(tmp_path)
