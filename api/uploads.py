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
from typing import Any

import psutil

from geo.errors import MissingFilePartError, UnsupportedFormatError
from geo.io.vector import TABLE_SUFFIXES, VECTOR_SUFFIXES, parse_column_map

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


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._\-\u4e00-\u9fff]")


def save_uploads(files: list[Any], folder: Path) -> list[Path]:
    """Save uploaded files (Starlette ``UploadFile``) into ``folder`` under safe names; return their paths."""
    saved = []
    for up in files:
        fname = _SAFE_NAME.sub("_", Path(up.filename or "upload").name) or "upload"
        dest = folder / fname
        with dest.open("wb") as out:
            shutil.copyfileobj(up.file, out)
        saved.append(dest)
    return saved


def main_file(saved: list[Path]) -> Path:
    """The file of an upload to read: the ``.pbf``, else the ``.shp``, else a vector file, else a table.

    Raises
    ------
    MissingFilePartError
        Parts of a Shapefile without its ``.shp``.
    UnsupportedFormatError
        Nothing we can read.
    """
    for suffixes in ((".osm.pbf", ".pbf"), (".shp",), VECTOR_SUFFIXES, TABLE_SUFFIXES):
        for p in saved:
            if p.name.lower().endswith(tuple(suffixes)):
                return p
    parts = [p for p in saved if p.suffix.lower() in (".dbf", ".shx", ".prj", ".cpg")]
    if parts:
        shp = f"{parts[0].stem}.shp"
        raise MissingFilePartError(
            f"The upload holds parts of a Shapefile ({', '.join(p.name for p in parts)}) but not {shp} "
            "(the shapes themselves): send it too",
            detail_zh=f"上传的文件中有 Shapefile 的部分文件，但缺少 {shp}（几何本身）",
            missing=[shp],
        )
    raise UnsupportedFormatError(
        f"None of {', '.join(p.name for p in saved)} is a file we can import "
        "(GeoPackage, Shapefile, GeoJSON, CSV, XLSX, .osm.pbf)",
        detail_zh="上传的文件格式不受支持（支持 GeoPackage、Shapefile、GeoJSON、CSV、XLSX、.osm.pbf）",
    )


def column_map(pairs: list[str] | None) -> dict[str, str]:
    """The ``map`` form fields (``OURS=THEIRS``) as a mapping."""
    return parse_column_map(pairs)
