"""Duty points: the places police response starts from, their kinds and their readiness.

Four kinds (DOMAIN §1): ``police_station`` 派出所, ``police_post`` 警务室,
``patrol_point`` 巡逻点 and ``governance_centre`` 综治中心. OpenStreetMap's police
POIs arrive as ``police_station``; a county's list names its kinds in Chinese or
English, read by :func:`normalise_duty_kind`.

**Readiness** is the time a duty point needs before anyone can leave it: the
rules give one per kind (``response.readiness_s``); a point's own
``readiness_min`` (a column of an imported list: 准备时间, 出警准备) wins.

Examples
--------
>>> [normalise_duty_kind(k) for k in ("派出所", "警务室", "Patrol point", "综治中心", "police", None)]
['police_station', 'police_post', 'patrol_point', 'governance_centre', 'police_station', 'police_station']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.rules import DEFAULT_RULES, Rules

DUTY_KINDS: dict[str, str] = {
    "police_station": "派出所",
    "police_post": "警务室",
    "patrol_point": "巡逻点",
    "governance_centre": "综治中心",
}

_KIND_ALIASES: dict[str, str] = {
    "police_station": "police_station",
    "police": "police_station",
    "station": "police_station",
    "派出所": "police_station",
    "公安派出所": "police_station",
    "police_post": "police_post",
    "post": "police_post",
    "police_box": "police_post",
    "警务室": "police_post",
    "警务站": "police_post",
    "社区警务室": "police_post",
    "patrol_point": "patrol_point",
    "patrol": "patrol_point",
    "巡逻点": "patrol_point",
    "巡逻岗": "patrol_point",
    "快警平台": "patrol_point",
    "governance_centre": "governance_centre",
    "governance_center": "governance_centre",
    "综治中心": "governance_centre",
    "综治维稳中心": "governance_centre",
}

# Headers a county's list may give a point's readiness in (minutes).
READINESS_COLUMNS = ("readiness_min", "准备时间", "出警准备", "出警准备时间", "readiness")


def normalise_duty_kind(value: object) -> str | None:
    """Read a duty point's kind: one of :data:`DUTY_KINDS`, ``police_station`` when empty, None when unknown.

    Case, spaces, hyphens and underscores do not matter (``Patrol point`` is ``patrol_point``).
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
        return "police_station"
    key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    return _KIND_ALIASES.get(key)


def readiness_s(duty_points: pd.DataFrame, rules: Rules = DEFAULT_RULES) -> np.ndarray:
    """Each duty point's readiness in seconds: its own ``readiness_min`` where given, else its kind's in the rules.

    Examples
    --------
    >>> from geo.rules import rules_from_dict
    >>> r = rules_from_dict({"response": {"readiness_s": {"police_station": 60.0, "patrol_point": 0.0}}})
    >>> frame = pd.DataFrame({"kind": ["police_station", "patrol_point", "police_station"],
    ...                       "readiness_min": [None, None, 0.5]})
    >>> readiness_s(frame, r).tolist()
    [60.0, 0.0, 30.0]
    """
    by_kind = rules.response.readiness_s
    kinds = duty_points["kind"] if "kind" in duty_points.columns else pd.Series([None] * len(duty_points))
    out = np.array([float(by_kind.get(normalise_duty_kind(k) or "", 0.0)) for k in kinds], dtype=float)
    if "readiness_min" in duty_points.columns:
        own = pd.to_numeric(duty_points["readiness_min"], errors="coerce").to_numpy(dtype=float)
        given = np.isfinite(own) & (own >= 0)
        out[given] = own[given] * 60.0
    return out
