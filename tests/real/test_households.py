"""Household estimates on the real demo data: calibration, and the errors stated in data/README.md."""

import re

import pytest

from geo.derive import derive
from geo.rules import DEFAULT_RULES, rules_from_dict
from tests.conftest import DATA


def _readme_errors() -> dict[tuple[str, str], float]:
    rows = {}
    for line in (DATA / "README.md").read_text(encoding="utf-8").splitlines():
        m = re.match(
            r"\|\s*(liechtenstein|monaco)\s*\|\s*([^|]+?)\s*\|\s*(urban|rural)\s*\|\s*[\d,]+\s*\|\s*([+-][\d.]+)%\s*\|",
            line,
        )
        if m:
            rows[(m.group(1), m.group(2))] = float(m.group(4)) / 100
    return rows


def _loo(area) -> dict[str, float]:
    units = area.meta["households"]["calibration"]["units"]
    return {u["name"]: u["loo_error"] for u in units if u["loo_error"] is not None}


def test_monaco_total_within_ten_percent_of_the_tagged_commune(monaco):
    # The commune's figure is Monaco's only fitted one, so this holds by construction when the pipeline is
    # right: it guards that the factor reaches every estimated building and nothing else (the issue asks
    # for it); the held-out Monte-Carlo error below is the check of the estimate itself.
    persons = monaco.layer("buildings")["households"].sum() * DEFAULT_RULES.households.persons_per_household
    assert abs(persons - 39_050) / 39_050 < 0.10


def test_left_out_errors_are_those_stated_in_the_readme(liechtenstein, monaco):
    stated = _readme_errors()
    assert len(stated) == 12
    for name, area in (("liechtenstein", liechtenstein), ("monaco", monaco)):
        got = _loo(area)
        mine = {k[1]: v for k, v in stated.items() if k[0] == name}
        assert set(mine) == set(got), name
        for place, err in mine.items():
            assert got[place] == pytest.approx(err, abs=0.005), place


def test_rederiving_reproduces_the_shipped_estimates(liechtenstein):
    again, report = derive(liechtenstein, DEFAULT_RULES)
    assert report["households"] == liechtenstein.meta["households"]["households"]
    assert _loo(again) == _loo(liechtenstein)


def test_calibration_beats_the_naive_estimate(liechtenstein):
    b = liechtenstein.layer("buildings")
    naive = (b["footprint_m2"] * 2 / 100).sum()
    tagged_households = (
        sum(u["population"] for u in liechtenstein.meta["households"]["calibration"]["units"] if u["role"] == "fit")
        / 2.62
    )
    estimated = b["households"].sum()
    assert naive > 3 * tagged_households
    assert abs(estimated - tagged_households) / tagged_households < 0.02


def test_per_class_calibration_is_what_makes_vaduz_and_schaan_right(liechtenstein):
    pooled, _ = derive(liechtenstein, rules_from_dict({"households": {"per_class_calibration": False}}))
    assert abs(_loo(pooled)["Vaduz"]) > 0.3 and abs(_loo(liechtenstein)["Vaduz"]) < 0.05


def test_estimates_are_labelled(liechtenstein, monaco):
    for area in (liechtenstein, monaco):
        b = area.layer("buildings")
        assert set(b["households_source"]) == {"estimated"}
        assert area.layer("communities")["households_estimated"].all()
        assert (b.loc[~b["residential"].astype(bool), "households"] == 0).all()
