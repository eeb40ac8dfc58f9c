"""An area's layers in its metric CRS, computed once for all its communities and plans.

Drawing, validating, exporting and redrawing all need the same frames: the
communities, buildings, cut lines and natural-village areas in the area's
metric CRS, sorted by id so the same area always gives the same plans. The
service keeps one :class:`AreaFrames` per area revision in its cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import pandas as pd
import shapely

from geo.area import StudyArea, valid_polygons
from geo.blocks import cut_lines
from geo.errors import EmptyLayerError, NotFoundError
from geo.rules import Rules


@dataclass(eq=False)
class AreaFrames:
    """An area's layers in its metric CRS (communities valid polygons; every frame sorted by ``fid``)."""

    area: StudyArea
    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    lines: gpd.GeoDataFrame
    village_areas: gpd.GeoDataFrame

    @classmethod
    def of(cls, area: StudyArea, rules: Rules) -> AreaFrames:
        """Project and sort an area's layers; cut lines follow ``rules.grid``.

        Raises
        ------
        EmptyLayerError
            The area has no communities.
        """
        communities = area.metric("communities")
        if not len(communities):
            raise EmptyLayerError(
                f"Study area {area.name!r} has no communities to draw grids in",
                detail_zh=f"研究区 {area.name!r} 没有社区，无法划分网格",
            )

        # Sorted by id: the same area gives the same plan whatever order its store returns features in.
        def by_fid(kind: str) -> gpd.GeoDataFrame:
            return area.metric(kind).sort_values("fid", kind="stable").reset_index(drop=True)

        return cls(
            area=area,
            communities=valid_polygons(by_fid("communities")),
            buildings=by_fid("buildings"),
            lines=cut_lines(by_fid("roads"), by_fid("waterways"), rules.grid),
            village_areas=by_fid("natural_village_areas"),
        )

    @cached_property
    def building_index(self) -> shapely.STRtree:
        """A spatial index of the buildings' footprints (positions in :attr:`buildings`)."""
        return shapely.STRtree(self.buildings.geometry.values)

    def has_community(self, fid: str) -> bool:
        """Whether the area holds a community with this fid."""
        return bool((self.communities["fid"] == fid).any())

    def community(self, fid: str) -> pd.Series:
        """The community row with this fid."""
        return self.communities[self.communities["fid"] == fid].iloc[0]

    def community_frame(self, fid: str) -> gpd.GeoDataFrame:
        """The community with this fid as a one-row frame (metric CRS), as plans keep it."""
        return self.communities[self.communities["fid"] == fid].iloc[:1]

    def community_fids(self, wanted: list[str] | None) -> list[str]:
        """Community fids for codes, fids or names (all, in code order, when none are given).

        Raises
        ------
        NotFoundError
            A code or name no community has; the message lists the communities.
        """
        communities = self.communities
        if not wanted:
            return [str(f) for f in communities.sort_values("code12")["fid"]]
        out: list[str] = []
        for w in wanted:
            key = w.strip().casefold()
            hit = communities[
                (communities["code12"].astype(str) == w.strip())
                | (communities["fid"] == w.strip())
                | (communities["name"].fillna("").str.casefold() == key)
                | (communities["name_zh"].fillna("").str.casefold() == key)
            ]
            if hit.empty:
                listing = ", ".join(f"{r.code12} {r.name}" for r in communities.sort_values("code12").itertuples())
                raise NotFoundError(
                    f"No community {w!r} (communities: {listing})", detail_zh=f"没有社区 {w!r}", community=w
                )
            out.extend(f for f in hit["fid"] if f not in out)
        return out

    def parts_for(self, community: pd.Series) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """The community's buildings, nearby cut lines and village areas."""
        geom = community.geometry
        b = self.buildings[self.buildings["community_fid"] == community["fid"]]
        near = self.lines[self.lines.intersects(geom)] if len(self.lines) else self.lines
        v = (
            self.village_areas[self.village_areas["community_fid"] == community["fid"]]
            if len(self.village_areas)
            else self.village_areas
        )
        return b, near, v

    def kept_parts(
        self, kept: gpd.GeoDataFrame
    ) -> tuple[pd.Series, gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """A community no longer in the area, as a plan kept it: the row (metric) and the area's parts inside it.

        An import may replace the communities a plan was drawn on; the plan then answers on the outline it
        was drawn on, with the area's buildings, lines and village areas inside that outline.
        """
        com = kept.to_crs(self.area.metric_crs).iloc[0]
        geom = com.geometry

        def inside(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
            if not len(frame):
                return frame
            return frame[frame.geometry.representative_point().within(geom)]

        near = self.lines[self.lines.intersects(geom)] if len(self.lines) else self.lines
        return com, inside(self.buildings), near, inside(self.village_areas)


def kept_community_missing(plan_id: str) -> NotFoundError:
    """The error for a plan whose community is gone and that kept no outline of it."""
    return NotFoundError(
        f"Plan {plan_id}'s community is no longer in the area, and the plan was saved before plans kept "
        "the outline they were drawn on",
        detail_zh=f"方案 {plan_id} 所属社区已不在研究区中，且该方案未保存其社区范围",
        plan_id=plan_id,
    )
