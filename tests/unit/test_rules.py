"""Rules: national defaults built in, a county file laid over them, typos refused."""

import pytest

from geo.errors import RulesError
from geo.rules import DEFAULT_RULES, load_rules


def test_national_defaults_are_domain_values():
    r = DEFAULT_RULES
    assert r.grid.urban_band == (300, 500) and r.grid.urban_target == 400 and r.grid.rural_band == (100, 500)
    assert r.cameras.per_administrative_village == 5 and r.cameras.per_natural_village == 2
    assert r.patrol.min_daily_hours == 2 and r.network.walk.speed_kmh == 4
    assert r.response.minutes == (1, 3, 5)
    assert r.households.floor_area_per_household_m2 == 100 and r.households.persons_per_household == 2.62
    assert r.households.default_levels_rural == 2 and r.households.default_levels_urban == 4
    assert r.natural_villages.place_kinds == ("town", "village", "hamlet")


def test_county_file_overrides_only_what_it_names(tmp_path):
    f = tmp_path / "anji.toml"
    f.write_text("[grid]\nurban_band = [250, 450]\n[cameras]\nper_administrative_village = 8\n", encoding="utf-8")
    r = load_rules(f)
    assert r.grid.urban_band == (250, 450) and r.cameras.per_administrative_village == 8
    assert r.grid.rural_band == (100, 500) and r.cameras.per_natural_village == 2
    assert r.source == ("national defaults", str(f))


@pytest.mark.parametrize(
    "content,match",
    [
        ("[grid]\nurban_bands = [1, 2]\n", "urban_bands"),
        ("[grid]\nurban_band = [500, 300]\n", "min <= max"),
        ("[cameras]\nper_natural_village = -1\n", "per_natural_village"),
        ("[nonsense]\nx = 1\n", "nonsense"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_bad_rules_files_name_the_problem(tmp_path, content, match):
    f = tmp_path / "bad.toml"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(RulesError, match=match):
        load_rules(f)


def test_missing_rules_file(tmp_path):
    with pytest.raises(RulesError, match="does not exist"):
        load_rules(tmp_path / "nope.toml")
