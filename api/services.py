"""Use cases shared by the API and the CLI: read a file, call the core, save in one transaction.

Each function takes a :class:`Context` (store, rules, code list) and returns a
JSON-ready report. Nothing here knows about HTTP or the terminal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.area import LAYER_COLUMNS, StudyArea, conform, new_area
from geo.codes import CodeList
from geo.derive import derive
from geo.errors import InputError, NotFoundError
from geo.io import (
    read_area_package,
    read_boundaries,
    read_code_lists_in,
    read_features,
    read_table_or_layer,
)
from geo.io.osm import bbox_of
from geo.layers import normalise_layer, update_communities_from_codes, update_households
from geo.osm_area import build_osm_area, select_communities
from geo.rules import Rules
from store.areas import Store, check_area_name

Progress = Callable[[str, float | None], None]

IMPORT_KINDS = (*[k for k in LAYER_COLUMNS if k != "places"], "community_codes", "households")


@dataclass(frozen=True)
class Context:
    """What every use case needs: where data lives and which rules apply."""

    store: Store
    rules: Rules
    code_list: CodeList | None = None
    # Per-process cache of what never changes within a plan (its blocks and their graph).
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def open(cls, *, store_url: str, rules: Rules, data_dir: Path | None = None) -> Context:
        """Open the store and read the code lists shipped in ``data_dir/admin_codes``."""
        codes = read_code_lists_in(data_dir / "admin_codes") if data_dir is not None else None
        return cls(store=Store.from_url(store_url), rules=rules, code_list=codes)


def _say(progress: Progress | None, message: str, fraction: float | None = None) -> None:
    if progress is not None:
        progress(message, fraction)


def _summary(area: StudyArea, derived: dict[str, Any]) -> dict[str, Any]:
    cal = derived["calibration"]
    return {
        "communities": derived["communities"],
        "urban_communities": derived["urban_communities"],
        "buildings": derived["buildings"],
        "residential_buildings": derived["residential_buildings"],
        "households": derived["households"],
        "households_estimated": derived["households_given_buildings"] < derived["residential_buildings"],
        "calibrated": cal["calibrated"],
        "calibration_factor": cal["factor"],
        "calibration_loo_median_abs_error": cal["loo_median_abs_error"],
        "layers": {k: int(len(area.layer(k))) for k in LAYER_COLUMNS},
    }


def import_osm(
    ctx: Context,
    pbf: str | Path,
    *,
    area: str,
    admin_level: int,
    within: str | None = None,
    title: str | None = None,
    author: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build (or rebuild) a whole study area from an OSM extract.

    Returns
    -------
    dict
        ``summary`` (counts, households, calibration), ``skipped_boundaries``
        (cut by the extract's edge) and ``calibration`` units.
    """
    t0 = time.perf_counter()
    name = check_area_name(area)
    _say(progress, "reading boundaries", 0.05)
    boundaries = read_boundaries(pbf, progress=progress)
    selection = select_communities(boundaries, admin_level=admin_level, within=within)
    _say(progress, f"{len(selection.communities)} communities; reading features", 0.2)
    features = read_features(pbf, bbox_of(selection.communities.union_all(), 0.002), progress=progress)
    _say(progress, "assembling the study area", 0.6)
    built = build_osm_area(name, selection, features, rules=ctx.rules, source=Path(pbf).name, title=title)
    _say(progress, "estimating households", 0.7)
    derived_area, derived = derive(built, ctx.rules, code_list=ctx.code_list)
    _say(progress, "saving", 0.9)
    report = {
        "summary": {
            **_summary(derived_area, derived),
            "skipped_boundaries": len(selection.skipped_cut),
            "seconds": 0.0,
        },
        "area": name,
        "source": Path(pbf).name,
        "admin_level": admin_level,
        "within": None
        if selection.within is None
        else {"osm_id": int(selection.within["osm_id"]), "name": selection.within["name"]},
        "skipped_boundaries": selection.skipped_cut,
        "calibration": derived["calibration"],
    }
    ctx.store.save_area(
        derived_area,
        log=[
            {
                "layer": "osm",
                "source": Path(pbf).name,
                "author": author,
                "report": {k: v for k, v in report.items() if k != "calibration"},
            }
        ],
    )
    report["summary"]["seconds"] = round(time.perf_counter() - t0, 2)
    _say(progress, "done", 1.0)
    return report


def _load_or_new(ctx: Context, name: str) -> StudyArea | None:
    try:
        return ctx.store.load_area(name)
    except NotFoundError:
        return None


def import_file(
    ctx: Context,
    path: str | Path,
    *,
    area: str,
    layer: str,
    column_map: dict[str, str] | None = None,
    crs: str | int | None = None,
    datum: str = "wgs84",
    encoding: str | None = None,
    append: bool = False,
    author: str | None = None,
    source_name: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Import one layer from a file into an area (created if new), then re-derive and save atomically.

    ``layer`` is one of :data:`IMPORT_KINDS`. Geometry layers replace the
    area's layer (or add to it with ``append``); ``community_codes`` and
    ``households`` are tables joined to existing communities and buildings.
    """
    t0 = time.perf_counter()
    name = check_area_name(area)
    if layer not in IMPORT_KINDS:
        raise InputError(
            f"Unknown layer {layer!r}; use one of {', '.join(IMPORT_KINDS)}",
            detail_zh=f"未知图层 {layer!r}；可用：{', '.join(IMPORT_KINDS)}",
        )
    source = source_name or Path(path).name
    table_kind = layer in ("community_codes", "households")
    _say(progress, f"reading {source}", 0.1)
    frame, read = read_table_or_layer(path, crs=crs, datum=datum, encoding=encoding, geometry_required=not table_kind)
    existing = _load_or_new(ctx, name)
    revision = None if existing is None else ctx.store.revision(name)
    notes: list[str] = list(read.notes)
    detail: dict[str, Any] = {}
    if table_kind:
        if existing is None:
            raise NotFoundError(
                f"Study area {name!r} does not exist: import its communities and buildings first",
                detail_zh=f"研究区 {name!r} 不存在：请先导入社区和建筑",
                area=name,
            )
        if layer == "community_codes":
            coms, detail = update_communities_from_codes(existing.layer("communities"), pd.DataFrame(frame), column_map)
            area_obj = existing.with_layers(communities=coms)
        else:
            blds, detail = update_households(existing.layer("buildings"), pd.DataFrame(frame), column_map)
            area_obj = existing.with_layers(buildings=blds)
        imported = detail["matched"]
        if detail["unmatched"]:
            notes.append(f"{len(detail['unmatched'])} row(s) matched nothing")
    else:
        geo, layer_notes = normalise_layer(layer, gpd.GeoDataFrame(frame), column_map=column_map)
        notes += layer_notes
        if existing is None:
            area_obj = new_area(
                name, {layer: geo}, title=name, datum=read.datum, meta={"source": source, "attribution": None}
            )
        else:
            if append and len(existing.layer(layer)):
                old = existing.layer(layer)
                clash = set(old["fid"]) & set(geo["fid"])
                if clash:
                    geo = geo.assign(
                        fid=[f"{f}_{len(old) + i + 1}" if f in clash else f for i, f in enumerate(geo["fid"])]
                    )
                geo = conform(layer, pd.concat([old, geo], ignore_index=True))
            area_obj = existing.with_layers(**{layer: geo})
        imported = len(geo)
    _say(progress, "deriving communities and households", 0.5)
    derived_area, derived = derive(area_obj, ctx.rules, code_list=ctx.code_list)
    report = {
        "summary": {**_summary(derived_area, derived), "imported": int(imported), "seconds": 0.0},
        "area": name,
        "layer": layer,
        "source": source,
        "read": read.as_dict(),
        "notes": notes,
        "matched": detail.get("matched") if detail else None,
        "unmatched": detail.get("unmatched", []) if detail else [],
        "calibration": derived["calibration"],
    }
    _say(progress, "saving", 0.9)
    ctx.store.save_area(
        derived_area,
        expect_revision=revision,
        log=[
            {
                "layer": layer,
                "source": source,
                "author": author,
                "report": {k: v for k, v in report.items() if k != "calibration"},
            }
        ],
    )
    report["summary"]["seconds"] = round(time.perf_counter() - t0, 2)
    return report


def load_package(ctx: Context, path: str | Path, *, progress: Progress | None = None) -> dict[str, Any]:
    """Load a study-area GeoPackage (the demo format), re-deriving with the rules in force."""
    t0 = time.perf_counter()
    _say(progress, f"reading {Path(path).name}", 0.1)
    area = read_area_package(path)
    derived_area, derived = derive(area, ctx.rules, code_list=ctx.code_list)
    ctx.store.save_area(derived_area, log=[{"layer": "package", "source": Path(path).name, "report": {}}])
    return {
        "area": area.name,
        "summary": {**_summary(derived_area, derived), "seconds": round(time.perf_counter() - t0, 2)},
    }


def load_demo(ctx: Context, data_dir: Path, *, progress: Progress | None = None) -> list[dict[str, Any]]:
    """Load every demo area package (``data/*.gpkg``) into the store."""
    packages = sorted(Path(data_dir).glob("*.gpkg"))
    if not packages:
        raise NotFoundError(f"No demo packages (*.gpkg) in {data_dir}", detail_zh=f"{data_dir} 中没有演示数据")
    return [load_package(ctx, p, progress=progress) for p in packages]


def area_item(summary: dict[str, Any]) -> dict[str, Any]:
    """The list entry of one area (shared by ``GET /areas`` and ``wangge areas --json``)."""
    hh = (summary.get("meta") or {}).get("households") or {}
    return {
        "name": summary["name"],
        "title": summary.get("title"),
        "communities": summary["communities"],
        "buildings": summary["buildings"],
        "households": summary.get("households"),
        "households_estimated": hh.get("households_given_buildings", 0) < hh.get("residential_buildings", 1),
        "crs": summary["crs"],
        "datum": summary.get("datum", "wgs84"),
        "bbox": summary.get("bbox"),
    }


def list_areas(ctx: Context) -> dict[str, Any]:
    """All study areas: ``{"summary": {"areas": N}, "areas": [...]}``."""
    items = [area_item(ctx.store.summary(n)) for n in ctx.store.area_names()]
    return {"summary": {"areas": len(items)}, "areas": items}
