"""12-, 15- and 20-digit codes, checked against the real NBS lists of Pingshan (urban) and Anji (rural)."""

import geopandas as gpd
import pytest
from shapely.geometry import box

from geo.codes import (
    check_parents,
    class_from_urban_rural_code,
    provisional_code12,
    reading_order,
    validate_code12,
    validate_grid_code,
    validate_professional_grid_code,
    validate_urban_rural_code,
)
from geo.errors import InvalidCodeError


@pytest.mark.parametrize(
    "bad,why",
    [
        ("33052310820", "exactly 12 digits"),
        ("3305231082041", "exactly 12 digits"),
        ("33052310820X", "exactly 12 digits"),
        ("990000000000", "township digits"),
        ("000523108204", "no province"),
        ("330523108000", "this is a township code"),
        ("330000108204", "county digits"),
    ],
)
def test_malformed_code12_is_refused(bad, why):
    with pytest.raises(InvalidCodeError, match=why):
        validate_code12(bad)


def test_spreadsheet_float_code_is_read_back():
    assert validate_code12("330523108204.0") == "330523108204"


def test_code_must_lie_under_its_township_and_county():
    check_parents("330523108204", township_code="330523108000", county_code="330523")
    with pytest.raises(InvalidCodeError, match="not under township 330523105000"):
        check_parents("330523108204", township_code="330523105000")
    with pytest.raises(InvalidCodeError, match="not under county 440310"):
        check_parents("330523108204", county_code="440310000000")


def test_real_lists_hold_real_codes_and_refuse_invented_ones(code_list):
    assert code_list.name("330523108204") == "余村村委会"
    assert code_list.name("440310001001") == "六联社区居委会"
    assert code_list.counties == {"330523", "440310"}
    code_list.check("330523108204")
    code_list.check("440310002004")
    with pytest.raises(InvalidCodeError, match="no such village-level unit"):
        code_list.check("330523108299")  # township 天荒坪镇 exists, this committee does not
    with pytest.raises(InvalidCodeError, match="township 440310009000 is not in"):
        code_list.check("440310009001")
    code_list.check("110101001001")  # a county the lists do not cover: cannot be judged, passes
    code_list.check(provisional_code12("x", 1, 1))


def test_every_committee_in_the_lists_is_consistent_with_its_parents(code_list):
    villages = [row for row in code_list.rows.values() if row["level"] == "village"]
    assert len(villages) == 25 + 218
    for row in villages:
        code = validate_code12(row["code12"])
        check_parents(code, township_code=row["township_code12"], county_code=row["county_code12"])


def test_urban_rural_code():
    assert class_from_urban_rural_code("111") == "urban"
    assert class_from_urban_rural_code("121") == "urban"
    assert class_from_urban_rural_code("220") == "rural"
    for bad in ("320", "22", "abc"):
        with pytest.raises(InvalidCodeError):
            validate_urban_rural_code(bad)


def test_grid_and_professional_codes():
    assert validate_grid_code("330523108204001", community_code="330523108204") == "330523108204001"
    with pytest.raises(InvalidCodeError, match="001 to 999"):
        validate_grid_code("330523108204000")
    with pytest.raises(InvalidCodeError, match="community's code"):
        validate_grid_code("330523108204001", community_code="330523108203")
    with pytest.raises(InvalidCodeError, match="15 digits"):
        validate_grid_code("33052310820401")
    assert validate_professional_grid_code("33052310820400100001").startswith("330523108204")
    with pytest.raises(InvalidCodeError):
        validate_professional_grid_code("3305231082040010000")


def test_provisional_codes_are_stable_and_marked():
    a, b = provisional_code12("monaco", 1, 3), provisional_code12("monaco", 1, 3)
    assert a == b and a.startswith("99") and a.endswith("001003")
    with pytest.raises(InvalidCodeError):
        provisional_code12("monaco", 1, 1000)


def test_reading_order_rows_north_to_south_then_west_to_east():
    """Cells by position in the GeoSeries:

    +---+---+---+
    | 3 | 2 | 4 |   north row (2 sits 1 m lower: within half a cell height)
    +---+---+---+
    | 1 |   | 0 |   south row
    +---+   +---+
    """
    cells = gpd.GeoSeries(
        [box(20, 0, 30, 10), box(0, 0, 10, 10), box(10, 9, 20, 19), box(0, 10, 10, 20), box(20, 10, 30, 20)]
    )
    assert reading_order(cells) == [3, 2, 4, 1, 0]
