"""Upload folders carry their process id; at start-up the folders of processes that are gone are removed."""

import os
import subprocess
import sys
import tempfile
import time

import pytest

from api.uploads import PREFIX, remove_stale_uploads, upload_dir


@pytest.fixture()
def temp_root(tmp_path, monkeypatch):
    """The system's temporary folder, for this test only."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()  # exited and reaped: its pid names no process now
    return p.pid


def _left_behind(root, pid, *, file="cams.csv"):
    folder = root / f"{PREFIX}{pid}-abc123"
    folder.mkdir()
    (folder / file).write_text("name,lon,lat\n", encoding="utf-8")
    return folder


def test_upload_folder_is_named_after_this_process(temp_root):
    folder = upload_dir()
    assert folder.parent == temp_root and folder.name.startswith(f"{PREFIX}{os.getpid()}-")


def test_folders_of_processes_that_are_gone_are_removed_and_live_ones_kept(temp_root):
    dead = _left_behind(temp_root, _dead_pid())
    mine = upload_dir()
    (mine / "cams.csv").write_text("in use", encoding="utf-8")
    foreign = temp_root / f"{PREFIX}notapid"  # not named by us: left alone
    foreign.mkdir()
    assert remove_stale_uploads() == [dead]
    assert not dead.exists() and mine.exists() and foreign.exists()


def test_a_folder_older_than_the_process_now_holding_its_pid_is_stale(temp_root):
    # After a restart (in a container, even the app itself) another process may hold the dead owner's pid.
    folder = _left_behind(temp_root, os.getpid())
    long_ago = time.time() - 10 * 24 * 3600
    os.utime(folder, (long_ago, long_ago))
    assert remove_stale_uploads() == [folder]


def test_the_app_cleans_up_at_start_up(temp_root, tmp_path):
    from api.main import create_app
    from api.settings import Settings
    from tests.conftest import DATA

    dead = _left_behind(temp_root, _dead_pid())
    create_app(Settings(store_url=f"sqlite:///{tmp_path / 'w.db'}", data_dir=DATA))
    assert not dead.exists()
