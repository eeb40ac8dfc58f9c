"""Write the SYNTHETIC camera inventory of the Liechtenstein demo: ``data/cameras_liechtenstein_synthetic.csv``.

Liechtenstein has no mapped surveillance cameras, so the demo needs an invented inventory to audit. Every row is
synthetic (``source`` = ``synthetic``, names start with ``[合成]``); it describes no real camera. It is laid out
as a county keeps one (Chinese headers, WGS84 lon/lat, GB/T 28181 ids under the illustrative Anji codes the demo
assigns) at real places of the OSM data: junctions of the streets people live on (main roads first) and the
entrances of villages (streets crossing a Gemeinde's boundary), with directions along a street, lenses, mount
heights, statuses and categories. On purpose:

* some cameras are offline or faulty, some are 二类/三类, a few are NVRs (not cameras);
* some ids are malformed and some repeat an earlier row's id (the import reports them row by row);
* Planken, Schellenberg and Gamprin fall short of the 5 per administrative village, and several natural
  villages (hamlets of Triesenberg, Lawena, Oberplanken, Hinterschellenberg, Mühleholz…) of the 2 per natural
  village, so the siting has work to do.

Run with the repository's venv (deterministic: a fixed seed)::

    .venv/bin/python data/make_synthetic_cameras.py
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.camera_coverage import camera_streets
from geo.crs import STORAGE_CRS
from geo.io import read_area_package
from geo.networks import network_for_area
from geo.rules import DEFAULT_RULES

HERE = Path(__file__).resolve().parent
OUT = HERE / "cameras_liechtenstein_synthetic.csv"
SEED = 20261211

# Counted cameras per Gemeinde (the quota is 5): three fall short on purpose.
PER_COMMUNITY = {
    "Vaduz": 38,
    "Schaan": 38,
    "Triesen": 20,
    "Balzers": 22,
    "Eschen": 19,
    "Mauren": 16,
    "Triesenberg": 26,
    "Ruggell": 12,
    "Gamprin": 4,
    "Schellenberg": 4,
    "Planken": 3,
}
# Natural villages given fewer than the 2 they need (the rest of a Gemeinde's cameras go by households).
PER_NATURAL_VILLAGE = {
    "Lawena": 0,
    "Gaflei": 0,
    "Bärg": 1,
    "Sücka": 0,
    "Wisli": 1,
    "Oberplanken": 0,
    "Hinterschellenberg": 1,
    "Mühleholz": 1,
    "Silum": 1,
}
LENSES = ("2.8mm", "4mm", "6mm", "8mm")
TOWNSHIP = {"Vaduz": "05", "Schaan": "05", "Triesen": "05", "Balzers": "05", "Triesenberg": "05", "Planken": "05"}


def _device_id(community: str, serial: int, device_type: str = "132") -> str:
    # 8-digit centre code (Anji 330523 + the township's two digits), industry 00, type, network 0, serial.
    return f"330523{TOWNSHIP.get(community, '08')}00{device_type}0{serial:06d}"


def _bearing(a: np.ndarray, b: np.ndarray) -> float:
    dx, dy = b - a
    return float(np.degrees(np.arctan2(dx, dy)) % 360.0)


def main() -> Path:
    rng = np.random.default_rng(SEED)
    area = read_area_package(HERE / "liechtenstein.gpkg")
    net = network_for_area(area, mode="walk")
    streets = camera_streets(net, DEFAULT_RULES.cameras)
    communities = area.metric("communities")
    villages = area.metric("natural_village_areas")
    # Junctions of camera streets (degree >= 3), main roads marked; each with the bearing of one of its streets.
    edges = streets["edge"].to_numpy()
    ends = np.concatenate([net.edge_u[edges], net.edge_v[edges]])
    others = np.concatenate([net.edge_v[edges], net.edge_u[edges]])
    names = np.concatenate([streets["name"].to_numpy(), streets["name"].to_numpy()])
    classes = np.concatenate([streets["road_class"].to_numpy(), streets["road_class"].to_numpy()])
    deg = np.bincount(ends, minlength=net.n_nodes)
    main = np.zeros(net.n_nodes, dtype=bool)
    main[ends[np.isin(classes, DEFAULT_RULES.cameras.main_road_classes)]] = True
    nodes = np.flatnonzero(deg >= 3)
    sites = pd.DataFrame({"node": nodes, "x": net.node_xy[nodes, 0], "y": net.node_xy[nodes, 1]})
    sites["main"] = main[nodes]
    first = pd.DataFrame({"node": ends, "other": others, "name": names}).groupby("node").first()
    sites["toward"] = sites["node"].map(first["other"])
    sites["road"] = sites["node"].map(first["name"])
    pts = shapely.points(sites[["x", "y"]].to_numpy())
    vi, pi = shapely.STRtree(pts).query(villages.geometry.values, predicate="contains")
    sites["area"] = None
    sites.loc[pi, "area"] = villages["fid"].to_numpy()[vi]
    rows = []
    serial = 1
    for _, com in communities.iterrows():
        name = com["name"]
        total = PER_COMMUNITY[name]
        mine = villages[villages["community_fid"] == com["fid"]]
        fixed = {v: PER_NATURAL_VILLAGE[v] for v in mine["name"] if v in PER_NATURAL_VILLAGE}
        rest = mine[~mine["name"].isin(list(fixed))]
        left = max(total - sum(fixed.values()), 0)
        # Each remaining natural village gets 2 first, then the rest by households.
        share = {v: 2 for v in rest["name"]}
        spare = left - 2 * len(share)
        if spare > 0 and len(rest):
            w = rest["households"].to_numpy(dtype=float) + 1
            extra = np.floor(spare * w / w.sum()).astype(int)
            extra[np.argmax(w)] += spare - extra.sum()
            share = {v: share[v] + int(e) for v, e in zip(rest["name"], extra)}
        elif spare < 0:  # a Gemeinde short on purpose: its largest natural village takes what there is
            share = dict.fromkeys(rest["name"], 0)
            if len(rest):
                share[rest.sort_values("households")["name"].iloc[-1]] = left
        share.update(fixed)
        for vname, count in share.items():
            if count <= 0:
                continue
            varea = mine[mine["name"] == vname].iloc[0]
            pool = sites[sites["area"] == varea["fid"]].sort_values(["main", "node"], ascending=[False, True])
            picks = pool.head(max(count * 2, count))
            if len(picks) < count:  # too few junctions: points along its streets
                inner = shapely.intersection(streets.geometry.values, varea.geometry)
                lines = [g for g in inner if not g.is_empty and g.length > 5]
                extra_pts = [
                    shapely.line_interpolate_point(g, 0.5, normalized=True) for g in lines[: count - len(picks)]
                ]
                picks = pd.concat(
                    [
                        picks,
                        pd.DataFrame(
                            {
                                "x": [p.x for p in extra_pts],
                                "y": [p.y for p in extra_pts],
                                "toward": [None] * len(extra_pts),
                                "road": [None] * len(extra_pts),
                                "main": [False] * len(extra_pts),
                            }
                        ),
                    ],
                    ignore_index=True,
                )
            picks = picks.sample(n=min(count, len(picks)), random_state=int(rng.integers(1 << 31)))
            for _, s in picks.iterrows():
                xy = np.array([s["x"], s["y"]])
                if s["toward"] is not None and not pd.isna(s["toward"]):
                    direction = _bearing(xy, net.node_xy[int(s["toward"])])
                else:
                    direction = float(rng.integers(0, 8) * 45)
                dome = rng.random() < 0.15
                status = rng.choice(["在线", "离线", "故障"], p=[0.93, 0.05, 0.02])
                road = s["road"] if isinstance(s["road"], str) else "无名路"
                rows.append(
                    {
                        "设备编码": _device_id(name, serial, "131" if rng.random() < 0.1 else "132"),
                        "设备名称": f"[合成] {vname} {road} {'球机' if dome else '枪机'}",
                        "经度": None,
                        "纬度": None,
                        "x": xy[0] + rng.normal(0, 1.5),
                        "y": xy[1] + rng.normal(0, 1.5),
                        "摄像机类型": "球机" if dome else "枪机",
                        "状态": status,
                        "点位类别": rng.choice(["一类", "二类", "三类"], p=[0.8, 0.12, 0.08]),
                        "朝向": None if dome else round(direction),
                        "镜头": None if dome else rng.choice(LENSES, p=[0.15, 0.45, 0.3, 0.1]),
                        "安装高度": f"{rng.choice([3.5, 4.0, 4.5, 5.0, 6.0]) if not dome else 6.0}m",
                        "建设单位": f"{name}（合成）",
                        "source": "synthetic",
                    }
                )
                serial += 1
    frame = pd.DataFrame(rows)
    # Short Gemeinden hold exactly their counted cameras: their offline ones are extra rows, not counted.
    lonlat = gpd.GeoSeries(shapely.points(frame[["x", "y"]].to_numpy()), crs=area.metric_crs).to_crs(STORAGE_CRS)
    frame["经度"] = np.round(lonlat.x.to_numpy(), 7)
    frame["纬度"] = np.round(lonlat.y.to_numpy(), 7)
    frame = frame.drop(columns=["x", "y"])
    short = frame["设备名称"].str.contains("Planken|Schellenberg|Gamprin|Bendern")
    frame.loc[short, "状态"] = "在线"
    # Problems a real inventory has, on purpose (reported by the import, row by row):
    extra = []
    base = frame.iloc[rng.choice(len(frame), 6, replace=False)].copy()
    for k, (_, row) in enumerate(base.iterrows()):
        r = row.copy()
        r["设备名称"] = row["设备名称"] + " 重复登记"
        r["经度"] = round(row["经度"] + 0.0003, 7)
        if k < 3:
            r["设备编码"] = row["设备编码"]  # the same id on another row
        elif k == 3:
            r["设备编码"] = row["设备编码"][:-1]  # 19 digits
        elif k == 4:
            r["设备编码"] = row["设备编码"][:12] + "X" + row["设备编码"][13:]  # a letter
        else:
            r["设备编码"] = row["设备编码"][:10] + "999" + row["设备编码"][13:]  # no such device type
        extra.append(r)
    for k, name in enumerate(("Vaduz", "Schaan")):  # the NVRs of two Gemeinde halls: devices, not cameras
        r = frame[frame["设备名称"].str.contains(name)].iloc[0].copy()
        r["设备编码"] = _device_id(name, 900000 + k, "118")
        r["设备名称"] = f"[合成] {name} 村委会 NVR"
        r["摄像机类型"] = None
        r["朝向"] = None
        r["镜头"] = None
        extra.append(r)
    frame = pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)
    frame["朝向"] = frame["朝向"].astype("Int64")
    frame.to_csv(OUT, index=False, encoding="utf-8")
    return OUT


if __name__ == "__main__":
    path = main()
    print(f"wrote {path} ({sum(1 for _ in path.open(encoding='utf-8')) - 1} synthetic cameras)")
