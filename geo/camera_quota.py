"""The camera quota audit: which villages fall short of the 雪亮工程 rule, by how much, and how well cameras work.

Every administrative village (社区/行政村) needs at least ``per_administrative_village`` (5)
监控点, every natural village (自然村) ``per_natural_village`` (2) (DOMAIN §4, policy; the
rules decide per class and per named village: :class:`geo.rules.CameraRules`). A camera
counts for the village whose area holds it, and for the natural village whose derived
area holds it, when it is a camera channel (GB/T 28181 device type 132 or 131, or no id),
its row had no problem that rules it out (a malformed or duplicate id, an unknown status or
category: :data:`geo.camera_inventory.NOT_COUNTED`), and its status and category are among
those the rules count (a missing one taken as the rules say, and counted as assumed).

The **working rate** of a village is its online cameras over its installed camera channels
of the counted categories whose status is known or assumed (target 98%, 二类 95%).

Examples
--------
>>> from shapely.geometry import Point, box
>>> from geo.rules import DEFAULT_RULES
>>> coms = gpd.GeoDataFrame({"fid": ["c1"], "name": ["东村"], "code12": ["330523108204"], "area_class": ["rural"]},
...                         geometry=[box(0, 0, 1000, 1000)], crs="EPSG:32650")
>>> nv = gpd.GeoDataFrame({"fid": ["a1", "a2"], "name": ["上庄", "下庄"], "village_fid": ["v1", "v2"],
...                        "community_fid": ["c1", "c1"]}, geometry=[box(0, 0, 500, 1000), box(500, 0, 1000, 1000)],
...                       crs="EPSG:32650")
>>> cams = gpd.GeoDataFrame({"status": ["online", "online", "offline", "fault"], "category": ["一类"] * 4},
...                         geometry=[Point(100, 100), Point(200, 200), Point(300, 300), Point(700, 700)],
...                         crs="EPSG:32650")
>>> audit = audit_quotas(cams, coms, nv, rules=DEFAULT_RULES.cameras)
>>> audit.villages[["level", "name", "required", "counted", "deficit", "working_rate"]].to_dict("records")
... # doctest: +NORMALIZE_WHITESPACE
[{'level': 'community', 'name': '东村', 'required': 5, 'counted': 2, 'deficit': 3, 'working_rate': 0.5},
 {'level': 'natural_village', 'name': '上庄', 'required': 2, 'counted': 2, 'deficit': 0, 'working_rate': 0.6667},
 {'level': 'natural_village', 'name': '下庄', 'required': 2, 'counted': 0, 'deficit': 2, 'working_rate': 0.0}]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.area import text
from geo.camera_inventory import NOT_COUNTED, normalise_category, normalise_status
from geo.errors import QuotaRuleError
from geo.rules import CameraRules

LEVEL_COMMUNITY, LEVEL_NATURAL = "community", "natural_village"
_COMMUNITY_PREFIXES = ("community:", "社区:", "行政村:", "社区：", "行政村：")
_NATURAL_PREFIXES = ("natural_village:", "自然村:", "自然村：")


@dataclass(frozen=True)
class CameraStates:
    """Each camera's village, natural village and standing in the audit (aligned with the cameras)."""

    community_fid: np.ndarray  # None outside every community
    village_area_fid: np.ndarray  # the natural-village area holding it, None outside every one
    village_fid: np.ndarray  # that area's natural village
    status: np.ndarray  # online / offline / fault, or None (not understood)
    category: np.ndarray
    status_assumed: np.ndarray
    category_assumed: np.ndarray
    channel: np.ndarray  # a camera channel whose row has no problem ruling it out
    counted: np.ndarray
    why_not: np.ndarray  # the first reason a camera does not count (None when it does)


def working_cameras(cameras: pd.DataFrame, *, rules: CameraRules) -> np.ndarray:
    """Which cameras see anything now: online, or with no status and the rules take a missing one as online.

    An offline or faulty camera, or one whose status cannot be read, records nothing: coverage leaves its view out.

    Examples
    --------
    >>> from geo.rules import DEFAULT_RULES
    >>> cams = pd.DataFrame({"status": ["online", "离线", "故障", None, "maybe"]})
    >>> working_cameras(cams, rules=DEFAULT_RULES.cameras).tolist()
    [True, False, False, True, False]
    """
    raw = cameras["status"].to_numpy(dtype=object) if "status" in cameras.columns else [None] * len(cameras)
    status = [normalise_status(v) if text(v) is not None else rules.missing_status_as for v in raw]
    return np.array([s == "online" for s in status], dtype=bool)


def camera_states(
    cameras: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    village_areas: gpd.GeoDataFrame,
    *,
    rules: CameraRules,
) -> CameraStates:
    """Place each camera in its village and natural village, and decide whether it counts (and why not).

    All frames in one metric CRS.
    """
    n = len(cameras)
    pts = cameras.geometry.values

    def holder(frame: gpd.GeoDataFrame, column: str) -> np.ndarray:
        out = np.full(n, None, dtype=object)
        if not len(frame) or not n:
            return out
        pi, fi = shapely.STRtree(frame.geometry.values).query(pts, predicate="intersects")
        order = np.lexsort((fi, pi))  # a point on a shared edge goes to the first village
        pi, fi = pi[order], fi[order]
        first = np.ones(len(pi), dtype=bool)
        first[1:] = pi[1:] != pi[:-1]
        out[pi[first]] = frame[column].to_numpy(dtype=object)[fi[first]]
        return out

    com = holder(communities, "fid")
    area = holder(village_areas, "fid")
    village = holder(village_areas, "village_fid") if "village_fid" in village_areas.columns else area.copy()

    def column(name: str) -> np.ndarray:
        out: np.ndarray = (
            cameras[name].to_numpy(dtype=object) if name in cameras.columns else np.full(n, None, dtype=object)
        )
        return out

    raw_status, raw_category = column("status"), column("category")
    status = np.array([normalise_status(v) for v in raw_status], dtype=object)
    category = np.array([normalise_category(v) for v in raw_category], dtype=object)
    status_given = np.array([text(v) is not None for v in raw_status], dtype=bool)
    category_given = np.array([text(v) is not None for v in raw_category], dtype=bool)
    status_assumed = ~status_given
    category_assumed = ~category_given
    status[status_assumed] = rules.missing_status_as
    category[category_assumed] = rules.missing_category_as
    problems = [set((text(p) or "").split(";")) - {""} for p in column("problems")]
    dtype = column("device_type")
    counted_types = set(rules.counted_device_types)
    why = np.full(n, None, dtype=object)
    channel = np.ones(n, dtype=bool)
    for i in range(n):
        ruled_out = sorted(problems[i] & NOT_COUNTED)
        t = text(dtype[i])
        if t is not None and t not in counted_types:
            ruled_out = [*ruled_out, "not_a_camera"] if "not_a_camera" not in ruled_out else ruled_out
        if status[i] is None and "unknown_status" not in ruled_out:
            ruled_out.append("unknown_status")
        if category[i] is None and "unknown_category" not in ruled_out:
            ruled_out.append("unknown_category")
        if ruled_out:
            channel[i] = False
            why[i] = ruled_out[0]
    for i in np.flatnonzero(channel).tolist():
        if com[i] is None:
            why[i] = "outside_villages"
        elif category[i] not in rules.counted_categories:
            why[i] = "category_not_counted"
        elif status[i] not in rules.counted_statuses:
            why[i] = str(status[i])  # offline or fault
    counted = why == None  # noqa: E711
    return CameraStates(com, area, village, status, category, status_assumed, category_assumed, channel, counted, why)


def _keys(row: pd.Series, *columns: str) -> set[str]:
    return {str(text(row.get(c))).casefold() for c in columns if text(row.get(c)) is not None}


def village_quotas(
    communities: pd.DataFrame, village_areas: pd.DataFrame, *, rules: CameraRules
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each community's and natural village's quota, and the rule that set it.

    Raises
    ------
    QuotaRuleError
        A ``per_village`` key that names no community or natural village, or names one of
        each without saying which (``community:NAME`` or ``natural_village:NAME``).
    """
    com_keys = [_keys(r, "name", "name_zh", "code12", "fid") for _, r in communities.iterrows()]
    nv_keys = [_keys(r, "name", "fid", "village_fid") for _, r in village_areas.iterrows()]
    com_quota = np.empty(len(communities), dtype=np.int64)
    com_rule: list[str] = []
    for i, (_, row) in enumerate(communities.iterrows()):
        urc, cls = text(row.get("urban_rural_code")), text(row.get("area_class")) or "rural"
        if urc is not None and urc in rules.per_class:
            com_quota[i], why = rules.per_class[urc], f"per_class {urc}"
        elif cls in rules.per_class:
            com_quota[i], why = rules.per_class[cls], f"per_class {cls}"
        elif cls == "urban":
            com_quota[i], why = rules.per_urban_community, "per_urban_community"
        else:
            com_quota[i], why = rules.per_administrative_village, "per_administrative_village"
        com_rule.append(why)
    nv_quota = np.full(len(village_areas), rules.per_natural_village, dtype=np.int64)
    nv_rule = ["per_natural_village"] * len(village_areas)
    for key, quota in rules.per_village.items():
        k = key.strip()
        level = None
        for prefixes, lv in ((_COMMUNITY_PREFIXES, LEVEL_COMMUNITY), (_NATURAL_PREFIXES, LEVEL_NATURAL)):
            for p in prefixes:
                if k.casefold().startswith(p):
                    k, level = k[len(p) :].strip(), lv
        kf = k.casefold()
        in_com = [i for i, ks in enumerate(com_keys) if kf in ks] if level != LEVEL_NATURAL else []
        in_nv = [i for i, ks in enumerate(nv_keys) if kf in ks] if level != LEVEL_COMMUNITY else []
        if in_com and in_nv:
            raise QuotaRuleError(
                f"Camera quota rule per_village {key!r} names both a community and a natural village: write "
                f"'community:{k}' or 'natural_village:{k}'",
                detail_zh=f"监控配额规则 per_village {key!r} 同时匹配行政村和自然村："
                f"请写作 '行政村:{k}' 或 '自然村:{k}'",
                key=key,
            )
        if not in_com and not in_nv:
            names = sorted({str(text(r.get("name"))) for _, r in communities.iterrows()})
            nv_names = sorted({str(text(r.get("name"))) for _, r in village_areas.iterrows()})
            raise QuotaRuleError(
                f"Camera quota rule per_village {key!r} names no village of this area (communities: "
                f"{', '.join(names)}; natural villages: {', '.join(nv_names) or 'none'})",
                detail_zh=f"监控配额规则 per_village {key!r} 在本研究区中找不到对应的村",
                key=key,
                communities=names,
                natural_villages=nv_names,
            )
        for i in in_com:
            com_quota[i], com_rule[i] = quota, f"per_village {key}"
        for i in in_nv:
            nv_quota[i], nv_rule[i] = quota, f"per_village {key}"
    return com_quota, nv_quota, com_rule + nv_rule


@dataclass(frozen=True)
class QuotaAudit:
    """The audit: one row per community and natural village, the cameras' states, and the summary."""

    villages: pd.DataFrame
    states: CameraStates
    summary: dict[str, Any]
    townships: list[dict[str, Any]]


def _rate(online: int, installed: int) -> float | None:
    return round(online / installed, 4) if installed else None


def audit_quotas(
    cameras: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    village_areas: gpd.GeoDataFrame,
    *,
    rules: CameraRules,
) -> QuotaAudit:
    """Count, per community and natural village, the cameras that count, the quota, the deficit and the working rate.

    Parameters
    ----------
    cameras, communities, village_areas
        In one metric CRS. Communities carry ``fid``, ``name`` and where known ``code12``,
        ``area_class``, ``urban_rural_code``, ``township_code``, ``households``; village areas
        ``fid``, ``name``, ``village_fid``, ``community_fid``.

    Raises
    ------
    QuotaRuleError
        A quota rule names a village the area does not have.
    """
    states = camera_states(cameras, communities, village_areas, rules=rules)
    com_quota, nv_quota, why_quota = village_quotas(communities, village_areas, rules=rules)
    counted_cat = np.isin(states.category, list(rules.counted_categories))
    installed = states.channel & counted_cat
    online = installed & (states.status == "online")
    rows: list[dict[str, Any]] = []
    com_name = dict(zip(communities["fid"], communities["name"]))

    def tally(mask: np.ndarray) -> dict[str, Any]:
        why = pd.Series(states.why_not[mask & ~states.counted]).value_counts().to_dict()
        return {
            "cameras": int(mask.sum()),
            "counted": int((mask & states.counted).sum()),
            "installed": int((mask & installed).sum()),
            "online": int((mask & online).sum()),
            "offline": int((mask & installed & (states.status == "offline")).sum()),
            "fault": int((mask & installed & (states.status == "fault")).sum()),
            "status_assumed": int((mask & states.counted & states.status_assumed).sum()),
            "not_counted": {str(k): int(v) for k, v in sorted(why.items())},
        }

    for i, (_, c) in enumerate(communities.iterrows()):
        t = tally(states.community_fid == c["fid"])
        rows.append(
            {
                "level": LEVEL_COMMUNITY,
                "fid": c["fid"],
                "code": text(c.get("code12")),
                "name": text(c.get("name")),
                "community_fid": c["fid"],
                "community": text(c.get("name")),
                "township_code": text(c.get("township_code")),
                "area_class": text(c.get("area_class")),
                "households": int(c["households"]) if pd.notna(c.get("households")) else None,
                "required": int(com_quota[i]),
                "quota_rule": why_quota[i],
                **t,
            }
        )
    for j, (_, v) in enumerate(village_areas.iterrows()):
        t = tally(states.village_area_fid == v["fid"])
        rows.append(
            {
                "level": LEVEL_NATURAL,
                "fid": v["fid"],
                "code": None,
                "name": text(v.get("name")),
                "community_fid": v.get("community_fid"),
                "community": text(com_name.get(v.get("community_fid"))),
                "township_code": None,
                "area_class": None,
                "households": int(v["households"]) if pd.notna(v.get("households")) else None,
                "required": int(nv_quota[j]),
                "quota_rule": why_quota[len(communities) + j],
                **t,
            }
        )
    villages = pd.DataFrame(rows)
    if not len(villages):
        villages = pd.DataFrame(columns=["level", "fid", "name", "required", "counted", "deficit", "working_rate"])
    villages["deficit"] = (villages["required"] - villages["counted"]).clip(lower=0).astype(int)
    villages["working_rate"] = [_rate(o, n) for o, n in zip(villages["online"], villages["installed"])]
    target = rules.working_rate_target
    villages["working_rate_met"] = [None if r is None else bool(r >= target) for r in villages["working_rate"]]
    township = {c["fid"]: text(c.get("township_code")) for _, c in communities.iterrows()}
    villages.loc[villages["level"] == LEVEL_NATURAL, "township_code"] = villages["community_fid"].map(township)
    com = villages[villages["level"] == LEVEL_COMMUNITY]
    nv = villages[villages["level"] == LEVEL_NATURAL]
    # The fewest new cameras that meet every deficit: a camera in a natural village counts for it and its community.
    nv_need = nv.groupby("community_fid")["deficit"].sum()
    need = int(sum(max(int(d), int(nv_need.get(f, 0))) for f, d in zip(com["fid"], com["deficit"])))
    all_installed, all_online = int(installed.sum()), int(online.sum())
    per_category = {}
    for cat in ("一类", "二类", "三类"):
        m = installed & (states.category == cat)
        goal = rules.working_rate_target_key_industries if cat == "二类" else target
        rate = _rate(int((m & online).sum()), int(m.sum()))
        per_category[cat] = {
            "installed": int(m.sum()),
            "online": int((m & online).sum()),
            "working_rate": rate,
            "target": goal,
            "met": None if rate is None else rate >= goal,
        }
    rate = _rate(all_online, all_installed)
    not_counted = pd.Series(states.why_not[~states.counted]).value_counts().to_dict()
    summary = {
        "communities": int(len(com)),
        "communities_short": int((com["deficit"] > 0).sum()),
        "natural_villages": int(len(nv)),
        "natural_villages_short": int((nv["deficit"] > 0).sum()),
        "cameras": int(len(cameras)),
        "cameras_counted": int(states.counted.sum()),
        "cameras_installed": all_installed,
        "cameras_online": all_online,
        "working_rate": rate,
        "working_rate_target": target,
        "working_rate_met": None if rate is None else rate >= target,
        "community_deficit": int(com["deficit"].sum()),
        "natural_village_deficit": int(nv["deficit"].sum()),
        "new_cameras_needed": need,
        "cameras_outside_villages": int((states.why_not == "outside_villages").sum()),
        "status_assumed": int((states.counted & states.status_assumed).sum()),
        "category_assumed": int((states.counted & states.category_assumed).sum()),
        "cameras_not_counted": {str(k): int(v) for k, v in sorted(not_counted.items())},
        "working_rate_by_category": per_category,
    }
    townships = []
    for code, group in com.groupby(com["township_code"].fillna(""), sort=True):
        mask = np.isin(states.community_fid, group["fid"].to_list())
        t_nv = nv[nv["community_fid"].isin(group["fid"])]
        townships.append(
            {
                "township_code": code or None,
                "communities": int(len(group)),
                "communities_short": int((group["deficit"] > 0).sum()),
                "natural_villages": int(len(t_nv)),
                "natural_villages_short": int((t_nv["deficit"] > 0).sum()),
                "cameras_counted": int((mask & states.counted).sum()),
                "community_deficit": int(group["deficit"].sum()),
                "natural_village_deficit": int(t_nv["deficit"].sum()),
                "working_rate": _rate(int((mask & online).sum()), int((mask & installed).sum())),
            }
        )
    return QuotaAudit(villages=villages, states=states, summary=summary, townships=townships)
