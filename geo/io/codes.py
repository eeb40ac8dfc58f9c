"""Read published code lists (统计用区划代码 CSVs, as in ``data/admin_codes``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from geo.codes import CodeList
from geo.errors import InputError


def read_code_list(*paths: str | Path) -> CodeList:
    """Read one or more NBS code CSVs (columns ``code12``, ``name``, ``level``, ``parent_code12``...)."""
    lists = []
    for path in paths:
        p = Path(path)
        frame = pd.read_csv(p, dtype=str, keep_default_na=False)
        if "code12" not in frame.columns:
            raise InputError(f"{p.name} has no code12 column", detail_zh=f"{p.name} 缺少 code12 列")
        lists.append(CodeList.from_frame(frame))
    return CodeList.concat(lists)


def read_code_lists_in(folder: str | Path) -> CodeList | None:
    """Read every ``*.csv`` code list in a folder (None when there are none)."""
    files = sorted(Path(folder).glob("*.csv")) if Path(folder).is_dir() else []
    return read_code_list(*files) if files else None
