"""A cache per study area, valid for one stored revision of it.

Everything the use cases derive from an area — its layers in the metric CRS,
its road networks per mode, spatial indexes, the blocks and reports of its
plans — is built once and kept here, so a map request, a point query or a
second validation reuses it. Two rules keep it honest:

* **Area entries are keyed by the area's stored revision**, which every
  import, re-derivation and load bumps. Each use case asks for the entry with
  the revision it just read from the store (one indexed query), so a running
  server sees an import made by the CLI in another process: the stale entry is
  simply replaced. With the revision goes the area's creation stamp: an area
  deleted and created again (at revision 1 again) is another area.
* **Plan entries are keyed by what they depend on** — plan id and version,
  and for anything about the adopted plans the area's adoption state — so an
  edit, an adoption or a publish misses exactly those keys and nothing else.

Memory is bounded: at most ``max_areas`` areas are kept (least recently used
dropped first) and at most ``max_plan_entries`` plan entries per area.
Building a value runs outside the cache's own lock, under a per-key lock, so
two requests for the same network build it once and requests for other areas
never wait.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

# Keys (tuples) starting with one of these are plan entries, many per area: bounded per area, LRU.
PLAN_KINDS = ("plan", "adopted")


@dataclass
class CacheStats:
    """Counters for tests and the health endpoint."""

    hits: int = 0
    misses: int = 0
    areas_dropped: int = 0
    stale_replaced: int = 0

    def as_dict(self) -> dict[str, int]:
        """JSON view."""
        return dict(self.__dict__)


@dataclass
class AreaEntry:
    """What is cached for one area at one revision."""

    name: str
    revision: int
    stamp: str = ""  # the area's creation stamp: an area deleted and created again is another area
    max_plan_entries: int = 64
    stats: CacheStats = field(default_factory=CacheStats)
    _values: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict, repr=False)
    _key_locks: dict[Hashable, threading.Lock] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        """The value under ``key``, built by ``build()`` the first time (once, however many threads ask).

        Keys that are tuples starting with ``"plan"`` or ``"adopted"`` are plan
        entries: they are kept least-recently-used within ``max_plan_entries``.
        """
        with self._lock:
            if key in self._values:
                self.stats.hits += 1
                self._values.move_to_end(key)
                return self._values[key]  # type: ignore[no-any-return]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:  # another thread built it while this one waited
                    self.stats.hits += 1
                    return self._values[key]  # type: ignore[no-any-return]
            value = build()
            with self._lock:
                self.stats.misses += 1
                self._values[key] = value
                self._key_locks.pop(key, None)
                self._trim_plans()
            return value

    def put(self, key: Hashable, value: Any) -> None:
        """Store a value the caller already has (a use case that just wrote it: an edit's new version)."""
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            self._trim_plans()

    def peek(self, key: Hashable) -> Any | None:
        """The value under ``key`` if cached (no build)."""
        with self._lock:
            return self._values.get(key)

    def keys(self) -> list[Hashable]:
        """The keys held now (for tests and diagnostics)."""
        with self._lock:
            return list(self._values)

    def _trim_plans(self) -> None:
        plan_keys = [k for k in self._values if isinstance(k, tuple) and k and k[0] in PLAN_KINDS]
        for k in plan_keys[: max(0, len(plan_keys) - self.max_plan_entries)]:
            del self._values[k]


class AreaCache:
    """Area entries by name, each valid for one revision; at most ``max_areas`` kept.

    Examples
    --------
    >>> cache = AreaCache(max_areas=1)
    >>> cache.entry("a", revision=1).get("frames", lambda: "built at 1")
    'built at 1'
    >>> cache.entry("a", revision=1).get("frames", lambda: "rebuilt")  # same revision: reused
    'built at 1'
    >>> cache.entry("a", revision=2).get("frames", lambda: "built at 2")  # an import bumped it
    'built at 2'
    >>> _ = cache.entry("b", revision=1)  # a second area pushes out the least recently used
    >>> cache.areas()
    ['b']
    """

    def __init__(self, *, max_areas: int = 4, max_plan_entries: int = 64) -> None:
        if max_areas < 1:
            raise ValueError("max_areas must be at least 1")
        self.max_areas = max_areas
        self.max_plan_entries = max_plan_entries
        self.stats = CacheStats()
        self._entries: OrderedDict[str, AreaEntry] = OrderedDict()
        self._lock = threading.Lock()

    def entry(self, name: str, *, revision: int, stamp: str = "") -> AreaEntry:
        """The entry of ``name`` at ``revision`` and ``stamp`` (a fresh one if the cached one differs or is missing)."""
        with self._lock:
            found = self._entries.get(name)
            if found is not None and found.revision == revision and found.stamp == stamp:
                self._entries.move_to_end(name)
                return found
            if found is not None:
                self.stats.stale_replaced += 1
            fresh = AreaEntry(
                name=name, revision=revision, stamp=stamp, max_plan_entries=self.max_plan_entries, stats=self.stats
            )
            self._entries[name] = fresh
            self._entries.move_to_end(name)
            while len(self._entries) > self.max_areas:
                self._entries.popitem(last=False)
                self.stats.areas_dropped += 1
            return fresh

    def forget(self, name: str) -> None:
        """Drop an area (deleted, or rewritten by this process)."""
        with self._lock:
            self._entries.pop(name, None)

    def areas(self) -> list[str]:
        """Names cached now, least recently used first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._entries.clear()
