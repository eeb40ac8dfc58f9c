"""Response schemas: the API's contract. Keys only get added, never renamed."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, StrictInt


class Health(BaseModel):
    """Liveness and what the service runs on."""

    status: str = "ok"
    version: str
    store: str = Field(description="store backend: sqlite or postgresql")
    areas: int
    rules: list[str] = Field(description="where the effective rules come from")


class AreaItem(BaseModel):
    """One study area in the list."""

    name: str
    title: str | None = None
    communities: int
    buildings: int
    households: int | None = Field(None, description="total households (estimated unless given)")
    households_estimated: bool = True
    crs: str = Field(description="the metric CRS used for all metric work")
    datum: str = "wgs84"
    map_url: str | None = None
    bbox: list[float] | None = None


class AreasSummary(BaseModel):
    """Counts."""

    areas: int


class AreasResponse(BaseModel):
    """``GET /areas`` (the same JSON as ``wangge areas --json``)."""

    summary: AreasSummary
    areas: list[AreaItem]


class AreaDetail(AreaItem):
    """``GET /areas/{name}``: the list entry plus layers, calibration and import log."""

    layers: dict[str, int]
    revision: int
    households_report: dict[str, Any] | None = Field(None, description="estimation and calibration report")
    codes_note: str | None = None
    attribution: str | None = None
    imports: list[dict[str, Any]] = []
    layer_urls: dict[str, str] = {}


class ImportResult(BaseModel):
    """What an import did: ``summary`` counts plus notes, the read report and the calibration."""

    model_config = {"extra": "allow"}

    summary: dict[str, Any]
    area: str


# --- Errors -----------------------------------------------------------------------------------------------------


class ProblemFieldError(BaseModel):
    """One refused field of a request (``loc`` is its path: ``body``, ``query``, a field name, an index)."""

    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """An error as ``application/problem+json`` (RFC 9457), in English and Chinese."""

    type: str = Field(description="/problems/<slug> (one per error kind), or about:blank")
    title: str
    title_zh: str
    status: int
    detail: str = ""
    detail_zh: str = ""
    instance: str = Field("", description="the path asked for")
    context: dict[str, Any] = Field(
        default_factory=dict, description="machine-readable facts: names, ids, limits, retry_after (seconds)"
    )
    errors: list[ProblemFieldError] = Field(default_factory=list, description="request validation: each field, why")
    hint: str = Field("", description="which parameter of the request to change, when the problem is about one")


# --- Requests ---------------------------------------------------------------------------------------------------
# Integers are strict: a JSON 3.0 or "3" where an integer belongs is refused (422), never rounded or parsed, so a
# client generated from the OpenAPI (which says integer) and a hand-written one are held to the same form.

MAX_AUTHOR = 100  # characters
MAX_MESSAGE = 2000
MAX_VERSION = 2**31 - 1  # versions are stored in an INTEGER column: 32 bits on PostgreSQL
MAX_HOUSEHOLDS = 1_000_000  # far above any community; bounds what a band may say
HouseholdCount = Annotated[int, Field(strict=True, ge=1, le=MAX_HOUSEHOLDS)]
HouseholdBand = tuple[HouseholdCount, HouseholdCount]
Version = Annotated[int, Field(strict=True, ge=1, le=MAX_VERSION)]


def _integer_text(value: object) -> object:
    """Refuse a query or path integer written other than as digits ("3.0", " 3", "3e0")."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("must be an integer written in digits")
    return value


_DIGITS = re.compile(r"-?[0-9]+")
# The bound comes before the validator: so placed, the schema says ``minimum: 1`` (after it, pydantic cannot).
VersionNumber = Annotated[int, Field(ge=1, le=MAX_VERSION), BeforeValidator(_integer_text)]
"""A plan version in a query or path (text by nature): digits only, from 1; the schema says integer."""


class DrawRequest(BaseModel):
    """What to draw: all communities (default) or some, with optional overrides."""

    communities: list[str] | None = Field(None, description="codes or names; default all")
    band: HouseholdBand | None = Field(None, description="urban household band [min, max]")
    rural_band: HouseholdBand | None = Field(None, description="rural household band [min, max]")
    grids: StrictInt | None = Field(None, ge=1, le=10_000, description="fix the grid count (one community only)")
    seed: StrictInt | None = Field(None, ge=0, le=2**32 - 1, description="the same inputs and seed give the same plan")
    author: str | None = Field(None, max_length=MAX_AUTHOR)


class EditRequest(BaseModel):
    """A batch of edits: all or nothing, one version (see docs/edit-ops.md)."""

    base_version: Version = Field(description="the version the edit was made on; a stale one gets 409")
    message: str | None = Field(None, max_length=MAX_MESSAGE)
    ops: list[dict[str, Any]] = Field(
        min_length=1, max_length=1000, description="move, merge, split, carve, set, lock, unlock, redraw_unlocked"
    )
    author: str | None = Field(None, max_length=MAX_AUTHOR)


class RevertRequest(BaseModel):
    """Make a new version equal to an earlier one."""

    to_version: Version
    base_version: Version
    message: str | None = Field(None, max_length=MAX_MESSAGE)
    author: str | None = Field(None, max_length=MAX_AUTHOR)


class StateRequest(BaseModel):
    """draft -> reviewed -> published (reviewed -> draft sends it back)."""

    state: Literal["draft", "reviewed", "published"]
    base_version: Version | None = None


# --- Jobs -------------------------------------------------------------------------------------------------------

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]


class JobView(BaseModel):
    """A background job: ``GET /jobs/{id}`` and ``DELETE /jobs/{id}``."""

    id: str
    kind: str
    area: str | None = None
    status: JobStatus
    cancel_requested: bool = Field(False, description="a cancellation asked for; the job stops at its next step")
    progress: float
    message: str
    result: Any = Field(None, description="when done: what the job returns (a draw: the validation report)")
    error: Problem | None = Field(None, description="when failed: the problem")
    seconds: float
    queue_position: int | None = Field(None, description="when queued: how many jobs run before it")


# --- Road networks ----------------------------------------------------------------------------------------------

NetworkMode = Literal["walk", "ebike", "drive"]


class NetworkSummary(BaseModel):
    """A network's figures: counts as integers, lengths in metres, shares 0-1, seconds."""

    nodes: int
    edges: int = Field(description="a two-way street is one edge")
    length_m: float
    components: int
    largest_component_share: float = Field(description="share of the network's length on its largest component")
    buildings: int | None = None
    buildings_unreachable: int | None = Field(
        None, description="buildings whose entrance is farther than the rules' unreachable distance"
    )
    buildings_nearer_other_component: int | None = None
    entrance_distance_median_m: float | None = None
    ways: int
    oneway_edges: int
    rings: int
    seconds: float = Field(description="what this request took")
    build_seconds: float = Field(description="what building the network took (once per area revision)")


class RoadClassLength(BaseModel):
    """Length of the network's edges of one road class."""

    road_class: str
    length_m: float


class NetworkResponse(BaseModel):
    """``GET /areas/{name}/network`` (the same JSON as ``wangge network AREA --json``)."""

    model_config = {"extra": "allow"}

    summary: NetworkSummary
    area: str
    mode: NetworkMode
    length_by_class: list[RoadClassLength]
    join: dict[str, Any] = Field(description="how junctions were found: OSM node ids, or the endpoint tolerance")
    ways_excluded: dict[str, int] = Field(description="ways left out, by reason")


class WhereCommunity(BaseModel):
    """The community (社区/行政村) at a point."""

    model_config = {"populate_by_name": True}

    code: str
    name: str
    class_: str | None = Field(None, alias="class", description="urban or rural")
    class_zh: str | None = None
    code_provisional: bool = False
    households: int | None = None
    households_estimated: bool = True


class WhereGrid(BaseModel):
    """The adopted plan's grid at a point."""

    code: str
    name: str | None = None
    worker: str | None = None
    phone: str | None = None
    households: int | None = None
    in_band: bool | None = None
    plan_id: str
    community_code: str


class WhereVillage(BaseModel):
    """The natural village (自然村) area at a point."""

    name: str
    households: int | None = None
    derived: bool = True


class WhereResponse(BaseModel):
    """What is at a point: one section per kind, null when there is none. Sections only get added."""

    model_config = {"extra": "allow"}

    area: str
    lon: float
    lat: float
    community: WhereCommunity | None = None
    grid: WhereGrid | None = None
    natural_village: WhereVillage | None = None


# --- Response coverage ------------------------------------------------------------------------------------------


class WhereDutyPoint(BaseModel):
    """A duty point near a place: its own times by mode (readiness included), the first to arrive marked."""

    fid: str
    name: str | None = None
    kind: str
    kind_zh: str
    times_s: dict[str, float | None]
    minutes: dict[str, float | None]
    first: bool


class WherePlaceResponse(WhereResponse):
    """Who covers a place: the point query with the nearest duty points, the cameras that see it, patrol routes."""

    duty_points: list[WhereDutyPoint] = []
    cameras: list[dict[str, Any]] = []
    patrol_routes: list[Any] = []
    query: dict[str, Any] = Field(default_factory=dict, description="how the place was given: point, building, address")


class ResponseSummary(BaseModel):
    """The response coverage figures: counts as integers, shares 0-1 keyed by the minutes as text, seconds."""

    model_config = {"extra": "allow"}

    households: int
    buildings: int
    duty_points: int
    share_within: dict[str, float] = Field(description='households reached within each band, e.g. {"1": 0.06}')
    share_within_target: float
    communities_below_target: int
    buildings_unreached: int
    households_unreached: int
    seconds: float


class ResponseReport(BaseModel):
    """``GET /areas/{name}/response`` (the same JSON as ``wangge response AREA --json``)."""

    model_config = {"extra": "allow"}

    summary: ResponseSummary
    area: str
    mode: NetworkMode
    minutes: list[int]
    duty_points: list[dict[str, Any]]
    communities: list[dict[str, Any]]
    grids: list[dict[str, Any]]
    unreached: list[dict[str, Any]]


class ProposalRequest(BaseModel):
    """How many new duty points to propose (p = 1…P, each solved exactly), on which network."""

    p: StrictInt = Field(3, ge=1, le=100, description="P: propose 1…P new duty points (at most the rules' max)")
    mode: NetworkMode | None = Field(None, description="default: the rules' response.mode (drive)")


# --- Cameras ----------------------------------------------------------------------------------------------------


class CameraProposalRequest(BaseModel):
    """What to propose: at most ``budget`` new cameras (default: the fewest that meet every deficit)."""

    budget: StrictInt | None = Field(None, ge=0, le=100_000, description="most new cameras; default: what is needed")


class CameraCheckSummary(BaseModel):
    """The audit's figures: counts as integers, the working rate 0-1 (None without installed cameras)."""

    model_config = {"extra": "allow"}

    communities: int
    communities_short: int
    natural_villages: int
    natural_villages_short: int
    cameras: int
    cameras_counted: int
    working_rate: float | None
    working_rate_target: float
    new_cameras_needed: int = Field(description="the fewest new cameras that meet every deficit")
    seconds: float


class CameraCheckResponse(BaseModel):
    """``GET /areas/{name}/cameras/check`` (the same JSON as ``wangge cameras check AREA --json``)."""

    model_config = {"extra": "allow"}

    summary: CameraCheckSummary
    area: str
    communities: list[dict[str, Any]] = Field(description="per administrative village: counted, required, deficit…")
    natural_villages: list[dict[str, Any]]
    townships: list[dict[str, Any]]


class CameraCoverageSummary(BaseModel):
    """Coverage figures: metres, counts, shares 0-1, seconds."""

    model_config = {"extra": "allow"}

    street_m: float
    street_covered_m: float
    street_covered_share: float
    households: int
    households_covered: int
    households_covered_share: float
    seconds: float


class CameraCoverageResponse(BaseModel):
    """``GET /areas/{name}/cameras/coverage`` (the same JSON as ``wangge cameras coverage AREA --json``)."""

    model_config = {"extra": "allow"}

    summary: CameraCoverageSummary
    area: str
    communities: list[dict[str, Any]]
    natural_villages: list[dict[str, Any]]
    grids: list[dict[str, Any]]
