"""wangge cameras: one JSON object on stdout with the summary keys the issue names, exit 0 / 2."""

import json

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


def test_propose_with_a_budget_below_the_deficits_exits_0(demo_store_url):
    p, out = run(["cameras", "propose", "monaco", "--budget", "1", "--json"], demo_store_url)
    assert p.returncode == 0, p.stderr
    s = out["summary"]
    assert s["proposed"] <= 1 and {"deficits", "deficits_met", "villages_still_short", "solver_status", "gap"} <= set(s)
    json.dumps(out)


def test_bad_budget_and_unknown_area_exit_2(demo_store_url):
    p, out = run(["cameras", "propose", "monaco", "--budget", "-3", "--json"], demo_store_url)
    assert p.returncode == 2 and out["error"]["context"]["parameter"] == "budget" and "--budget" in out["error"]["hint"]
    p, out = run(["cameras", "coverage", "nowhere", "--json"], demo_store_url)
    assert p.returncode == 2 and out["error"]["type"] == "NotFoundError"
