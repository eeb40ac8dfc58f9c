"""The quota audit on a hand-made township: two villages, three natural villages, cameras of every standing.

┌──────────── 东村 (rural) ──────────┬──── 西村 (urban, 121) ────┐
│  上庄 (0-500)   │  下庄 (500-1000) │  西庄 (1000-2000)          │
└─────────────────┴──────────────────┴───────────────────────────┘
"""

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo.camera_quota import audit_quotas
from geo.errors import QuotaRuleError, RulesError
from geo.rules import DEFAULT_RULES, rules_from_dict

CRS = "EPSG:32650"
COMS = gpd.GeoDataFrame(
    {
        "fid": ["c1", "c2"],
        "name": ["东村", "西村"],
        "code12": ["330523108204", "330523105004"],
        "area_class": ["rural", "urban"],
        "urban_rural_code": ["220", "121"],
        "township_code": ["330523108000", "330523105000"],
    },
    geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
    crs=CRS,
)
AREAS = gpd.GeoDataFrame(
    {"fid": ["a1", "a2", "a3"], "name": ["上庄", "下庄", "西庄"], "village_fid": ["v1", "v2", "v3"],
     "community_fid": ["c1", "c1", "c2"]},
    geometry=[box(0, 0, 500, 1000), box(500, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
    crs=CRS,
)  # fmt: skip


def _cams(rows):
    return gpd.GeoDataFrame([dict(r, geometry=Point(x, y)) for (x, y), r in rows], geometry="geometry", crs=CRS)


CAMS = _cams(
    [
        ((100, 100), {"status": "online", "category": "一类"}),
        ((200, 100), {"status": "online", "category": "二类"}),
        ((300, 100), {"status": "offline", "category": "一类"}),
        ((400, 100), {"status": None, "category": None}),  # an OSM camera: taken as online 一类
        ((600, 100), {"status": "online", "category": "一类", "device_type": "118", "problems": "not_a_camera"}),
        ((700, 100), {"status": "online", "category": "一类", "problems": "duplicate_id"}),
        ((1500, 100), {"status": "fault", "category": "三类"}),
        ((5000, 100), {"status": "online", "category": "一类"}),  # outside every village
    ]
)


def _rows(audit):
    return {r["name"]: (r["required"], r["counted"], r["deficit"]) for r in audit.villages.to_dict("records")}


def test_counts_deficits_and_why_cameras_do_not_count():
    audit = audit_quotas(CAMS, COMS, AREAS, rules=DEFAULT_RULES.cameras)
    assert _rows(audit) == {
        "东村": (5, 3, 2),
        "西村": (5, 0, 5),
        "上庄": (2, 3, 0),
        "下庄": (2, 0, 2),
        "西庄": (2, 0, 2),
    }
    s = audit.summary
    assert (s["communities_short"], s["natural_villages_short"], s["cameras_counted"]) == (2, 2, 3)
    assert s["status_assumed"] == 1 and s["cameras_outside_villages"] == 1
    assert s["cameras_not_counted"] == {
        "duplicate_id": 1, "fault": 1, "not_a_camera": 1, "offline": 1, "outside_villages": 1
    }  # fmt: skip
    # East village: 5 needed, 3 counted; its natural villages need 0 + 2: at least 2 new there, and 5 in the west.
    assert s["new_cameras_needed"] == 2 + 5
    east = audit.villages.iloc[0]
    assert east["installed"] == 4 and east["online"] == 3 and east["working_rate"] == 0.75
    assert [t["township_code"] for t in audit.townships] == ["330523105000", "330523108000"]


def test_the_rules_decide_what_counts_and_the_quotas():
    county = rules_from_dict(
        {
            "cameras": {
                "counted_statuses": ["online", "offline"],
                "counted_categories": ["一类"],
                "per_class": {"121": 8},
                "per_village": {"natural_village:上庄": 4, "下庄": 1},
            }
        }
    )
    audit = audit_quotas(CAMS, COMS, AREAS, rules=county.cameras)
    assert _rows(audit) == {
        "东村": (5, 3, 2),
        "西村": (8, 0, 8),
        "上庄": (4, 3, 1),
        "下庄": (1, 0, 1),
        "西庄": (2, 0, 2),
    }
    assert audit.villages.set_index("name").loc["西村", "quota_rule"] == "per_class 121"


def test_a_quota_rule_naming_no_village_or_two_is_refused():
    with pytest.raises(QuotaRuleError, match="'北村' names no village of this area") as e:
        audit_quotas(CAMS, COMS, AREAS, rules=rules_from_dict({"cameras": {"per_village": {"北村": 3}}}).cameras)
    assert e.value.context["communities"] == ["东村", "西村"]
    areas = AREAS.assign(name=["东村", "下庄", "西庄"])  # a natural village named like its community
    with pytest.raises(QuotaRuleError, match="write 'community:东村' or 'natural_village:东村'"):
        audit_quotas(CAMS, COMS, areas, rules=rules_from_dict({"cameras": {"per_village": {"东村": 3}}}).cameras)
    with pytest.raises(RulesError, match="per_class names unknown class"):
        rules_from_dict({"cameras": {"per_class": {"suburban": 3}}})
