"""The camera quota audit as files: CSV (UTF-8 with BOM, as Excel opens it), XLSX (printable) and JSON.

The XLSX prints as the 网格划分表 does (:mod:`geo.io.grid_export`): landscape, one page
wide, the header row on every page; a name that starts like a formula (``=``, ``+``, ``-``,
``@``) is kept as text. In CSV such a cell gets a leading apostrophe (OWASP's advice), so a
spreadsheet opening it shows it and never evaluates it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from geo.io.grid_export import FORMULA_TRIGGERS, _print_setup, keep_text_as_text

AUDIT_FORMATS = ("csv", "xlsx", "json")

# Our column -> the header a township reads.
AUDIT_COLUMNS: dict[str, str] = {
    "level_zh": "层级",
    "code": "区划代码",
    "name": "名称",
    "community": "所属行政村/社区",
    "households": "户数（估算）",
    "required": "应有监控点",
    "counted": "计入监控点",
    "deficit": "缺口",
    "installed": "已建（计入类别）",
    "online": "在线",
    "offline": "离线",
    "fault": "故障",
    "working_rate": "完好率",
    "quota_rule": "配额依据",
}
_LEVEL_ZH = {"community": "行政村/社区", "natural_village": "自然村"}


def audit_table(villages: pd.DataFrame) -> pd.DataFrame:
    """The audit's villages as the table the files hold (Chinese headers, one row per village)."""
    t = villages.assign(level_zh=villages["level"].map(_LEVEL_ZH))
    return t[list(AUDIT_COLUMNS)].rename(columns=AUDIT_COLUMNS)


def _safe_csv(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) else value


def write_audit(
    villages: pd.DataFrame, summary: dict[str, Any], path: str | Path, *, fmt: str, title: str, notes: list[str]
) -> Path:
    """Write the audit to ``path`` (its suffix set by ``fmt``: csv, xlsx or json); returns the file written."""
    target = Path(path).with_suffix(f".{fmt}")
    if fmt == "json":
        rows = json.loads(villages.to_json(orient="records", force_ascii=False))
        target.write_text(
            json.dumps({"title": title, "summary": summary, "villages": rows, "notes": notes}, ensure_ascii=False,
                       indent=1),
            encoding="utf-8",
        )  # fmt: skip
        return target
    table = audit_table(villages)
    if fmt == "csv":
        table.map(_safe_csv).to_csv(target, index=False, encoding="utf-8-sig")
        return target
    if fmt != "xlsx":
        raise ValueError(f"unknown audit format {fmt!r}")
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    wb = Workbook()
    ws = wb.active
    ws.title = "监控点位配额核查"
    headers = list(table.columns)
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws["A1"].font = Font(size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(headers)
    thin = Side(style="thin", color="999999")
    short_fill = PatternFill("solid", fgColor="F8D7D3")
    for c in range(1, len(headers) + 1):
        cell = ws.cell(row=2, column=c)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="E8E4D8")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    deficit_col = headers.index(AUDIT_COLUMNS["deficit"]) + 1
    for row in table.itertuples(index=False):
        values = [None if (isinstance(v, float) and pd.isna(v)) else v for v in row]
        ws.append(values)
        r = ws.max_row
        for c in range(1, len(headers) + 1):
            cell = ws.cell(row=r, column=c)
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
            if (ws.cell(row=r, column=deficit_col).value or 0) > 0:
                cell.fill = short_fill
        ws.cell(row=r, column=headers.index(AUDIT_COLUMNS["working_rate"]) + 1).number_format = "0.0%"
    widths = [12, 15, 18, 18, 10, 10, 10, 8, 12, 8, 8, 8, 9, 24]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[chr(64 + i)].width = w
    ws.append([])
    for note in notes:
        ws.append([note])
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=len(headers))
        ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[ws.max_row].height = 15 * (1 + len(note) // 120)
    ws.freeze_panes = "D3"
    _print_setup(ws, sum(widths), last_row=ws.max_row, columns=len(headers))
    keep_text_as_text(ws)
    wb.save(target)
    return target
