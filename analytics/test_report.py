"""Checks the report's figures (analytics/report.py) against counts made here
from the raw lines with the json module, on two sets of lines: the synthetic
v1+v2 log of analytics/fixtures/make_scans.py (ten days, a link people stopped
scanning, a split off its weights, a print run) and real lines the service wrote.

    .tools/analytics-venv/bin/python analytics/test_report.py <folder>...

scripts/test runs it in its `report` stage over the black-box and serve scan lines.
"""
import base64
import gzip
import json
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path

import report
import scans as analytics

HERE = Path(__file__).resolve().parent
REAL = sys.argv[1:]
TMP = Path(tempfile.mkdtemp(prefix="qr-edge-report-"))
FIXTURE = TMP / "scans"
subprocess.run([sys.executable, str(HERE / "fixtures" / "make_scans.py"), str(FIXTURE)], check=True)
LINKS = report.load_links(HERE / "fixtures" / "links.ndjson")
TESTS = []


def test(fn):
    """Registers a test."""
    TESTS.append(fn)
    return fn


def read(paths):
    """The events of every file under `paths`, plain or gzip'd."""
    events = []
    for f in analytics.log_files(paths):
        with (gzip.open(f, "rt", encoding="utf-8") if f.endswith(".gz") else open(f, encoding="utf-8")) as lines:
            events += [json.loads(line) for line in lines if line.strip()]
    return events


def who(e):
    """The class of a line: its own (v2) or, for a v1 line, bot when `bot` is true, else human."""
    return e["class"] if "class" in e else "bot" if e["bot"] else "human"


def con_of(paths):
    return report.connect(analytics.log_files(paths))


FIX = read([str(FIXTURE)])
REAL_EVENTS = read(REAL)


@test
def the_fixture_mixes_v1_and_v2_lines_plain_and_gzipped():
    assert Counter(e["v"] for e in FIX).keys() == {1, 2}
    assert any(f.endswith(".gz") for f in analytics.log_files([str(FIXTURE)]))
    assert len(REAL_EVENTS) >= 5, f"only {len(REAL_EVENTS)} real scan lines in {REAL}"
    [(count,)] = con_of([str(FIXTURE)]).execute("SELECT count(*) FROM events").fetchall()
    assert count == len(FIX)


@test
def each_line_counts_in_its_class_and_v1_lines_in_bot_or_human():
    for events, paths in ((FIX, [str(FIXTURE)]), (REAL_EVENTS, REAL)):
        got = {r["class"]: (r["scans"], r["from_class_column"]) for r in report.classes(con_of(paths))}
        want = Counter(who(e) for e in events)
        from_column = Counter(who(e) for e in events if "class" in e)
        assert got == {k: (n, from_column[k]) for k, n in want.items()}, (got, want)


@test
def unique_visitors_per_day_count_distinct_visitors_of_people_and_v1_lines_in_none():
    for events, paths in ((FIX, [str(FIXTURE)]), (REAL_EVENTS, REAL)):
        got = {str(r["day"]): (r["human_scans"], r["unique_visitors"], r["scans_without_visitor"]) for r in report.visitors_per_day(con_of(paths))}
        want = {}
        for day in sorted({e["ts"][:10] for e in events if who(e) == "human"}):
            people = [e for e in events if e["ts"][:10] == day and who(e) == "human"]
            want[day] = (len(people), len({e["visitor"] for e in people if e.get("visitor")}), sum(not e.get("visitor") for e in people))
        assert got == want, (got, want)
    first_day = {r["day"].isoformat(): r for r in report.visitors_per_day(con_of([str(FIXTURE)]))}["2026-11-01"]
    assert first_day["unique_visitors"] == 0 and first_day["scans_without_visitor"] == first_day["human_scans"] > 0


@test
def the_alert_names_the_link_people_stopped_scanning_and_no_other():
    con = con_of([str(FIXTURE)])
    found = report.alerts(con, report.period(con))
    assert [a["link"] for a in found] == ["go.example.com/flyer"], found
    flyer = [e for e in FIX if f"{e['domain']}/{e['slug']}" == "go.example.com/flyer"]
    last = max(e["ts"] for e in flyer if who(e) == "human")
    assert found[0]["last_human_scan"].strftime("%Y-%m-%dT%H:%M:%S") == last[:19], (found[0], last)
    assert found[0]["human_scans_before"] == sum(who(e) == "human" for e in flyer)
    assert found[0]["other_scans_since"] == sum(e["ts"][:10] > last[:10] for e in flyer) > 0
    # The same link, with the log cut before its silence: nothing to raise.
    cut = TMP / "cut"
    cut.mkdir()
    for f in analytics.log_files([str(FIXTURE)]):
        if f.endswith(".ndjson"):  # days 1-5 only
            (cut / Path(f).name).write_bytes(Path(f).read_bytes())
    con = con_of([str(cut)])
    assert report.alerts(con, report.period(con)) == []


@test
def the_split_check_flags_only_the_split_off_its_weights():
    checks = report.split_checks(con_of([str(FIXTURE)]), LINKS)
    verdicts = {c["link"]: c["verdict"] for c in checks}
    assert verdicts == {"go.example.com/ab": "matches", "go.example.com/promo": "DIFFERS"}, checks
    assert {(c["link"], c["arm"]): c["weight_pct"] for c in checks} == {
        ("go.example.com/ab", "split:0"): 70.0, ("go.example.com/ab", "split:1"): 30.0,
        ("go.example.com/promo", "split:0"): 50.0, ("go.example.com/promo", "split:1"): 50.0}
    # v1 lines (no visitor) on the first day: every people's scan counts, as written.
    want = Counter((f"{e['domain']}/{e['slug']}", e["rule"]) for e in FIX if who(e) == "human" and e["rule"].startswith("split:"))
    assert {(c["link"], c["arm"]): c["people"] for c in checks} == dict(want)
    assert all(c["counted"] == "scans" for c in checks)
    bare = report.split_checks(con_of([str(FIXTURE)]), None)
    assert {c["verdict"] for c in bare} == {"no weights (--links)"} and all(c["weight_pct"] is None for c in bare)


@test
def a_split_of_v2_lines_counts_each_visitor_once_a_day():
    v2 = TMP / "v2"
    v2.mkdir()
    for f in analytics.log_files([str(FIXTURE)])[1:]:
        (v2 / Path(f).name).write_bytes(Path(f).read_bytes())
    checks = report.split_checks(con_of([str(v2)]), LINKS)
    events = read([str(v2)])
    want = Counter()
    for link, arm, day, visitor in {(f"{e['domain']}/{e['slug']}", e["rule"], e["ts"][:10], e["visitor"]) for e in events
                                     if who(e) == "human" and e["rule"].startswith("split:")}:
        want[(link, arm)] += 1
    assert {(c["link"], c["arm"]): c["people"] for c in checks} == dict(want)
    assert all(c["counted"] == "visitors" for c in checks)


@test
def the_chi_squared_tail_matches_the_tables():
    for x, df, p in ((3.841, 1, 0.05), (5.991, 2, 0.05), (7.815, 3, 0.05), (9.488, 4, 0.05), (6.635, 1, 0.01), (11.345, 3, 0.01)):
        assert abs(report.chi2_sf(x, df) - p) < 5e-4, (x, df, report.chi2_sf(x, df))
    assert report.chi2_sf(0, 3) == 1.0


@test
def pieces_count_people_and_the_rest_per_piece():
    got = {(r["link"], r["piece"]): (r["humans"], r["rest"]) for r in report.pieces(con_of([str(FIXTURE)]), limit=1000)}
    want = {}
    for e in FIX:
        if e.get("piece"):
            h, r = want.get((f"{e['domain']}/{e['slug']}", e["piece"]), (0, 0))
            want[(f"{e['domain']}/{e['slug']}", e["piece"])] = (h + (who(e) == "human"), r + (who(e) != "human"))
    assert got == want and len(want) == 12, (got, want)


@test
def countries_devices_referrers_and_rules_add_up():
    for events, paths in ((FIX, [str(FIXTURE)]), (REAL_EVENTS, REAL)):
        con = con_of(paths)
        people = [e for e in events if who(e) == "human"]
        assert {r["key"]: r["scans"] for r in report.shares(con, "country", 1000)} == dict(Counter(e["country"] or "(unknown)" for e in people))
        assert {r["key"]: r["scans"] for r in report.shares(con, "os", 1000)} == dict(Counter(e["os"] for e in people))
        hosts = Counter((re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]+)", e["referer"]) or [None, e["referer"]])[1] for e in people if e["referer"])
        assert {r["key"]: r["scans"] for r in report.referrers(con, 1000)} == dict(hosts)
        rules = Counter((f"{e['domain']}/{e['slug']}", e["rule"]) for e in events)
        assert {(r["link"], r["rule"]): r["scans"] for r in report.rules(con)} == dict(rules)


@test
def links_load_from_import_ndjson_and_from_a_kv_store_json():
    assert LINKS["go.example.com/ab"]["split"][1]["weight"] == 30
    kv = report.load_links(HERE.parent / "fixtures" / "links.json")
    assert kv["go.example.com/ab"]["split"][0]["weight"] == 70


@test
def object_storage_paths_go_to_duckdb_as_given_and_local_ones_are_listed():
    files, remote = report.sources(["s3://bucket/qr-edge/scans/*.gz", str(FIXTURE), "gs://b/scans/**/*.log.gz"])
    assert remote == ["s3://bucket/qr-edge/scans/*.gz", "gs://b/scans/**/*.log.gz"]
    assert files == analytics.log_files([str(FIXTURE)]) + remote


@test
def the_command_writes_one_self_contained_page_and_a_png_per_chart():
    out = TMP / "out" / "scans.html"
    done = subprocess.run([str(HERE / "report"), str(FIXTURE), "--links", str(HERE / "fixtures" / "links.ndjson"), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    charts = re.findall(r'<img id="chart-([a-z-]+)" data-chart="\1" alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    names = [name for name, _ in charts]
    assert names == ["domains-over-time", "links-over-time", "classes", "visitors", "countries", "devices-os", "rules", "splits", "referrers", "pieces"], names
    for name, data in charts:
        png = (out.parent / f"scans-{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and base64.b64decode(data) == png, name
    assert not re.search(r'(src|href)="(?!data:)', page), "the page links to something outside itself"
    assert "go.example.com/flyer" in page.split("Alerts")[1]
    assert "DIFFERS" in page


def main():
    failed = 0
    for fn in TESTS:
        try:
            fn()
            print(f"ok   {fn.__name__}")
        except Exception:  # noqa: BLE001 - report every failure, then fail the run
            failed += 1
            print(f"FAIL {fn.__name__}\n{traceback.format_exc()}")
    shutil.rmtree(TMP, ignore_errors=True)
    print(f"report: {len(TESTS) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
