"""Imports: a whole area from an OSM extract or an area package, or one layer from a county's file.

Each import reads the file, calls the core, and saves the whole area in one
transaction (bumping its revision, which every cache entry of the area is
checked against); it returns a JSON-ready report.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.area import LAYER_COLUMNS, StudyArea, conform, new_area, text
from geo.camera_inventory import check_inventory
from geo.derive import derive
from geo.errors import InputError, NotFoundError
from geo.io import read_area_package, read_boundaries, read_features, read_table_or_layer
from geo.io.osm import bbox_of
from geo.io.vector import check_expanded_size, check_feature_count
from geo.layers import (
    community_changes,
    normalise_layer,
    placement_warnings,
    unused_columns,
    update_communities_from_codes,
    update_households,
)
from geo.osm_area import build_osm_area, select_communities
from service.context import Context, Progress, limits_named, say
from store.areas import check_area_name

IMPORT_KINDS = (*[k for k in LAYER_COLUMNS if k != "places"], "community_codes", "households")


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
    max_features: int | None = None,
    max_expanded_mb: float | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build (or rebuild) a whole study area from an OSM extract.

    ``max_expanded_mb`` bounds the extract's size on disk and ``max_features``
    the features read from it (default: the context's import limits).

    Returns
    -------
    dict
        ``summary`` (counts, households, calibration), ``skipped_boundaries``
        (cut by the extract's edge) and ``calibration`` units.
    """
    t0 = time.perf_counter()
    name = check_area_name(area)
    pbf_path = Path(pbf)
    max_features = ctx.max_import_features if max_features is None else max_features
    max_expanded_mb = ctx.max_expanded_mb if max_expanded_mb is None else max_expanded_mb
    with limits_named():
        if pbf_path.exists():
            check_expanded_size(pbf_path.stat().st_size, max_expanded_mb, file=pbf_path.name)
        say(progress, "reading boundaries", 0.05)
        boundaries = read_boundaries(pbf, progress=progress)
        selection = select_communities(boundaries, admin_level=admin_level, within=within)
        say(progress, f"{len(selection.communities)} communities; reading features", 0.2)
        features = read_features(pbf, bbox_of(selection.communities.union_all(), 0.002), progress=progress)
        # Counted before households are estimated and anything is stored: the costly part comes after reading.
        check_feature_count(sum(len(f) for f in features.values()), max_features, file=pbf_path.name)
    say(progress, "assembling the study area", 0.6)
    built = build_osm_area(name, selection, features, rules=ctx.rules, source=Path(pbf).name, title=title)
    say(progress, "estimating households", 0.7)
    derived_area, derived = derive(built, ctx.rules, code_list=ctx.code_list)
    say(progress, "saving", 0.9)
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
    say(progress, "done", 1.0)
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
    source_layer: str | None = None,
    append: bool = False,
    author: str | None = None,
    source_name: str | None = None,
    max_features: int | None = None,
    max_expanded_mb: float | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Import one layer from a file into an area (created if new), then re-derive and save atomically.

    ``layer`` is one of :data:`IMPORT_KINDS`. Geometry layers replace the
    area's layer (or add to it with ``append``); ``community_codes`` and
    ``households`` are tables joined to existing communities and buildings.
    ``source_layer`` picks the layer of a multi-layer file (else the one named
    after ``layer``); ``max_features`` and ``max_expanded_mb`` are the import
    limits (default: the context's).

    Returns
    -------
    dict
        ``summary``, ``read`` (what the reader decided), ``notes``,
        ``unused_columns`` (the file's columns no field of ours takes),
        ``placement`` (features far outside the area, or inside it if
        swapped), ``affected_plans`` (plans drawn on communities the import
        removes or changes), ``matched``/``unmatched`` for tables.
    """
    t0 = time.perf_counter()
    name = check_area_name(area)
    if layer not in IMPORT_KINDS:
        raise InputError(
            f"Unknown layer {layer!r}; use one of {', '.join(IMPORT_KINDS)}",
            detail_zh=f"未知图层 {layer!r}；可用：{', '.join(IMPORT_KINDS)}",
        )
    source = source_name or Path(path).name
    max_features = ctx.max_import_features if max_features is None else max_features
    max_expanded_mb = ctx.max_expanded_mb if max_expanded_mb is None else max_expanded_mb
    table_kind = layer in ("community_codes", "households")
    say(progress, f"reading {source}", 0.1)
    with limits_named():
        frame, read = read_table_or_layer(
            path,
            crs=crs,
            datum=datum,
            encoding=encoding,
            source_layer=source_layer,
            kind=layer,
            geometry_required=not table_kind,
            max_features=max_features,
            max_expanded_mb=max_expanded_mb,
            keep_unplaced=layer == "cameras",  # an inventory is reported row by row
        )
    existing = _load_or_new(ctx, name)
    revision = None if existing is None else ctx.store.revision(name)
    notes: list[str] = list(read.notes)
    unused = unused_columns(pd.DataFrame(frame) if table_kind else gpd.GeoDataFrame(frame), layer, column_map)
    if unused:
        kept = "dropped" if table_kind else "kept as attributes, not interpreted"
        notes.append(f"columns no field takes ({kept}): {', '.join(unused)}")
    placement: dict[str, list[str]] = {"far_outside": [], "swapped": []}
    if (
        not table_kind
        and layer != "cameras"  # judged row by row below
        and existing is not None
        and (len(existing.layer("boundary")) or len(existing.layer("communities")))
    ):
        placed, placement = placement_warnings(
            gpd.GeoDataFrame(frame), existing.outline(), metric_crs=existing.metric_crs, label=read.label
        )
        notes += placed
    detail: dict[str, Any] = {}
    if table_kind:
        if existing is None:
            raise NotFoundError(
                f"Study area {name!r} does not exist: import its communities and buildings first",
                detail_zh=f"研究区 {name!r} 不存在：请先导入社区和建筑",
                area=name,
            )
        if layer == "community_codes":
            coms, detail = update_communities_from_codes(
                existing.layer("communities"), pd.DataFrame(frame), column_map, code_list=ctx.code_list
            )
            area_obj = existing.with_layers(communities=coms)
        else:
            blds, detail = update_households(existing.layer("buildings"), pd.DataFrame(frame), column_map)
            area_obj = existing.with_layers(buildings=blds)
        imported = detail["matched"]
        if detail["unmatched"]:
            notes.append(f"{len(detail['unmatched'])} row(s) matched nothing")
    else:
        if layer == "cameras":
            geo, detail = _camera_inventory(ctx, gpd.GeoDataFrame(frame), read, existing, column_map, append)
            notes += detail["notes"]
            placement = detail["placement"]
        else:
            geo, layer_notes = normalise_layer(
                layer, gpd.GeoDataFrame(frame), column_map=column_map, code_list=ctx.code_list
            )
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
    say(progress, "deriving communities and households", 0.5)
    derived_area, derived = derive(area_obj, ctx.rules, code_list=ctx.code_list)
    affected = _affected_plans(ctx, name, existing, derived_area)
    if affected:
        gone = sum(p["change"] == "removed" for p in affected)
        notes.append(
            f"{len(affected)} grid plan(s) were drawn on communities this import changes "
            f"({', '.join(p['plan_id'] for p in affected[:20])}{'…' if len(affected) > 20 else ''})"
            + (f"; {gone} of them keep the community outline they were drawn on" if gone else "")
        )
    report = {
        "summary": {
            **_summary(derived_area, derived),
            "imported": int(imported),
            "affected_plans": len(affected),
            "seconds": 0.0,
        },
        "area": name,
        "layer": layer,
        "source": source,
        "read": read.as_dict(),
        "notes": notes,
        "unused_columns": unused,
        "placement": placement,
        "affected_plans": affected,
        "matched": detail.get("matched") if detail else None,
        "unmatched": detail.get("unmatched", []) if detail else [],
        **({"cameras": detail["cameras"]} if layer == "cameras" else {}),
        "calibration": derived["calibration"],
    }
    say(progress, "saving", 0.9)
    if existing is not None and any(p["change"] == "removed" for p in affected):
        # Plans saved before plans kept their community get it now, before the import takes it away. Written
        # first and on its own: if the import then fails, a plan keeping the outline it was drawn on is harmless.
        ctx.store.plans.keep_communities(name, existing.layer("communities"))
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


def _camera_inventory(
    ctx: Context,
    frame: gpd.GeoDataFrame,
    read: Any,
    existing: StudyArea | None,
    column_map: dict[str, str] | None,
    append: bool,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """A camera inventory checked row by row against the area (its outline, communities and streets)."""
    judged = existing is not None and (len(existing.layer("boundary")) or len(existing.layer("communities")))
    known = None
    if existing is not None and append:
        old = existing.layer("cameras")
        known = {str(text(i)): str(f) for i, f in zip(old["device_id"], old["fid"]) if text(i) is not None}
    check = check_inventory(
        frame,
        rules=ctx.rules.cameras,
        label=read.label,
        unplaced=read.unplaced,
        column_map=column_map,
        datum=read.datum,
        outline=existing.outline() if judged and existing is not None else None,
        villages=existing.layer("communities") if existing is not None else None,
        streets=existing.metric("roads").geometry.values if existing is not None else None,
        metric_crs=existing.metric_crs if existing is not None else None,
        known_ids=known,
    )
    notes = list(check.notes)
    placement: dict[str, list[str]] = {"far_outside": [], "swapped": []}
    placed = frame[frame.geometry.notna()]
    if judged and existing is not None and len(placed):
        # The same notes as every layer gets (far outside, swapped), on the rows that had a place.
        positions = placed.index.to_numpy()
        placed_notes, placement = placement_warnings(
            placed.reset_index(drop=True),
            existing.outline(),
            metric_crs=existing.metric_crs,
            label=lambda i: read.label(int(positions[i])),
        )
        notes += placed_notes
    return check.layer, {
        "notes": notes,
        "placement": placement,
        "cameras": {"summary": check.summary(), "rows": check.rows},
    }


# What an import did to the community a plan was drawn on, for the import report.
_CHANGES = {
    "removed": "the community is no longer in the area: the plan keeps the outline it was drawn on",
    "boundary_changed": "the community's boundary changed: reports now check the plan against the new one",
    "code_changed": "the community's code changed: the plan's grid codes still carry the old one",
}


def _affected_plans(ctx: Context, area: str, before: StudyArea | None, after: StudyArea) -> list[dict[str, Any]]:
    """The plans drawn on communities that an import removes, reshapes or recodes."""
    if before is None or not len(before.layer("communities")):
        return []
    changes = community_changes(before.layer("communities"), after.layer("communities"), metric_crs=after.metric_crs)
    if not changes:
        return []
    return [
        {
            "plan_id": p.plan_id,
            "community_fid": p.community_fid,
            "community_code": p.community_code,
            "community_name": p.community_name,
            "state": p.state,
            "adopted": p.adopted,
            "published": p.published,
            "change": changes[p.community_fid],
            "consequence": _CHANGES[changes[p.community_fid]],
        }
        for p in ctx.store.plans.list(area)
        if p.community_fid in changes
    ]


def load_package(ctx: Context, path: str | Path, *, progress: Progress | None = None) -> dict[str, Any]:
    """Load a study-area GeoPackage (the demo format), re-deriving with the rules in force."""
    t0 = time.perf_counter()
    say(progress, f"reading {Path(path).name}", 0.1)
    area = read_area_package(path)
    derived_area, derived = derive(area, ctx.rules, code_list=ctx.code_list)
    ctx.store.save_area(derived_area, log=[{"layer": "package", "source": Path(path).name, "report": {}}])
    return {
        "area": area.name,
        "summary": {**_summary(derived_area, derived), "seconds": round(time.perf_counter() - t0, 2)},
    }
