"""Norms and quotas: the national defaults, laid over by a county's rules file.

Every number the product enforces lives here, never as a constant in code
(``DOMAIN.md``: "every number is a default in the rules file"). A county writes
only what it changes, in TOML::

    [grid]
    urban_band = [250, 450]

    [cameras]
    per_administrative_village = 8

:func:`load_rules` lays such a file over :data:`DEFAULT_RULES` and validates
the result: an unknown key or a wrong type is a :class:`~geo.errors.RulesError`
naming the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from geo.errors import RulesError


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HouseholdRules(_Section):
    """How households are estimated from building footprints (DOMAIN §9, assumptions)."""

    residential_types: tuple[str, ...] = (
        "house",
        "detached",
        "semidetached_house",
        "terrace",
        "residential",
        "apartments",
        "bungalow",
        "farm",
        "dormitory",
    )
    # A plain building=yes counts as residential only inside this footprint range
    # and when no other use is tagged: smaller ones are sheds, larger ones halls.
    generic_type: str = "yes"
    generic_min_footprint_m2: float = 30.0
    generic_max_footprint_m2: float = 1500.0
    other_use_tags: tuple[str, ...] = (
        "amenity",
        "shop",
        "office",
        "craft",
        "tourism",
        "industrial",
        "healthcare",
        "leisure",
    )
    floor_area_per_household_m2: float = Field(100.0, gt=0)
    persons_per_household: float = Field(2.62, gt=0)
    default_levels_urban: float = Field(4.0, gt=0)
    default_levels_rural: float = Field(2.0, gt=0)
    # Untagged buildings take the median levels of tagged residential buildings
    # within this distance; beyond it the class default applies.
    nearby_levels_radius_m: float = Field(150.0, ge=0)
    nearby_levels_min_count: int = Field(1, ge=1)
    calibrate: bool = True
    # One factor per community class (urban/rural) when the class has tagged
    # populations: the class's default storeys are the estimate's largest assumption.
    per_class_calibration: bool = True


class ClassificationRules(_Section):
    """Urban/rural class of a community (DOMAIN §2).

    The 3-digit 城乡分类代码 decides when known (1xx urban, 2xx rural). Without it
    a density rule decides, measured on settled land only (the community's land
    within ``settled_buffer_m`` of a residential building): urban when the
    building coverage of settled land reaches ``urban_min_building_coverage``
    (no storeys needed), or its floor-area ratio reaches
    ``urban_min_floor_area_ratio`` (storeys tagged or learned from tagged
    buildings nearby, else ``assumed_levels``). Calibrated on the demo data:
    Monaco's quartiers measure coverage 0.12-0.42 and floor-area ratio
    0.55-5.4, Liechtenstein's villages 0.04-0.11 and 0.07-0.23.
    """

    settled_buffer_m: float = Field(100.0, gt=0)
    assumed_levels: float = Field(2.0, gt=0)
    urban_min_floor_area_ratio: float = Field(0.4, gt=0)
    urban_min_building_coverage: float = Field(0.2, gt=0, le=1)


class GridRules(_Section):
    """Grid drawing norms (DOMAIN §2)."""

    urban_band: tuple[int, int] = (300, 500)
    urban_target: int = 400
    rural_band: tuple[int, int] = (100, 500)
    tiling_tolerance_m2: float = 1.0
    street_tolerance_m: float = 5.0
    street_classes: tuple[str, ...] = (
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "unclassified",
        "residential",
        "living_street",
        "pedestrian",
        "motorway_link",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
    )
    rural_target: int = 300
    # Paths, service roads and waterways cut blocks "always" (the partition then prefers streets by cost),
    # or only "when_needed": inside a street block holding more households than the band's ceiling.
    cut_secondary_lines: Literal["always", "when_needed"] = "always"
    # Blocks: faces smaller or thinner than this are slivers, merged into a neighbour.
    min_block_area_m2: float = Field(100.0, ge=0)
    min_block_width_m: float = Field(3.0, ge=0)
    # Cost of a metre of grid boundary: on a street 1, on a path, service road or
    # waterway this much, between buildings (on no mapped line) this much.
    boundary_weight_secondary: float = Field(2.5, ge=1)
    boundary_weight_off_street: float = Field(4.0, ge=1)
    waterway_classes: tuple[str, ...] = ("river", "stream", "canal", "drain", "ditch")
    # Partition limits: deterministic (counts, never seconds), so a plan is reproducible anywhere.
    seed: int = 0
    heuristic_restarts: int = Field(8, ge=1)
    heuristic_trees_per_split: int = Field(12, ge=1)
    recombination_rounds: int = Field(40, ge=0)
    exact_max_blocks: int = Field(40, ge=0)
    exact_max_grids: int = Field(3, ge=0)
    exact_node_limit: int = Field(200, ge=0)

    @model_validator(mode="after")
    def _bands_ordered(self) -> GridRules:
        for name in ("urban_band", "rural_band"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must be [min, max] with 0 < min <= max, got [{lo}, {hi}]")
        return self


class NaturalVillageRules(_Section):
    """Which OSM ``place=*`` kinds are natural villages (DOMAIN §9)."""

    place_kinds: tuple[str, ...] = ("town", "village", "hamlet")


class CameraRules(_Section):
    """Surveillance points (监控点): quotas, what counts, camera models, coverage and siting (DOMAIN §4).

    The 5 per administrative village and 2 per natural village are policy; the rest are practice or
    assumptions. Quotas are decided, most specific first: ``per_village`` (a community's or natural
    village's name, 12-digit code or fid; a name no village has is an error when the audit runs), then
    ``per_class`` (``urban``, ``rural`` or a 3-digit 城乡分类代码 such as ``121``; any other key is refused
    here), then ``per_urban_community`` / ``per_administrative_village`` and ``per_natural_village``.
    """

    per_administrative_village: int = Field(5, ge=0)
    per_urban_community: int = Field(5, ge=0)
    per_natural_village: int = Field(2, ge=0)
    per_class: dict[str, int] = Field(default_factory=dict)
    per_village: dict[str, int] = Field(default_factory=dict)
    # GB/T 28181 device types (digits 11-13) that are camera channels: 132 IPC, 131 other camera (not 111 DVR,
    # 118 NVR). A camera whose inventory gives no 20-digit id is counted by its other fields.
    counted_device_types: tuple[str, ...] = ("132", "131")
    # Which cameras count toward a quota: networked and working (practice), of these categories.
    counted_statuses: tuple[str, ...] = ("online",)
    counted_categories: tuple[str, ...] = ("一类", "二类", "三类")
    # What a camera whose inventory gives no status or category is taken as (an OSM camera has neither); the
    # audit says how many were assumed. An unrecognised value is never assumed: it is reported and not counted.
    missing_status_as: str = "online"
    missing_category_as: str = "一类"
    working_rate_target: float = Field(0.98, gt=0, le=1)
    working_rate_target_key_industries: float = Field(0.95, gt=0, le=1)  # 二类 (key industries)
    # Poles of new cameras at least this far apart, where possible (a soft rule).
    min_spacing_m: float = Field(300.0, ge=0)
    # Camera models (vendor rules of thumb, assumptions): a bullet (or fixed dome) is a sector, a PTZ dome a disc.
    bullet_fov_deg: float = Field(80.0, gt=0, le=360)
    bullet_range_m: float = Field(30.0, gt=0)
    ptz_range_m: float = Field(50.0, gt=0)
    panoramic_range_m: float = Field(10.0, gt=0)
    # Lens focal length (mm) -> (horizontal field of view in degrees, useful range in metres).
    lens_mm: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {"2.8": (100.0, 5.0), "4": (80.0, 12.0), "6": (50.0, 18.0), "8": (40.0, 24.0)}
    )
    # Mount heights when the inventory gives none, and building heights for line of sight: a building hides the
    # ground behind it from a camera mounted lower than its roof, and only a stretch of it from one mounted
    # higher (storeys x storey height + roof).
    mount_height_m: float = Field(4.0, gt=0)
    ptz_mount_height_m: float = Field(6.0, gt=0)
    storey_height_m: float = Field(3.0, gt=0)
    roof_height_m: float = Field(1.5, ge=0)
    # Coverage counts these streets (default: the streets people live on, as patrols: no tracks, paths, footways
    # or motorways); households count when their building's entrance point on the walking network is seen.
    street_classes: tuple[str, ...] = (
        "residential",
        "living_street",
        "pedestrian",
        "unclassified",
        "tertiary",
        "secondary",
        "primary",
        "trunk",
        "tertiary_link",
        "secondary_link",
        "primary_link",
        "trunk_link",
        "service",
    )
    # Siting: junctions on these classes are "main road" junctions (proposed before other junctions), key places
    # of these categories are candidates, and an entrance candidate stands this far inside its village.
    main_road_classes: tuple[str, ...] = (
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
    )
    key_place_categories: tuple[str, ...] = (
        "school",
        "kindergarten",
        "clinic",
        "hospital",
        "market",
        "townhall",
        "community_centre",
    )
    entrance_inset_m: float = Field(10.0, ge=0)
    # A proposed camera is a bullet of the default model, aimed along the best of this many bearings.
    proposal_bearings: int = Field(8, ge=1, le=72)
    # The siting objective after quotas and spacing: households newly seen, plus street newly seen at this many
    # metres to a household (assumption).
    street_m_per_household: float = Field(20.0, gt=0)
    siting_time_limit_s: float = Field(120.0, gt=0)

    @model_validator(mode="after")
    def _known_values(self) -> CameraRules:
        statuses, categories = ("online", "offline", "fault"), ("一类", "二类", "三类")
        bad = [s for s in (*self.counted_statuses, self.missing_status_as) if s not in statuses]
        if bad:
            raise ValueError(f"statuses are {', '.join(statuses)}, not {', '.join(bad)}")
        bad = [c for c in (*self.counted_categories, self.missing_category_as) if c not in categories]
        if bad:
            raise ValueError(f"categories are {', '.join(categories)}, not {', '.join(bad)}")
        classes = ("urban", "rural", "111", "112", "121", "122", "123", "210", "220")
        bad = [k for k in self.per_class if k not in classes]
        if bad:
            raise ValueError(
                f"per_class names unknown class(es) {', '.join(bad)}: use urban, rural or a 城乡分类代码 "
                f"({', '.join(classes[2:])})"
            )
        bad = [k for k, v in self.per_class.items() if v < 0] + [k for k, v in self.per_village.items() if v < 0]
        if bad:
            raise ValueError(f"quotas must be >= 0, not for {', '.join(bad)}")
        for mm, (fov, rng) in self.lens_mm.items():
            try:
                float(mm)
            except ValueError:
                raise ValueError(f"lens_mm keys are focal lengths in mm, not {mm!r}") from None
            if not (0 < fov <= 360 and rng > 0):
                raise ValueError(f"lens_mm[{mm}] must be (0 < fov <= 360, range > 0), got ({fov}, {rng})")
        return self


class PatrolRules(_Section):
    """Patrol norms (DOMAIN §5)."""

    min_daily_hours: float = 2.0
    max_daily_hours: float = 4.0
    required_street_classes: tuple[str, ...] = (
        "residential",
        "living_street",
        "pedestrian",
        "unclassified",
        "tertiary",
        "secondary",
        "primary",
        "trunk",
        "tertiary_link",
        "secondary_link",
        "primary_link",
        "service",
    )
    # Service roads are required only where a building's entrance is on them ("service roads that reach
    # buildings", DOMAIN §5): a car park aisle or a fuel-station lane is no street anyone lives on.
    service_only_to_buildings: bool = True
    # A street counts for a grid when at least this share of it lies within the grid widened by
    # ``boundary_buffer_m`` (so boundary streets, drawn along the grid's edge, count for both neighbours).
    boundary_buffer_m: float = Field(10.0, ge=0)
    min_share_inside: float = Field(0.5, gt=0, le=1)
    # Key places inside a grid are required stops; these categories (geo.key_places) are left out.
    stop_categories_excluded: tuple[str, ...] = ("religious", "station")
    # The exact rural-postman model (HiGHS) stops after this many seconds per route, keeping the best route
    # with its lower bound and gap.
    exact_time_limit_s: float = Field(5.0, ge=0)
    # An office or base farther than this from the walking network is refused.
    max_start_distance_m: float = Field(250.0, gt=0)
    # Routes longer than the daily maximum are split over at most this many days before the grid is flagged
    # as too large.
    max_rotation_days: int = Field(3, ge=1)
    # A camera sees a street within this distance (the extension repeats streets no camera sees).
    camera_sight_m: float = Field(50.0, ge=0)
    # Days of a GPS audit are counted in this time zone (GPX times are UTC).
    timezone: str = "Asia/Shanghai"
    # Map matching (Newson & Krumm): GPS noise (sigma, m), the search radius for candidate streets (m), the
    # scale of the route-versus-straight-line difference (beta, m), and the gap that breaks a track (s).
    gps_sigma_m: float = Field(10.0, gt=0)
    match_radius_m: float = Field(50.0, gt=0)
    match_beta_m: float = Field(5.0, gt=0)
    track_break_s: float = Field(300.0, gt=0)
    # A track point more than this far from every street of the area is off the map (another city).
    off_area_m: float = Field(1000.0, gt=0)


# Vehicle speeds by road class (DOMAIN §6, assumptions); a maxspeed tag lowers them.
_DRIVE_SPEEDS_KMH: dict[str, float] = {
    "motorway": 80.0,
    "trunk": 60.0,
    "primary": 50.0,
    "secondary": 40.0,
    "tertiary": 35.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
    "track": 10.0,
}
# E-bike patrols ride 12-15 km/h (DOMAIN §5, assumption): 15 on carriageways and cycleways, slower where the
# class itself is slow.
_EBIKE_SPEEDS_KMH: dict[str, float] = {"service": 12.0, "track": 12.0, "living_street": 10.0}
_EBIKE_CLASSES: tuple[str, ...] = (
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "unclassified",
    "residential",
    "road",
    "cycleway",
)
# Every way a person walks. Motorways are left out; ``foot=no`` or ``foot=private`` leaves out any way.
_WALK_CLASSES: tuple[str, ...] = (
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "unclassified",
    "residential",
    "living_street",
    "service",
    "road",
    "track",
    "pedestrian",
    "footway",
    "path",
    "steps",
    "cycleway",
    "bridleway",
    "corridor",
    "elevator",
)
# Not ways anyone travels on: planned, abandoned, race tracks, station platforms, lay-bys mapped as ways.
_NOT_TRAVELLED: tuple[str, ...] = (
    "construction",
    "proposed",
    "planned",
    "abandoned",
    "disused",
    "razed",
    "no",
    "platform",
    "raceway",
    "escape",
    "emergency_bay",
    "rest_area",
    "services",
    "bus_stop",
)


class ModeRules(_Section):
    """How one travel mode uses the road network (DOMAIN §5-§6).

    The classes a mode uses are the keys of ``speeds_kmh``, the entries of
    ``classes`` (at ``speed_kmh``) and, for a ``*_link`` without a speed of its
    own, its road's class less ``link_speed_reduction_kmh``. A class the data
    holds that is neither used nor excluded (here or in
    ``NetworkRules.excluded_classes``) is an error naming it.
    """

    directed: bool = True
    # The mode's own pace on every class in ``classes`` (walking 4 km/h; e-bikes 15 km/h).
    speed_kmh: float | None = Field(None, gt=0)
    classes: tuple[str, ...] = ()
    speeds_kmh: dict[str, float] = Field(default_factory=dict)
    link_speed_reduction_kmh: float = Field(0.0, ge=0)
    excluded_classes: tuple[str, ...] = ()
    # A posted maxspeed lowers the class speed (vehicles); a walker is not slowed by it.
    maxspeed_applies: bool = True
    # The OSM key that grants or refuses this mode on a way whatever ``access`` says (foot, motor_vehicle).
    access_key: str | None = None
    # From a building to its entrance point on the network (DOMAIN §6: walked, also by drivers and riders).
    access_speed_kmh: float = Field(4.0, gt=0)

    @model_validator(mode="after")
    def _speeds_positive(self) -> ModeRules:
        bad = sorted(k for k, v in self.speeds_kmh.items() if not v > 0)
        if bad:
            raise ValueError(f"speeds_kmh must be > 0, not for {', '.join(bad)}")
        if self.classes and self.speed_kmh is None:
            raise ValueError("classes need speed_kmh, the speed they are travelled at")
        return self


class NetworkRules(_Section):
    """Road networks for walking, e-bikes and driving (DOMAIN §5-§6; speeds are assumptions)."""

    walk: ModeRules = ModeRules(
        directed=False,
        speed_kmh=4.0,
        classes=_WALK_CLASSES,
        excluded_classes=("motorway", "motorway_link", "via_ferrata", "bus_guideway", "busway"),
        maxspeed_applies=False,
        access_key="foot",
    )
    ebike: ModeRules = ModeRules(
        speed_kmh=15.0,
        classes=_EBIKE_CLASSES,
        speeds_kmh=dict(_EBIKE_SPEEDS_KMH),
        excluded_classes=(
            "motorway",
            "motorway_link",
            "pedestrian",
            "footway",
            "path",
            "steps",
            "bridleway",
            "corridor",
            "elevator",
            "via_ferrata",
            "bus_guideway",
            "busway",
        ),
    )
    drive: ModeRules = ModeRules(
        speeds_kmh=dict(_DRIVE_SPEEDS_KMH),
        link_speed_reduction_kmh=10.0,
        excluded_classes=(
            "pedestrian",
            "footway",
            "path",
            "steps",
            "cycleway",
            "bridleway",
            "corridor",
            "elevator",
            "via_ferrata",
            "bus_guideway",
            "busway",
        ),
        access_key="motor_vehicle",
    )
    # Excluded in every mode.
    excluded_classes: tuple[str, ...] = _NOT_TRAVELLED
    # ``access`` values that close a way to everyone (the mode's ``access_key`` = yes/designated reopens it).
    excluded_access: tuple[str, ...] = ("private", "no")
    # One-way without a oneway tag (OSM's implied one-ways): these classes and junction types.
    oneway_classes: tuple[str, ...] = ("motorway",)
    oneway_junctions: tuple[str, ...] = ("roundabout", "circular")
    # Implicit maxspeed values (``CH:urban``, ``DE:zone30`` is read as 30): the country-specific key first.
    maxspeed_zones_kmh: dict[str, float] = Field(
        default_factory=lambda: {
            "urban": 50.0,
            "rural": 80.0,
            "trunk": 100.0,
            "motorway": 120.0,
            "living_street": 10.0,
            "walk": 6.0,
            "DE:rural": 100.0,
            "AT:rural": 100.0,
            "RU:urban": 60.0,
            "RU:rural": 90.0,
        }
    )
    # A county's own road file has no OSM node ids: line ends this close join (to each other first, else to a
    # vertex or the interior of another line). Lines that cross between vertices never join (bridges).
    join_tolerance_m: float = Field(1.0, ge=0)
    # A building whose entrance point is farther than this from the mode's network, or lies off its largest
    # component, is counted as unreachable.
    unreachable_distance_m: float = Field(250.0, gt=0)


class ResponseRules(_Section):
    """Police response norms (DOMAIN §6); travel speeds are in :class:`NetworkRules`.

    A community meets its target when at least ``*_target_share`` of its households
    are reached within ``*_target_minutes`` (urban 5 min: a real city reports 93.48%
    of incidents reached within 5 min, policy; rural 15 min, assumption: DOMAIN gives
    10-15). Readiness is the time a duty point of each kind needs before it can leave
    (assumption: none unless a county sets it; a duty point's own ``readiness_min``
    wins). Junction delay is added each time a route passes a junction of three or
    more streets (0: off).
    """

    minutes: tuple[int, ...] = (1, 3, 5)
    mode: Literal["walk", "ebike", "drive"] = "drive"
    urban_target_minutes: int = Field(5, gt=0)
    urban_target_share: float = Field(0.9348, gt=0, le=1)
    rural_target_minutes: int = Field(15, gt=0)
    rural_target_share: float = Field(0.9348, gt=0, le=1)
    readiness_s: dict[str, float] = Field(
        default_factory=lambda: {
            "police_station": 0.0,
            "police_post": 0.0,
            "patrol_point": 0.0,
            "governance_centre": 0.0,
        }
    )
    junction_delay_s: float = Field(0.0, ge=0)
    # Band areas are drawn as the reached streets buffered by this much (display only; shares count entrances).
    band_buffer_m: float = Field(50.0, gt=0)
    # Where new duty points may go: junctions on these road classes, and key places of these categories.
    candidate_road_classes: tuple[str, ...] = (
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
    )
    candidate_key_place_categories: tuple[str, ...] = (
        "townhall",
        "community_centre",
        "school",
        "kindergarten",
        "clinic",
        "hospital",
        "fire_station",
        "station",
        "office",
        "marketplace",
        "social_facility",
        "university",
    )
    proposal_kind: str = "police_post"
    max_proposals: int = Field(10, ge=1)

    @model_validator(mode="after")
    def _minutes_positive(self) -> ResponseRules:
        if not self.minutes or any(m <= 0 for m in self.minutes):
            raise ValueError(f"minutes must be positive whole numbers, got {list(self.minutes)}")
        bad = sorted(k for k, v in self.readiness_s.items() if v < 0)
        if bad:
            raise ValueError(f"readiness_s must be >= 0, not for {', '.join(bad)}")
        return self


class DocumentRules(_Section):
    """What printed documents say about who issued them."""

    issuing_office: str = ""  # unset: exports warn and print none (never a placeholder)
    county_name: str = ""
    # The date printed on maps and tables (ISO, e.g. "2026-12-01"); empty: the day they are made.
    issued_on: str = ""

    @model_validator(mode="after")
    def _date(self) -> DocumentRules:
        if self.issued_on:
            from datetime import date

            date.fromisoformat(self.issued_on)  # a ValueError here becomes a RulesError naming the key
        return self


class Rules(_Section):
    """The effective rules: national defaults with a county's overrides laid over them."""

    households: HouseholdRules = HouseholdRules()
    classification: ClassificationRules = ClassificationRules()
    grid: GridRules = GridRules()
    natural_villages: NaturalVillageRules = NaturalVillageRules()
    cameras: CameraRules = CameraRules()
    patrol: PatrolRules = PatrolRules()
    response: ResponseRules = ResponseRules()
    network: NetworkRules = NetworkRules()
    documents: DocumentRules = DocumentRules()
    source: tuple[str, ...] = ("national defaults",)

    def default_levels(self, area_class: str) -> float:
        """Return the assumed storeys of an untagged building in a community of this class."""
        h = self.households
        return h.default_levels_urban if area_class == "urban" else h.default_levels_rural


DEFAULT_RULES = Rules()


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def rules_from_dict(overrides: dict[str, Any], *, source: str = "overrides") -> Rules:
    """Lay a mapping of overrides over the national defaults.

    Raises
    ------
    RulesError
        When a key is unknown or a value has the wrong type or range.
    """
    merged = _merge(DEFAULT_RULES.model_dump(mode="python"), overrides)
    merged["source"] = ("national defaults", source)
    try:
        return Rules.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise RulesError(
            f"Rules from {source} are invalid: {problems}",
            detail_zh=f"规则文件 {source} 无效：{problems}",
            source=source,
        ) from None


def load_rules(path: str | Path | None = None) -> Rules:
    """Read a county rules file (TOML) and lay it over the national defaults.

    Parameters
    ----------
    path
        A TOML file; ``None`` gives the national defaults.

    Raises
    ------
    RulesError
        When the file is missing, is not TOML, or sets an unknown or invalid value.
    """
    if path is None:
        return DEFAULT_RULES
    p = Path(path)
    try:
        overrides = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesError(f"Rules file {p} does not exist", detail_zh=f"规则文件 {p} 不存在") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(
            f"Rules file {p} is not valid TOML: {exc}", detail_zh=f"规则文件 {p} 不是有效的 TOML：{exc}"
        ) from None
    return rules_from_dict(overrides, source=str(p))
