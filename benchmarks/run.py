"""Run every benchmark in one process, on the same inputs, and write ``benchmarks/RESULTS.md``.

    make bench          # installs the anchors (the ``bench`` extra) and runs this

Times are wall-clock seconds on whatever machine runs it (the header records
it); the comparisons that matter are the ratios between methods run side by
side here. Never used as assertions in tests.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"


def _table(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join("" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
                                       for v in row) + " |")
    return "\n".join(lines)


def partition_section() -> tuple[str, dict[str, object]]:
    from benchmarks import bench_partition as bp

    cases = bp.setup(DATA)
    rows, exact_rows = [], []
    for n, case in enumerate(cases, start=1):
        print(f"[{n}/{len(cases)}] {case.area} {case.community['name']} ({len(case.blocks)} blocks)", file=sys.stderr,
              flush=True)
        ours = bp.run_wangge(case)
        k = ours.pop("k")
        rows.append(ours)
        rows.append(bp.run_maxp(case))
        skater, labels = bp.run_skater(case, k)
        rows.append(skater)
        rows.append(bp.run_recom(case, k, labels))
        exact_rows += bp.run_exact_reference(case)
    frame = pd.DataFrame(rows)
    frame["family"] = frame["method"].str.replace(r" \(.*\)", "", regex=True)
    agg = frame.groupby("family").agg(
        communities=("community", "count"), seconds=("seconds", "sum"), grids=("grids", "sum"),
        in_band=("in_band", "sum"), explained=("explained_outliers", "sum"),
        mean_polsby_popper=("mean_polsby_popper", "mean"), street_share=("street_share", "mean"),
        contiguous_share=("contiguous_share", "mean"), max_gap_m2=("gap_m2", "max"),
        max_overlap_m2=("overlap_m2", "max"))
    agg["in_band_share"] = (agg["in_band"] / agg["grids"]).round(3)
    agg["unexplained_outliers"] = agg["grids"] - agg["in_band"] - agg["explained"]
    agg = agg.round(3).reset_index()
    ours = agg[agg["family"] == "wangge"].iloc[0]
    ratios = []
    for _, other in agg[agg["family"] != "wangge"].iterrows():
        ratios.append({
            "versus": other["family"],
            "speed (their s / our s)": round(other["seconds"] / ours["seconds"], 2),
            "Polsby-Popper (ours / theirs)": round(ours["mean_polsby_popper"] / other["mean_polsby_popper"], 2),
            "in band (ours / theirs)": f"{ours['in_band_share']:.0%} / {other['in_band_share']:.0%}",
            "street share (ours / theirs)": f"{ours['street_share']:.0%} / {other['street_share']:.0%}",
            "contiguous (ours / theirs)": f"{ours['contiguous_share']:.0%} / {other['contiguous_share']:.0%}",
        })
    exact = pd.DataFrame(exact_rows)
    md = ["## Grid drawing (issue 4)", "",
          "Every community of both demo areas; the anchors partition wangge's own blocks and household estimates "
          "(the blocks a community is cut into, with blocks above the band's ceiling split between buildings); "
          "every plan is scored by `geo.checks.plan_report`. wangge's time includes cutting the blocks.", "",
          "### Ratios", "", _table(pd.DataFrame(ratios)), "",
          "### Totals by method", "",
          _table(agg[["family", "communities", "seconds", "grids", "in_band_share", "unexplained_outliers",
                      "mean_polsby_popper", "street_share", "contiguous_share", "max_gap_m2", "max_overlap_m2"]]),
          "", "### Against the proven optimum", "",
          "Pieces small enough for the HiGHS flow model to prove the optimum (at most "
          f"{bp.EXACT_MAX_NODES} nodes, {bp.EXACT_MAX_GRIDS} grids, node limit {bp.EXACT_NODE_LIMIT}); "
          "cost is the weighted length of boundary between grids.", "",
          _table(exact) if len(exact) else "(no piece small enough)", "",
          "### Every community", "",
          _table(frame.drop(columns=["family"]).fillna("")), ""]
    summary = {
        "wangge_in_band_share": float(ours["in_band_share"]),
        "wangge_unexplained": int(ours["unexplained_outliers"]),
        "wangge_seconds": float(ours["seconds"]),
        "exact_max_above_optimum": float(exact["above_optimum"].max()) if len(exact) else None,
    }
    return "\n".join(md), summary


def main() -> None:
    t0 = time.perf_counter()
    sections, summaries = [], {}
    text, summary = partition_section()
    sections.append(text)
    summaries["partition"] = summary
    header = [
        "# Benchmarks", "",
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by `make bench` on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; {time.perf_counter() - t0:.0f} s in all. "
        "Reproduce with `make bench`.", "",
    ]
    (HERE / "RESULTS.md").write_text("\n".join(header + sections) + "\n", encoding="utf-8")
    print(json.dumps({"summary": summaries}, indent=1))


if __name__ == "__main__":
    main()
