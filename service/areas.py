"""Study areas: list, describe, a layer by bounding box, export a whole area, and load the demo areas."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd

from geo.errors import NotFoundError
from geo.io import write_area_package
from service.context import Context, Progress
from service.imports import load_package
from service.records import AreaRecord

BBox = tuple[float, float, float, float]


def list_areas(ctx: Context) -> dict[str, Any]:
    """All study areas: ``{"summary": {"areas": N}, "areas": [...]}`` (``GET /areas``, ``wangge areas --json``)."""
    items = [ctx.store.summary(n).item() for n in ctx.store.area_names()]
    return {"summary": {"areas": len(items)}, "areas": items}


@dataclass(frozen=True)
class AreaDescription:
    """One area: its record and its import log (newest first)."""

    record: AreaRecord
    imports: list[dict[str, Any]]


def describe_area(ctx: Context, name: str) -> AreaDescription:
    """An area's record and import log."""
    return AreaDescription(ctx.store.summary(name), ctx.store.imports(name))


def area_report(d: AreaDescription) -> dict[str, Any]:
    """``wangge area AREA --json``: counts, calibration of the household estimates, layers and imports."""
    item = d.record.item()
    cal = d.record.households_report.get("calibration") or {}
    return {
        "summary": {
            **{k: item[k] for k in ("communities", "buildings", "households")},
            "calibrated": bool(cal.get("calibrated")),
            "calibration_factor": cal.get("factor"),
            "loo_median_abs_error": cal.get("loo_median_abs_error"),
        },
        "area": item,
        "layers": d.record.layers,
        "calibration_units": cal.get("units", []),
        "imports": d.imports,
    }


def layer_features(
    ctx: Context,
    name: str,
    layer: str,
    *,
    bbox: BBox | None = None,
    limit: int | None = None,
    fields: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """A layer's features (EPSG:4326) whose bounding box meets ``bbox``, at most ``limit``, with ``fields`` only.

    Read from the store's indexed bounding boxes (a map's visible box costs one query, not the whole layer).

    Raises
    ------
    NotFoundError
        Unknown area or layer.
    """
    frame = ctx.store.load_layer(name, layer, bbox=bbox, limit=limit)
    if fields:
        keep = [f for f in fields if f in frame.columns]
        frame = frame[[*keep, "geometry"]]
    return frame


def export_area(ctx: Context, name: str, out: str | Path) -> Path:
    """Write a whole study area to one GeoPackage (a backup, or to move it to another store)."""
    return Path(write_area_package(ctx.store.load_area(name), out))


def load_demo(ctx: Context, data_dir: Path, *, progress: Progress | None = None) -> list[dict[str, Any]]:
    """Load every demo area package (``data/*.gpkg``) into the store."""
    packages = sorted(Path(data_dir).glob("*.gpkg"))
    if not packages:
        raise NotFoundError(f"No demo packages (*.gpkg) in {data_dir}", detail_zh=f"{data_dir} 中没有演示数据")
    reports = [load_package(ctx, p, progress=progress) for p in packages]
    # The SYNTHETIC camera inventory of the Liechtenstein demo (data/make_synthetic_cameras.py), imported as a
    # county's file is: its malformed and repeated ids are reported row by row in the import log.
    inventory = Path(data_dir) / "cameras_liechtenstein_synthetic.csv"
    if inventory.exists() and any(r["area"] == "liechtenstein" for r in reports):
        from service.imports import import_file

        import_file(ctx, inventory, area="liechtenstein", layer="cameras", author="demo (synthetic)", progress=progress)
    return reports
