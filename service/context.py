"""What every use case needs: the store, the rules, the code lists, the import limits and the area cache.

The API (:func:`api.main.create_app`), the CLI and the benchmarks open one
:class:`Context` and pass it to the use cases of this package. Nothing here
knows about HTTP or the terminal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol

import geopandas as gpd

from geo.area import StudyArea
from geo.codes import CodeList
from geo.errors import ImportLimitError
from geo.frames import AreaFrames
from geo.io import read_code_lists_in
from geo.networks import Mode, RoadNetwork, building_entrances, network_for_area
from geo.rules import Rules, load_rules
from service.cache import AreaCache, AreaEntry
from store.areas import Store

Progress = Callable[[str, float | None], None]
"""A progress callback: (message, fraction 0-1 or None). A job's callback may raise to stop the work there."""


def say(progress: Progress | None, message: str, fraction: float | None = None) -> None:
    """Report progress if someone listens."""
    if progress is not None:
        progress(message, fraction)


class ContextSettings(Protocol):
    """The settings a context is opened from (:class:`api.settings.Settings` has them)."""

    @property
    def store_url(self) -> str: ...
    @property
    def rules(self) -> Path | None: ...
    @property
    def data_dir(self) -> Path: ...
    @property
    def max_import_features(self) -> int: ...
    @property
    def max_expanded_mb(self) -> float: ...
    @property
    def cache_areas(self) -> int: ...


@dataclass
class Context:
    """Where data lives, which rules apply, what an import may hold, and what is already computed.

    Parameters
    ----------
    store
        The store (SQLite or PostgreSQL).
    rules
        The effective rules (national defaults with a county's file laid over them).
    code_list
        The published code lists shipped in ``data/admin_codes`` (None: codes are checked by form only).
    cache
        Per-area cache of frames, networks, indexes and plan entries, each valid for one stored revision.
    max_import_features, max_expanded_mb
        The import limits of the settings (None: unbounded, as in tests that build a context by hand).
    """

    store: Store
    rules: Rules
    code_list: CodeList | None = None
    cache: AreaCache = field(default_factory=AreaCache, repr=False)
    max_import_features: int | None = None
    max_expanded_mb: float | None = None

    @classmethod
    def open(cls, settings: ContextSettings, *, rules: Rules | None = None) -> Context:
        """Open the store of the settings, read their rules and the code lists in ``data_dir/admin_codes``."""
        return cls(
            store=Store.from_url(settings.store_url),
            rules=rules if rules is not None else load_rules(settings.rules),
            code_list=read_code_lists_in(settings.data_dir / "admin_codes"),
            cache=AreaCache(max_areas=settings.cache_areas),
            max_import_features=settings.max_import_features,
            max_expanded_mb=settings.max_expanded_mb,
        )

    @cached_property
    def rules_digest(self) -> str:
        """A digest of the rules in force: part of the key of anything computed under them (reports)."""
        return hashlib.sha256(self.rules.model_dump_json().encode()).hexdigest()[:16]

    def area(self, name: str) -> AreaEntry:
        """The cache entry of an area at its stored revision (one indexed query).

        Every use case asks here first, so a server sees an import made by another process (the CLI) at its
        next request: the entry of the older revision is simply replaced.

        Raises
        ------
        NotFoundError
            No area of that name.
        """
        stamp, revision = self.store.area_stamp(name)
        return self.cache.entry(name, revision=revision, stamp=stamp)


# The settings behind the import limits the core checks (it knows them by name, not by where they are set).
LIMIT_VARIABLES = {"max_import_features": "WANGGE_MAX_IMPORT_FEATURES", "max_expanded_mb": "WANGGE_MAX_EXPANDED_MB"}


@contextmanager
def limits_named() -> Iterator[None]:
    """Name the ``WANGGE_*`` variable that sets a limit in the message of an :class:`ImportLimitError`."""
    try:
        yield
    except ImportLimitError as exc:
        variable = LIMIT_VARIABLES.get(str(exc.context.get("limit")))
        if variable is not None and "variable" not in exc.context:
            exc.message += f" (the limit is set by {variable})"
            exc.detail_zh = f"{exc.detail_zh or ''}（该限制由 {variable} 设置）"
            exc.context["variable"] = variable
        raise


# -- what the cache holds for an area at one revision -------------------------------------------------------------
# Keys: "study" (the StudyArea), "frames" (AreaFrames), ("network", mode), ("entrances", mode). An import bumps the
# revision, so all of them are rebuilt at the next request; nothing here is ever cleared by hand.


def study_area(ctx: Context, entry: AreaEntry) -> StudyArea:
    """The whole study area as stored at the entry's revision."""
    return entry.get("study", lambda: ctx.store.load_area(entry.name))


def area_frames(ctx: Context, entry: AreaEntry) -> AreaFrames:
    """The area's layers in its metric CRS (communities, buildings, cut lines, village areas)."""
    return entry.get("frames", lambda: AreaFrames.of(study_area(ctx, entry), ctx.rules))


def road_network(ctx: Context, entry: AreaEntry, mode: Mode) -> RoadNetwork:
    """The area's road network of one mode (``walk``, ``ebike``, ``drive``), in its metric CRS.

    Raises
    ------
    EmptyLayerError
        The area has no roads.
    """
    return entry.get(("network", mode), lambda: network_for_area(study_area(ctx, entry), mode=mode, rules=ctx.rules))


def entrances(ctx: Context, entry: AreaEntry, mode: Mode) -> gpd.GeoDataFrame:
    """Where each building of the area meets the network of a mode (:func:`geo.networks.building_entrances`).

    Indexed like the area's ``buildings`` layer as stored.
    """
    return entry.get(
        ("entrances", mode),
        lambda: building_entrances(road_network(ctx, entry, mode), study_area(ctx, entry).layer("buildings")),
    )
