"""Household estimates from building footprints, calibrated on tagged populations.

No household counts exist in open data, so we model them (DOMAIN §9):

1. **Residential filter**: a building whose type is residential, or a plain
   ``building=yes`` inside a footprint range with no other use tagged.
2. **Levels**: the tagged ``building:levels``; else the median of tagged
   residential buildings nearby; else the class default (2 rural, 4 urban).
3. **Raw estimate**: footprint x levels / floor area per household.
4. **Calibration**: a factor per community class (urban/rural), fitted to
   the tagged populations whose territory we know (``population / persons
   per household``), applied to every estimated building of that class; a
   class with no tagged population takes the factor pooled over all. User counts (``households_source ==
   "given"``) are never scaled, and are subtracted from the tagged totals first.

Which tagged populations are used, and how (:func:`calibration_units`):

* an admin polygon with a ``population`` (the study-area boundary, a community)
  stands for the buildings inside it;
* a place named like the community it lies in is that community's main place:
  OSM's convention is to tag it with the municipality's population;
* a place whose population equals that of an admin unit containing it is the
  same figure twice (Monaco's city node and commune): skipped;
* a tagged place inside a community that already has a unit is included in
  that unit's figure (Eschen with Nendeln): counted once, skipped;
* any other natural village stands for its natural-village area
  (:func:`geo.natural_villages.village_areas`);
* a unit nested inside another unit is **held out**: the fit uses only the
  outermost units, so no building is counted twice; the held-out units test it.

Every fitted unit is also tested leave-one-out: calibrated on the others, how
far off is it? Those errors are reported with the estimates and stated, for the
demo data, in ``data/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.rules import HouseholdRules, Rules


def residential_mask(buildings: gpd.GeoDataFrame, footprint_m2: pd.Series, rules: HouseholdRules) -> pd.Series:
    """Tell which buildings house people.

    Parameters
    ----------
    buildings
        With ``building`` (OSM type; empty means ``yes``) and ``other_use``
        (tags of other uses, e.g. ``shop=bakery``; empty when none).
    footprint_m2
        Footprint area on the same index, in square metres.

    Returns
    -------
    Series of bool on the buildings' index.
    """
    btype = buildings["building"].fillna(rules.generic_type).astype(str).str.strip().str.lower()
    other = buildings["other_use"].fillna("").astype(str).str.len() > 0
    generic = (
        (btype == rules.generic_type)
        & footprint_m2.between(rules.generic_min_footprint_m2, rules.generic_max_footprint_m2)
        & ~other
    )
    return (btype.isin(rules.residential_types) | generic).rename("residential")


def estimate_levels(
    buildings_metric: gpd.GeoDataFrame,
    residential: pd.Series,
    area_class: pd.Series,
    rules: Rules,
) -> pd.DataFrame:
    """Give every building a number of storeys and say where it came from.

    Parameters
    ----------
    buildings_metric
        Buildings in a metric CRS, with ``levels_tagged`` (numeric or empty).
    residential
        Output of :func:`residential_mask`; only residential buildings lend
        their levels to neighbours (a church tower says nothing of houses).
    area_class
        ``urban`` or ``rural`` per building (its community's class).

    Returns
    -------
    DataFrame with ``levels`` (float) and ``levels_source`` (``tagged``,
    ``nearby`` or ``default``) on the buildings' index.
    """
    h = rules.households
    tagged = pd.to_numeric(buildings_metric["levels_tagged"], errors="coerce")
    tagged = tagged.where(tagged > 0)
    levels = tagged.copy()
    source = pd.Series(None, index=buildings_metric.index, dtype=object).mask(tagged.notna(), "tagged")
    points = shapely.points(shapely.get_coordinates(buildings_metric.geometry.representative_point()))
    donors = np.flatnonzero((tagged.notna() & residential).to_numpy())
    targets = np.flatnonzero(tagged.isna().to_numpy())
    if len(donors) and len(targets) and h.nearby_levels_radius_m > 0:
        tree = shapely.STRtree(points[donors])
        t_idx, d_idx = tree.query(points[targets], predicate="dwithin", distance=h.nearby_levels_radius_m)
        if len(t_idx):
            pairs = pd.DataFrame({"t": targets[t_idx], "lv": tagged.to_numpy()[donors[d_idx]]})
            grouped = pairs.groupby("t")["lv"].agg(["median", "size"])
            grouped = grouped[grouped["size"] >= h.nearby_levels_min_count]
            pos = grouped.index.to_numpy()
            levels.iloc[pos] = grouped["median"].to_numpy()
            source.iloc[pos] = "nearby"
    missing = levels.isna()
    defaults = area_class.map({"urban": h.default_levels_urban}).fillna(h.default_levels_rural)
    levels[missing] = defaults[missing]
    source[missing] = "default"
    return pd.DataFrame({"levels": levels.astype(float), "levels_source": source})


def raw_households(
    footprint_m2: pd.Series, levels: pd.Series, residential: pd.Series, rules: HouseholdRules
) -> pd.Series:
    """Return uncalibrated households: footprint x levels / floor area per household (0 if not residential)."""
    raw = footprint_m2 * levels / rules.floor_area_per_household_m2
    return raw.where(residential, 0.0).astype(float)


@dataclass(frozen=True)
class Calibration:
    """The fitted factor and how well it predicts populations it did not see.

    Attributes
    ----------
    factor
        The pooled factor over all fitted units (1.0 when nothing could be fitted).
    class_factors
        Per community class (``urban``/``rural``): the factor its buildings get.
    units
        One row per tagged population considered: ``name``, ``kind``
        (``boundary``/``community``/``natural_village``), ``role`` (``fit``,
        ``held_out`` or ``skipped``), ``reason``, ``population`` (tagged),
        ``estimated_population`` (with the final factor) and ``loo_error``
        (relative error when left out of the fit; None when it cannot be
        computed, e.g. a single fitted unit).
    """

    factor: float
    units: pd.DataFrame
    class_factors: dict[str, float] = field(default_factory=dict)

    def factor_for(self, area_class: str) -> float:
        """The factor applied to buildings of a class (the pooled one when the class has none)."""
        return self.class_factors.get(area_class, self.factor)

    @property
    def calibrated(self) -> bool:
        """True when at least one tagged population was fitted."""
        return bool((self.units["role"] == "fit").any()) if len(self.units) else False

    def report(self, rules: HouseholdRules) -> dict[str, Any]:
        """Return a JSON-serialisable summary (stored with the study area)."""
        errs = self.units["loo_error"].dropna().abs() if len(self.units) else pd.Series(dtype=float)
        units = self.units.replace({np.nan: None}).to_dict(orient="records") if len(self.units) else []
        return {
            "calibrated": self.calibrated,
            "factor": round(self.factor, 6),
            "class_factors": self.class_factors,
            "effective_floor_area_per_household_m2": round(rules.floor_area_per_household_m2 / self.factor, 1)
            if self.factor > 0
            else None,
            "persons_per_household": rules.persons_per_household,
            "units": units,
            "loo_median_abs_error": None if errs.empty else round(float(errs.median()), 4),
            "loo_max_abs_error": None if errs.empty else round(float(errs.max()), 4),
        }


# Place kinds larger than any community: their figures cannot be tied to our buildings.
_NO_TERRITORY = frozenset({"country", "state", "region", "province", "county", "district", "municipality"})


def _norm(name: object) -> str:
    return "" if name is None or (isinstance(name, float) and np.isnan(name)) else str(name).strip().casefold()


def calibration_units(
    *,
    buildings: pd.DataFrame,
    boundary: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    natural_village_kinds: tuple[str, ...],
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Find the tagged populations whose territory we know (see the module notes).

    Parameters
    ----------
    buildings
        With ``community_fid`` and ``natural_village_fid``.
    boundary, communities, places
        Layers with ``population`` where tagged; ``places`` need ``community_fid``.

    Returns
    -------
    units, members
        ``units``: dicts with ``key``, ``name``, ``kind``, ``population``,
        ``parent`` (the key of the unit containing it, if any), ``role`` and
        ``reason``; ``members``: unit key -> boolean mask over the buildings.
    """
    units: list[dict[str, Any]] = []
    members: dict[str, np.ndarray] = {}
    admin_pops: list[tuple[str, float, Any]] = []  # (key, population, geometry)

    for _, row in boundary.iterrows():
        pop = pd.to_numeric(row.get("population"), errors="coerce")
        if pd.notna(pop) and pop > 0:
            key = f"boundary:{row['fid']}"
            units.append(
                {
                    "key": key,
                    "name": row.get("name"),
                    "kind": "boundary",
                    "population": float(pop),
                    "parent": None,
                    "role": "fit",
                    "reason": "tagged admin population",
                }
            )
            members[key] = buildings["community_fid"].notna().to_numpy()
            admin_pops.append((key, float(pop), row.geometry))
    top = units[0]["key"] if units else None

    community_unit: dict[str, str] = {}
    for _, row in communities.iterrows():
        pop = pd.to_numeric(row.get("population"), errors="coerce")
        if pd.notna(pop) and pop > 0:
            key = f"community:{row['fid']}"
            units.append(
                {
                    "key": key,
                    "name": row.get("name"),
                    "kind": "community",
                    "population": float(pop),
                    "parent": top,
                    "role": "fit",
                    "reason": "tagged admin population",
                }
            )
            members[key] = (buildings["community_fid"] == row["fid"]).to_numpy()
            community_unit[row["fid"]] = key
            admin_pops.append((key, float(pop), row.geometry))

    names = {r["fid"]: (_norm(r.get("name")), _norm(r.get("name_zh"))) for _, r in communities.iterrows()}
    tagged_places = places[pd.to_numeric(places["population"], errors="coerce") > 0] if len(places) else places
    # Main places first, so that a village inside a community with a main place is known to be contained.
    ordered = sorted(
        tagged_places.itertuples(index=False),
        key=lambda p: (_norm(p.name) not in names.get(p.community_fid, ("", "")), -float(p.population)),
    )
    for p in ordered:
        pop = float(p.population)
        base = {"name": p.name, "population": pop}
        dup = next((k for k, v, g in admin_pops if abs(v - pop) < 0.5 and g is not None and g.covers(p.geometry)), None)
        if dup is not None:
            units.append(
                {
                    **base,
                    "key": f"place:{p.fid}",
                    "kind": "place",
                    "parent": dup,
                    "role": "skipped",
                    "reason": f"same figure as {dup} (counted once)",
                }
            )
            continue
        if p.place in _NO_TERRITORY:
            units.append(
                {
                    **base,
                    "key": f"place:{p.fid}",
                    "kind": "place",
                    "parent": None,
                    "role": "skipped",
                    "reason": f"a place of kind {p.place} has no territory here",
                }
            )
            continue
        cfid = p.community_fid
        if cfid is None or (isinstance(cfid, float) and np.isnan(cfid)):
            units.append(
                {
                    **base,
                    "key": f"place:{p.fid}",
                    "kind": "place",
                    "parent": None,
                    "role": "skipped",
                    "reason": "outside every community",
                }
            )
            continue
        if _norm(p.name) in names.get(cfid, ()) and _norm(p.name):
            if cfid in community_unit:
                units.append(
                    {
                        **base,
                        "key": f"place:{p.fid}",
                        "kind": "place",
                        "parent": community_unit[cfid],
                        "role": "skipped",
                        "reason": "the community's own tag is used (counted once)",
                    }
                )
                continue
            key = f"community:{cfid}"
            units.append(
                {
                    **base,
                    "key": key,
                    "kind": "community",
                    "parent": top,
                    "role": "fit",
                    "reason": "main place of its community",
                }
            )
            members[key] = (buildings["community_fid"] == cfid).to_numpy()
            community_unit[cfid] = key
            continue
        if cfid in community_unit:
            units.append(
                {
                    **base,
                    "key": f"place:{p.fid}",
                    "kind": "place",
                    "parent": community_unit[cfid],
                    "role": "skipped",
                    "reason": f"included in {community_unit[cfid]} (counted once)",
                }
            )
            continue
        if p.place in natural_village_kinds:
            key = f"natural_village:{p.fid}"
            units.append(
                {
                    **base,
                    "key": key,
                    "kind": "natural_village",
                    "parent": top,
                    "role": "fit",
                    "reason": "natural-village area",
                }
            )
            members[key] = (buildings["natural_village_fid"] == p.fid).to_numpy()
            continue
        units.append(
            {
                **base,
                "key": f"place:{p.fid}",
                "kind": "place",
                "parent": None,
                "role": "skipped",
                "reason": f"no territory for a place of kind {p.place}",
            }
        )
    for u in units:
        # A figure whose territory holds no building would drive the factor up for nothing: leave it out.
        if u["role"] == "fit" and u["key"] in members and not members[u["key"]].any():
            u["role"] = "skipped"
            u["reason"] += "; no building in its territory"
    for u in units:
        if (
            u["role"] == "fit"
            and u["parent"] is not None
            and any(v["key"] == u["parent"] and v["role"] == "fit" for v in units)
        ):
            u["role"] = "held_out"
            u["reason"] += "; nested in " + u["parent"] + ", so held out of the fit"
    return units, members


def fit_calibration(
    units: list[dict[str, Any]],
    members: dict[str, np.ndarray],
    *,
    raw: np.ndarray,
    given: np.ndarray,
    building_class: np.ndarray,
    rules: HouseholdRules,
) -> Calibration:
    """Fit factors to the ``fit`` units and test them on every unit left out.

    A factor is a ratio of sums over fitted units,
    ``(sum(population) / persons_per_household - sum(given)) / sum(raw)``,
    so large units weigh by their size. With ``per_class_calibration`` each
    community class (urban/rural) gets the factor of the fitted units of its
    class, because the class's default storeys (4 or 2) are the estimate's
    largest assumption; a class with no fitted unit takes the pooled factor.
    A unit's leave-one-out error is that of the same method applied without it.
    """
    pph = rules.persons_per_household
    classes = sorted({str(c) for c in building_class})
    stats: dict[str, tuple[dict[str, float], float]] = {}
    for k, m in members.items():
        by_class = {c: float(raw[m & (building_class == c)].sum()) for c in classes}
        stats[k] = (by_class, float(given[m].sum()))
    unit_class: dict[str, str | None] = {}
    for u in units:
        if u["key"] in stats:
            nonzero = [c for c, v in stats[u["key"]][0].items() if v > 0]
            unit_class[u["key"]] = nonzero[0] if len(nonzero) == 1 and u["kind"] != "boundary" else None

    def ratio(keys: list[str]) -> float | None:
        r = sum(sum(stats[k][0].values()) for k in keys)
        target = sum(u["population"] / pph - stats[u["key"]][1] for u in units if u["key"] in keys)
        return target / r if r > 0 and target > 0 else None

    def factors(keys: list[str]) -> tuple[float | None, dict[str, float]]:
        pooled = ratio(keys)
        out: dict[str, float] = {}
        for c in classes:
            mine = [k for k in keys if unit_class.get(k) == c] if rules.per_class_calibration else []
            f = ratio(mine) if mine else None
            if f is None:
                f = pooled
            if f is not None:
                out[c] = f
        return pooled, out

    def predict(key: str, fs: dict[str, float]) -> float | None:
        by_class, g = stats[key]
        if any(v > 0 and c not in fs for c, v in by_class.items()):
            return None
        return (sum(v * fs.get(c, 0.0) for c, v in by_class.items()) + g) * pph

    fit_keys = [u["key"] for u in units if u["role"] == "fit"]
    pooled, final = factors(fit_keys) if rules.calibrate and fit_keys else (None, {})
    rows = []
    for u in units:
        row = {kk: u[kk] for kk in ("name", "kind", "role", "reason", "population")}
        row["area_class"] = unit_class.get(u["key"])
        row["estimated_population"] = None
        row["loo_error"] = None
        if u["key"] in stats:
            est = predict(u["key"], final if pooled is not None else {c: 1.0 for c in classes})
            row["estimated_population"] = None if est is None else round(est, 1)
            if pooled is not None:
                others = [x for x in fit_keys if x != u["key"]]
                _, fs_wo = factors(others) if others else (None, {})
                pred = predict(u["key"], fs_wo) if fs_wo else None
                if pred is not None:
                    row["loo_error"] = round((pred - u["population"]) / u["population"], 4)
        if pooled is None and u["role"] == "fit":
            row["role"] = "unused"
            row["reason"] += "; calibration off" if not rules.calibrate else "; nothing to fit"
        rows.append(row)
    frame = pd.DataFrame(
        rows,
        columns=["name", "kind", "area_class", "role", "reason", "population", "estimated_population", "loo_error"],
    )
    return Calibration(
        factor=1.0 if pooled is None else pooled,
        units=frame,
        class_factors={c: round(f, 6) for c, f in final.items()} if pooled is not None else {},
    )


def whole_households(estimate: pd.Series, groups: pd.Series) -> pd.Series:
    """Round estimates to whole households, once, so every total is the sum of what is shown.

    A household is a whole thing, and a total rounded on each page disagreed with the sum of rows rounded on
    another (14,224 on one page, 14,225 on the next). Each building gets the floor of its estimate, and in
    each group (a community) the buildings with the largest remainders get one more until the group's total
    is its rounded sum (the largest-remainder method), so no group's total drifts and any sum of buildings —
    a grid, a village, a community, the area — is exact.

    Examples
    --------
    >>> whole_households(pd.Series([0.4, 0.4, 0.4, 2.6]), pd.Series(["a", "a", "a", "b"])).tolist()
    [1.0, 0.0, 0.0, 3.0]
    """
    values = estimate.fillna(0.0).clip(lower=0.0).to_numpy(dtype=float)
    base = np.floor(values)
    remainder = values - base
    key = groups.astype(object).where(groups.notna(), "__outside__").astype(str).to_numpy()
    frame = pd.DataFrame({"g": key, "r": remainder, "v": values, "pos": np.arange(len(values))})
    need = (frame.groupby("g")["v"].sum().round() - pd.Series(base).groupby(key).sum()).astype(int)
    # the largest remainders first; ties by position, so the same buildings always round up
    frame = frame.sort_values(["g", "r", "pos"], ascending=[True, False, True], kind="stable")
    rank = frame.groupby("g").cumcount().to_numpy()
    up = rank < frame["g"].map(need).to_numpy()
    out = base.copy()
    out[frame["pos"].to_numpy()[up]] += 1.0
    return pd.Series(out, index=estimate.index)


def estimate_households(
    buildings_metric: gpd.GeoDataFrame,
    *,
    area_class: pd.Series,
    boundary: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    rules: Rules,
) -> tuple[pd.DataFrame, Calibration]:
    """Estimate households for every building not given a count, calibrated on tagged populations.

    Parameters
    ----------
    buildings_metric
        Buildings in the area's metric CRS, with ``building``, ``other_use``,
        ``levels_tagged``, ``households``, ``households_source``,
        ``community_fid`` and ``natural_village_fid``.
    area_class
        ``urban``/``rural`` per building.
    boundary, communities, places
        For the tagged populations (any CRS; only topology is used).

    Returns
    -------
    columns, calibration
        ``columns`` on the buildings' index: ``footprint_m2``, ``residential``,
        ``levels``, ``levels_source``, ``households`` (whole households, see
        :func:`whole_households`) and ``households_source`` (``given`` kept as
        it was, else ``estimated``).
    """
    h = rules.households
    footprint = buildings_metric.geometry.area.round(1)
    residential = residential_mask(buildings_metric, footprint, h)
    lv = estimate_levels(buildings_metric, residential, area_class, rules)
    raw = raw_households(footprint, lv["levels"], residential, h)
    given_mask = buildings_metric["households_source"].eq("given") & buildings_metric["households"].notna()
    given = pd.to_numeric(buildings_metric["households"], errors="coerce").where(given_mask, 0.0).fillna(0.0)
    raw_est = raw.where(~given_mask, 0.0)
    crs = buildings_metric.crs
    units, members = calibration_units(
        buildings=buildings_metric,
        boundary=boundary.to_crs(crs),
        communities=communities.to_crs(crs),
        places=places.to_crs(crs),
        natural_village_kinds=rules.natural_villages.place_kinds,
    )
    cls = area_class.astype(str).to_numpy()
    cal = fit_calibration(units, members, raw=raw_est.to_numpy(), given=given.to_numpy(), building_class=cls, rules=h)
    factor = pd.Series([cal.factor_for(c) for c in cls], index=buildings_metric.index)
    estimate = whole_households(raw_est * factor, buildings_metric["community_fid"])
    households = estimate.where(~given_mask, given)
    out = pd.DataFrame(
        {
            "footprint_m2": footprint,
            "residential": residential,
            "levels": lv["levels"],
            "levels_source": lv["levels_source"],
            "households": households,
            "households_source": np.where(given_mask, "given", "estimated"),
        },
        index=buildings_metric.index,
    )
    return out, cal
