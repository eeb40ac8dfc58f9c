"""GPX 1.1: patrol routes written for GPS apps, and GPS tracks read for the patrol audit (gpxpy).

A route is written as a GPX 1.1 document with three views of the same walk,
so every common app finds what it shows: a ``<rte>`` (points where the walk
turns onto another street, named with the direction), a ``<trk>`` (every
vertex, with planned times from a start time), and ``<wpt>`` waypoints for the
office and the key places. Coordinates are WGS84 lon/lat; times are UTC, as
GPX requires.

Reading a track keeps its points (lon, lat, UTC time) per track segment and
refuses, naming the file and the point, what cannot be audited: a file that
is not GPX, one with no timed point, timestamps that go back in time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from geo.errors import MalformedFileError, TrackError


@dataclass(frozen=True)
class Waypoint:
    """A named point (lon/lat) written as a GPX waypoint."""

    lon: float
    lat: float
    name: str
    kind: str = ""


def route_gpx(
    *,
    name: str,
    lonlat: np.ndarray,
    distance_m: np.ndarray,
    speed_kmh: float,
    turns: Sequence[tuple[float, str]] = (),
    waypoints: Sequence[Waypoint] = (),
    start_time: datetime | None = None,
    description: str | None = None,
) -> str:
    """A route as a GPX 1.1 document (text).

    Parameters
    ----------
    lonlat
        The walk's vertices (n, 2) in WGS84.
    distance_m
        Distance along the walk at each vertex.
    turns
        (distance along the walk, instruction) for the route points.
    start_time
        When the walk starts (UTC); the track's times follow at ``speed_kmh``. Default: none written.

    Examples
    --------
    >>> text = route_gpx(name="网格 1", lonlat=np.array([[9.52, 47.14], [9.521, 47.14]]),
    ...                  distance_m=np.array([0.0, 75.8]), speed_kmh=4.0, waypoints=[Waypoint(9.52, 47.14, "工作站")])
    >>> "<rte>" in text and "<trk>" in text and 'version="1.1"' in text
    True
    """
    import gpxpy.gpx

    doc = gpxpy.gpx.GPX()
    doc.creator = "wangge 网格"
    doc.name = name
    doc.description = description
    for w in waypoints:
        doc.waypoints.append(gpxpy.gpx.GPXWaypoint(latitude=w.lat, longitude=w.lon, name=w.name, type=w.kind or None))
    route = gpxpy.gpx.GPXRoute(name=name)
    along = np.asarray(distance_m, dtype=float)
    xy = np.asarray(lonlat, dtype=float)
    if len(xy):
        route.points.append(gpxpy.gpx.GPXRoutePoint(latitude=xy[0, 1], longitude=xy[0, 0], name="出发"))
        for at, instruction in turns:
            i = int(np.clip(np.searchsorted(along, at), 0, len(xy) - 1))
            route.points.append(gpxpy.gpx.GPXRoutePoint(latitude=xy[i, 1], longitude=xy[i, 0], name=instruction[:60]))
        route.points.append(gpxpy.gpx.GPXRoutePoint(latitude=xy[-1, 1], longitude=xy[-1, 0], name="到达"))
    doc.routes.append(route)
    track = gpxpy.gpx.GPXTrack(name=name)
    segment = gpxpy.gpx.GPXTrackSegment()
    per_s = speed_kmh / 3.6
    for (lon, lat), d in zip(xy, along):
        t = start_time + timedelta(seconds=float(d) / per_s) if start_time is not None else None
        segment.points.append(gpxpy.gpx.GPXTrackPoint(latitude=lat, longitude=lon, time=t))
    track.segments.append(segment)
    doc.tracks.append(track)
    text: str = doc.to_xml(version="1.1")
    return text


@dataclass(frozen=True)
class Track:
    """One GPS track read from a file: its name and its timed points (lon, lat, UTC seconds since the epoch)."""

    file: str
    name: str | None
    lon: np.ndarray
    lat: np.ndarray
    time_s: np.ndarray
    segment: np.ndarray  # which track segment each point came from (a gap between segments breaks a match)

    def __len__(self) -> int:
        return int(len(self.lon))

    def start(self) -> datetime:
        """The first point's time (UTC)."""
        return datetime.fromtimestamp(float(self.time_s[0]), tz=UTC)


def read_track(data: bytes | str | Path, *, file: str | None = None) -> Track:
    """Read a GPX file's tracks (all segments, in order) as one :class:`Track`.

    Raises
    ------
    MalformedFileError
        Not GPX (or not XML).
    TrackError
        No point with a time, or a point whose time is earlier than the one before (named by its index).

    Examples
    --------
    >>> gpx = ('<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>w1</name>'
    ...        '<trkseg><trkpt lat="47.14" lon="9.52"><time>2026-05-01T01:00:00Z</time></trkpt>'
    ...        '<trkpt lat="47.141" lon="9.52"><time>2026-05-01T01:01:00Z</time></trkpt></trkseg></trk></gpx>')
    >>> t = read_track(gpx, file="w1.gpx")
    >>> t.name, len(t), float(t.time_s[1] - t.time_s[0])
    ('w1', 2, 60.0)
    """
    import gpxpy
    import gpxpy.gpx

    label = file or (str(data) if isinstance(data, Path) else "track")
    if isinstance(data, Path):
        try:
            raw: bytes | str = data.read_bytes()
        except OSError as exc:
            raise MalformedFileError(
                f"{label}: cannot be read ({exc.strerror})", detail_zh=f"{label}：无法读取", file=label
            ) from None
    else:
        raw = data
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        doc = gpxpy.parse(text)
    except (gpxpy.gpx.GPXException, ValueError, Exception) as exc:  # gpxpy raises several kinds for bad XML
        raise MalformedFileError(
            f"{label} is not a readable GPX file: {str(exc)[:200]}",
            detail_zh=f"{label} 不是可读取的 GPX 文件",
            file=label,
        ) from None
    lon: list[float] = []
    lat: list[float] = []
    times: list[float] = []
    seg: list[int] = []
    untimed = 0
    s = 0
    name = None
    for trk in doc.tracks:
        name = name or trk.name
        for segment in trk.segments:
            for p in segment.points:
                if p.time is None:
                    untimed += 1
                    continue
                t = p.time if p.time.tzinfo is not None else p.time.replace(tzinfo=UTC)
                lon.append(float(p.longitude))
                lat.append(float(p.latitude))
                times.append(t.timestamp())
                seg.append(s)
            s += 1
    if not times:
        raise TrackError(
            f"{label} holds no track point with a time ({untimed} without)",
            detail_zh=f"{label} 中没有带时间的轨迹点（无时间的点 {untimed} 个）",
            file=label,
            points=0,
            untimed=untimed,
        )
    t_arr = np.array(times)
    back = np.flatnonzero(np.diff(t_arr) < 0)
    if len(back):
        i = int(back[0]) + 1
        raise TrackError(
            f"{label}: point {i} is timed {datetime.fromtimestamp(t_arr[i], tz=UTC).isoformat()}, before the "
            f"point ahead of it ({datetime.fromtimestamp(t_arr[i - 1], tz=UTC).isoformat()}); "
            f"{len(back)} points go back in time",
            detail_zh=f"{label}：第 {i} 个轨迹点的时间早于前一个点（共 {len(back)} 处时间倒序）",
            file=label,
            point=i,
            out_of_order=int(len(back)),
        )
    return Track(
        file=label,
        name=name or (doc.name if doc.name else None),
        lon=np.array(lon),
        lat=np.array(lat),
        time_s=t_arr,
        segment=np.array(seg, dtype=np.int64),
    )


def track_gpx(name: str, lon: np.ndarray, lat: np.ndarray, time_s: np.ndarray, segments: Any = None) -> str:
    """A track as GPX 1.1 (the synthetic tracks of the tests and the demo), segments split where ``segments`` says."""
    import gpxpy.gpx

    doc = gpxpy.gpx.GPX()
    doc.creator = "wangge 网格 (synthetic)"
    trk = gpxpy.gpx.GPXTrack(name=name)
    seg_ids = np.zeros(len(lon), dtype=np.int64) if segments is None else np.asarray(segments)
    for s in np.unique(seg_ids):
        segment = gpxpy.gpx.GPXTrackSegment()
        for i in np.flatnonzero(seg_ids == s):
            segment.points.append(
                gpxpy.gpx.GPXTrackPoint(
                    latitude=float(lat[i]),
                    longitude=float(lon[i]),
                    time=datetime.fromtimestamp(float(time_s[i]), tz=UTC),
                )
            )
        trk.segments.append(segment)
    doc.tracks.append(trk)
    out: str = doc.to_xml(version="1.1")
    return out
