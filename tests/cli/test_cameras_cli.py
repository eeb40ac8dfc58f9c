"""wangge cameras: one JSON object on stdout with the summary keys the issue names, exit 0 / 2."""

from tests.cli.test_cli import run


def test_check_json_and_the_audit_file(demo_store_url, tmp_path):
    p, out = run(["cameras", "check", "liechtenstein", "--json", "--out", str(tmp_path), "--format", "csv"],
                 demo_store_url)  # fmt: skip
    assert p.returncode == 0, p.stderr
    s = out["summary"]
    assert {"communities", "communities_short", "natural_villages", "natural_villages_short", "cameras_counted",
            "working_rate"} <= set(s)  # fmt: skip
    text = (tmp_path / "cameras-liechtenstein.csv").read_text(encoding="utf-8-sig")
    assert text.startswith("层级,区划代码,名称") and "Planken" in text


TWO_SHORT = """
[cameras]
per_urban_community = 0
per_administrative_village = 0

[cameras.per_village]
"Monaco-Ville" = 2  # no camera: 2 short
"Fontvieille" = 3   # one camera: 2 short
"""


def test_propose_with_a_budget_below_the_deficits_exits_0_and_names_what_remains(demo_store_url, tmp_path):
    rules = tmp_path / "county.toml"
    rules.write_text(TWO_SHORT, encoding="utf-8")
    p, out = run(["cameras", "propose", "monaco", "--budget", "2", "--json"], demo_store_url, rules=rules)
    assert p.returncode == 0, p.stderr
    s = out["summary"]
    # two villages short by 2 each: a budget of 2 meets one of them, and the report says which one remains
    assert (s["proposed"], s["deficits"], s["deficits_met"], s["villages_still_short"]) == (2, 2, False, 1)
    assert s["solver_status"] == "Optimal" and s["gap"] == 0
    assert isinstance(s["households_newly_covered"], int) and isinstance(s["street_newly_covered_m"], float)
    (still,) = out["villages_still_short"]
    assert still["name"] in ("Monaco-Ville", "Fontvieille") and still["deficit_before"] == 2
    met = {"Monaco-Ville", "Fontvieille"} - {still["name"]}
    assert {p["community"] for p in out["proposals"]} == met
    assert any("below" in n for n in out["notes"])
    p, _ = run(["cameras", "propose", "monaco", "--budget", "2"], demo_store_url, rules=rules)
    assert p.returncode == 0 and f"still short: {still['name']}" in p.stdout and "1 still short" in p.stdout


def test_coverage_json_lists_villages(demo_store_url):
    p, out = run(["cameras", "coverage", "monaco", "--json"], demo_store_url)
    assert p.returncode == 0, p.stderr
    assert {"street_covered_share", "households_covered_share", "seconds"} <= set(out["summary"])
    assert len(out["communities"]) == 9 and 0 < out["summary"]["street_covered_share"] < 1
    assert out["grids"] == []  # Monaco's demo store has no adopted plan


def test_bad_budget_and_unknown_area_exit_2(demo_store_url):
    p, out = run(["cameras", "propose", "monaco", "--budget", "-3", "--json"], demo_store_url)
    assert p.returncode == 2 and out["error"]["context"]["parameter"] == "budget" and "--budget" in out["error"]["hint"]
    p, out = run(["cameras", "coverage", "nowhere", "--json"], demo_store_url)
    assert p.returncode == 2 and out["error"]["type"] == "NotFoundError"


def test_quota_rules_naming_an_unknown_village_or_class_exit_2(demo_store_url, tmp_path):
    village = tmp_path / "village.toml"
    village.write_text('[cameras.per_village]\n"Atlantis" = 3\n', encoding="utf-8")
    p, out = run(["cameras", "check", "monaco", "--json"], demo_store_url, rules=village)
    assert p.returncode == 2 and out["error"]["type"] == "QuotaRuleError", p.stderr
    error = out["error"]
    assert "Atlantis" in error["detail"] and error["detail_zh"] and error["context"]["key"] == "Atlantis"
    klass = tmp_path / "class.toml"
    klass.write_text("[cameras.per_class]\nsuburban = 3\n", encoding="utf-8")
    p, out = run(["cameras", "check", "monaco", "--json"], demo_store_url, rules=klass)
    assert p.returncode == 2 and out["error"]["type"] == "RulesError" and "suburban" in out["error"]["detail"]
