"""Upload folders: one temporary folder per upload, named after the process that owns it.

An upload is saved to ``wangge-upload-<pid>-<random>`` in the system's temporary
folder and removed when its import ends. A process that dies in between (a
crash, ``kill -9``, a power cut) leaves its folder behind; at start-up the app
removes the folders whose process is gone, so they never pile up. The pid alone
is not proof of life: after a restart another process (in a container, even
this one) may have the same pid, so a folder last touched before its pid's
process started is stale too.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import psutil

log = logging.getLogger("wangge.uploads")

PREFIX = "wangge-upload-"
_OWNED = re.compile(rf"^{re.escape(PREFIX)}(\d+)-")


def upload_dir() -> Path:
    """Make a fresh folder for one upload, named after this process (``wangge-upload-<pid>-…``)."""
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))


def _owner_alive(pid: int, folder: Path) -> bool:
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        started = process.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True  # another user's process: not ours to judge
    # A process that started after the folder was last written to cannot own it: the pid was reused.
    return started <= folder.stat().st_mtime + 1.0


def remove_stale_uploads(root: Path | None = None) -> list[Path]:
    """Remove the upload folders whose process is gone; return those removed.

    Parameters
    ----------
    root
        Where upload folders are made (default: the system's temporary folder).
    """
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    removed = []
    for folder in base.glob(f"{PREFIX}*"):
        m = _OWNED.match(folder.name)
        if m is None or not folder.is_dir():
            continue  # not named by this module (another tool, or an older version): left alone
        try:
            if _owner_alive(int(m.group(1)), folder):
                continue
            shutil.rmtree(folder)
        except FileNotFoundError:
            continue  # removed meanwhile by its owner or another app starting up
        except OSError as exc:
            log.warning("could not remove stale upload folder %s: %s", folder, exc)
            continue
        removed.append(folder)
    if removed:
        log.info("removed %d upload folder(s) left by processes that are gone", len(removed))
    return removed
