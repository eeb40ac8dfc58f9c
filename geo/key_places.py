"""Key places (重点场所): normalised categories from source tags.

Patrols visit them, new cameras go near them, dedicated grids are carved around
them. Sources name them in many ways (OSM ``amenity=police``,
``office=government``, a county's ``类别=派出所``); everything downstream uses
the normalised ``category`` below.
"""

from __future__ import annotations

from collections.abc import Mapping

# category -> (Chinese label, Font Awesome icon, marker colour)
CATEGORIES: dict[str, tuple[str, str, str]] = {
    "police": ("公安/警务", "shield-halved", "darkblue"),
    "school": ("学校", "school", "orange"),
    "kindergarten": ("幼儿园", "child", "orange"),
    "university": ("高校", "graduation-cap", "orange"),
    "hospital": ("医院", "hospital", "red"),
    "clinic": ("诊所/卫生室", "stethoscope", "red"),
    "pharmacy": ("药店", "prescription-bottle-medical", "pink"),
    "market": ("市场", "basket-shopping", "green"),
    "townhall": ("政府/村委会", "landmark", "cadetblue"),
    "office": ("机关单位", "building-columns", "cadetblue"),
    "community_centre": ("社区服务中心", "people-roof", "cadetblue"),
    # Where a grid worker's patrol starts (DOMAIN §5): imported from a county's list, never derived from OSM.
    "grid_office": ("网格工作站", "house-flag", "cadetblue"),
    "social_facility": ("养老/社会福利", "hand-holding-heart", "purple"),
    "fire_station": ("消防站", "fire-extinguisher", "darkred"),
    "prison": ("监所", "lock", "black"),
    "station": ("车站", "train", "gray"),
    "religious": ("宗教场所", "place-of-worship", "gray"),
    "other": ("其他", "circle-info", "lightgray"),
}

# (tag key, tag value) -> category; value "*" matches any value of the key.
_OSM_RULES: tuple[tuple[str, str, str], ...] = (
    ("amenity", "police", "police"),
    ("police", "*", "police"),
    ("amenity", "school", "school"),
    ("amenity", "kindergarten", "kindergarten"),
    ("amenity", "childcare", "kindergarten"),
    ("amenity", "university", "university"),
    ("amenity", "college", "university"),
    ("amenity", "hospital", "hospital"),
    ("healthcare", "hospital", "hospital"),
    ("amenity", "clinic", "clinic"),
    ("amenity", "doctors", "clinic"),
    ("healthcare", "clinic", "clinic"),
    ("healthcare", "doctor", "clinic"),
    ("amenity", "pharmacy", "pharmacy"),
    ("amenity", "marketplace", "market"),
    ("amenity", "townhall", "townhall"),
    ("office", "government", "office"),
    ("amenity", "courthouse", "office"),
    ("amenity", "community_centre", "community_centre"),
    ("amenity", "social_facility", "social_facility"),
    ("amenity", "nursing_home", "social_facility"),
    ("amenity", "fire_station", "fire_station"),
    ("amenity", "prison", "prison"),
    ("amenity", "bus_station", "station"),
    ("railway", "station", "station"),
    ("public_transport", "station", "station"),
    ("amenity", "place_of_worship", "religious"),
)

# Tag keys worth reading from a source to classify key places.
OSM_KEYS: tuple[str, ...] = tuple(sorted({k for k, _, _ in _OSM_RULES}))

# Words a county's spreadsheet uses for the categories (Chinese and English).
_ALIASES: dict[str, str] = {
    "派出所": "police",
    "警务室": "police",
    "公安": "police",
    "police_station": "police",
    "学校": "school",
    "小学": "school",
    "中学": "school",
    "幼儿园": "kindergarten",
    "医院": "hospital",
    "卫生院": "hospital",
    "诊所": "clinic",
    "卫生室": "clinic",
    "卫生站": "clinic",
    "市场": "market",
    "农贸市场": "market",
    "marketplace": "market",
    "政府": "townhall",
    "村委会": "townhall",
    "居委会": "townhall",
    "街道办": "townhall",
    "机关": "office",
    "government": "office",
    "社区服务中心": "community_centre",
    "网格工作站": "grid_office",
    "网格站": "grid_office",
    "网格员工作站": "grid_office",
    "网格服务站": "grid_office",
    "养老院": "social_facility",
    "敬老院": "social_facility",
    "消防站": "fire_station",
    "车站": "station",
    "宗教": "religious",
}


def category_from_osm(tags: Mapping[str, str]) -> str | None:
    """Return the key-place category of an OSM object's tags, or None when it is not one.

    Examples
    --------
    >>> category_from_osm({"amenity": "police", "name": "Landespolizei"})
    'police'
    >>> category_from_osm({"shop": "bakery"}) is None
    True
    """
    for key, value, cat in _OSM_RULES:
        got = tags.get(key)
        if got is not None and (value == "*" or got == value):
            return cat
    return None


def normalise_category(value: object) -> str:
    """Map a free-text category (ours, OSM's or a county's) to one of :data:`CATEGORIES`.

    Examples
    --------
    >>> normalise_category("派出所"), normalise_category("School"), normalise_category("棋牌室")
    ('police', 'school', 'other')
    """
    if value is None:
        return "other"
    s = str(value).strip()
    low = s.lower()
    if low in CATEGORIES:
        return low
    if s in _ALIASES:
        return _ALIASES[s]
    if low in _ALIASES:
        return _ALIASES[low]
    for _key, value_, cat in _OSM_RULES:
        if low == value_:
            return cat
    return "other"


def label_zh(category: str) -> str:
    """Return the Chinese label of a category."""
    return CATEGORIES.get(category, CATEGORIES["other"])[0]
