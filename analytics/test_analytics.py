"""Checks, on scan lines the real service wrote, that they load into DuckDB as
they are and that every ready query answers what its title says.

    .tools/analytics-venv/bin/python analytics/test_analytics.py <folder>...

scripts/test runs it over the lines of the black-box tests (QR_EDGE_SCAN_DUMP)
and of the ./scripts/serve smoke test, after analytics/run installed DuckDB.
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path

import duckdb

import scans as analytics

HERE = Path(__file__).resolve().parent
PATHS = sys.argv[1:]
# The scan event's columns (docs/scan-events.md), in their order.
SPEC_FIELDS = (
    "v ts id domain slug outcome status dest rule cache source method country region city continent "
    "asn device os bot ip ua referer lang pop elapsed_us piece class class_reason visitor"
).split()
# The columns schema v 2 added: absent from v 1 lines, hence NULLABLE in the schema.
V2_FIELDS = ["piece", "class", "class_reason", "visitor"]
NULLABLE = {"dest", "country", "region", "city", "continent", "asn", "ip", "ua", "referer", "lang", "pop", *V2_FIELDS}
CLASSES = {"human", "preview", "bot", "monitor", "scanner", "prefetch"}
# What DuckDB's own detection must make of the lines, with no help.
DETECTED = {"v": "BIGINT", "ts": "TIMESTAMP WITH TIME ZONE", "status": "BIGINT", "asn": "BIGINT", "bot": "BOOLEAN", "elapsed_us": "BIGINT"}

FILES = analytics.log_files(PATHS)
LINES = [line for f in FILES for line in Path(f).read_text(encoding="utf-8").splitlines() if line]
EVENTS = [json.loads(line) for line in LINES]
TESTS = []


def test(fn):
    """Registers a test."""
    TESTS.append(fn)
    return fn


def rows(con, sql):
    """The rows of `sql` as dicts."""
    rel = con.sql(sql)
    return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


def is_person(e):
    """What the queries count as a person: class human; a v 1 line (no class) by its bot flag."""
    return e["class"] == "human" if e.get("class") is not None else not e["bot"]


def as_v1(line):
    """`line` as schema v 1 wrote it: without the v 2 columns."""
    event = {k: v for k, v in json.loads(line).items() if k not in V2_FIELDS}
    event["v"] = 1
    return json.dumps(event)


def query(name):
    """The SQL of the ready query whose file name starts with `name`."""
    return next(sql for file, _, sql in analytics.queries() if file.startswith(name))


@test
def there_are_real_scan_lines_to_check():
    assert FILES, f"no files in {PATHS}"
    assert len(LINES) >= 5, f"only {len(LINES)} scan lines in {PATHS}"


@test
def every_line_is_one_json_object_with_the_spec_fields_in_order():
    for line, event in zip(LINES, EVENTS):
        assert list(event) == SPEC_FIELDS, f"fields {list(event)} in {line}"
        assert event["v"] == 2, line


@test
def v2_columns_hold_what_the_schema_says():
    for line, e in zip(LINES, EVENTS):
        assert e["class"] in CLASSES, line
        piece = e["piece"]
        if piece is not None:
            # A piece code a record answered (docs/scan-events.md): logged under the base slug.
            assert 1 <= len(piece) <= 32 and all(c in "abcdefghijklmnopqrstuvwxyz0123456789" for c in piece), line
            assert e["outcome"] in ("redirect", "disabled", "expired", "preview"), line
        assert e["class_reason"] is None or isinstance(e["class_reason"], str), line
        v = e["visitor"]
        if v is not None:
            assert len(v) == 32 and all(c in "0123456789abcdef" for c in v), line
            assert v != e["ip"], line
    assert any(e["visitor"] for e in EVENTS), "no line with a visitor: no scan under an ip_salt"
    assert any(e["visitor"] is None for e in EVENTS), "no line without a visitor"
    assert any(e["piece"] for e in EVENTS), "no line with a piece: no piece-code scan"
    assert any(e["piece"] is None for e in EVENTS), "no line without a piece"


@test
def read_json_alone_loads_every_line_with_the_spec_types():
    con = duckdb.connect()
    described = {name: kind for name, kind, *_ in con.sql(f"DESCRIBE SELECT * FROM {analytics.scans_source(FILES, typed=False)}").fetchall()}
    assert list(described) == SPEC_FIELDS, described
    for name in SPEC_FIELDS:
        if all(e[name] is None for e in EVENTS):
            expected = '"NULL"'  # no value to detect a type from: the typed view supplies it
        else:
            expected = DETECTED.get(name, "VARCHAR")
        assert described[name] == expected, f"{name}: detected {described[name]}, want {expected}"
    [(count,)] = con.sql(f"SELECT count(*) FROM {analytics.scans_source(FILES, typed=False)}").fetchall()
    assert count == len(LINES), f"{count} rows from {len(LINES)} lines"


@test
def the_bigquery_schema_is_the_spec_schema():
    fields = json.loads((HERE / "bigquery-schema.json").read_text())
    assert [f["name"] for f in fields] == SPEC_FIELDS
    for f in fields:
        assert f["mode"] == ("NULLABLE" if f["name"] in NULLABLE else "REQUIRED"), f
        assert f["type"] in analytics.BIGQUERY_TO_DUCKDB, f
        if f["mode"] == "REQUIRED":
            assert all(e[f["name"]] is not None for e in EVENTS), f"{f['name']} is null on some line"


@test
def the_typed_view_loads_the_same_values_as_detection():
    con = analytics.connect(FILES)
    as_text = "SELECT * REPLACE (ts::VARCHAR AS ts) FROM "  # fetching a TIMESTAMPTZ would need pytz
    typed = sorted(map(repr, con.sql(as_text + "scans").fetchall()))
    detected = sorted(map(repr, con.sql(as_text + analytics.scans_source(FILES, typed=False)).fetchall()))
    assert typed == detected, "the typed view and DuckDB's detection disagree"
    [(ts,)] = con.sql("SELECT strftime(min(ts), '%Y-%m-%dT%H:%M:%S.%gZ') FROM scans").fetchall()
    assert ts == min(e["ts"] for e in EVENTS), f"{ts} is not the earliest ts as written"


@test
def gzip_files_load_like_plain_ones():
    with tempfile.TemporaryDirectory() as tmp:
        for i, f in enumerate(FILES):
            with open(f, "rb") as src, gzip.open(os.path.join(tmp, f"2026-03-01T00:00:00.000-{i}.log.gz"), "wb") as dst:
                dst.write(src.read())
        con = analytics.connect(analytics.log_files([tmp]))
        [(count,)] = con.sql("SELECT count(*) FROM scans").fetchall()
    assert count == len(LINES), f"{count} rows from gzip'd files of {len(LINES)} lines"


@test
def scans_per_link_per_day_counts_each_line_once():
    want = Counter((e["ts"][:10], e["domain"], e["slug"]) for e in EVENTS)
    got = rows(analytics.connect(FILES), query("1-"))
    assert {(str(r["day"]), r["domain"], r["slug"]): r["scans"] for r in got} == dict(want)
    for r in got:
        same = [e for e in EVENTS if (e["ts"][:10], e["domain"], e["slug"]) == (str(r["day"]), r["domain"], r["slug"])]
        assert r["people"] == sum(is_person(e) for e in same), r
        assert r["redirects"] == sum(e["outcome"] == "redirect" for e in same), r


@test
def by_country_and_by_device_os_count_people_only():
    people = [e for e in EVENTS if is_person(e)]
    assert people, "no scan by a person in the lines"
    con = analytics.connect(FILES)
    countries = rows(con, query("2-"))
    assert {r["country"]: r["scans"] for r in countries} == dict(Counter(e["country"] or "??" for e in people))
    assert abs(sum(r["pct"] for r in countries) - 100) < 0.1 * len(countries) + 0.01
    devices = rows(con, query("3-"))
    assert {(r["device"], r["os"]): r["scans"] for r in devices} == dict(Counter((e["device"], e["os"]) for e in people))


@test
def by_rule_counts_each_deciding_rule_per_link():
    got = rows(analytics.connect(FILES), query("4-"))
    want = Counter((e["domain"], e["slug"], e["rule"], e["outcome"]) for e in EVENTS)
    assert {(r["domain"], r["slug"], r["rule"], r["outcome"]): r["scans"] for r in got} == dict(want)


@test
def bot_and_stale_shares_add_up_per_domain():
    con = analytics.connect(FILES)
    for r in rows(con, query("5-")):
        same = [e for e in EVENTS if e["domain"] == r["domain"]]
        bots = sum(e["bot"] for e in same)
        assert (r["scans"], r["bots"]) == (len(same), bots), r
        assert r["bot_pct"] == round(100 * bots / len(same), 1), r
    stale = rows(con, query("6-"))
    assert sum(r["scans"] for r in stale) == len(EVENTS)
    for r in stale:
        cache = Counter(e["cache"] for e in EVENTS if e["domain"] == r["domain"])
        assert (r["hit"], r["miss"], r["stale"], r["stale_if_error"]) == (
            cache["hit"], cache["miss"], cache["stale"], cache["stale_if_error"]), r


@test
def humans_vs_rest_counts_each_class_per_link_and_day():
    got = rows(analytics.connect(FILES), query("7-"))
    keys = Counter((e["ts"][:10], e["domain"], e["slug"]) for e in EVENTS)
    assert {(str(r["day"]), r["domain"], r["slug"]): r["scans"] for r in got} == dict(keys)
    plural = {"human": "humans", "preview": "previews", "bot": "bots", "monitor": "monitors",
              "scanner": "scanners", "prefetch": "prefetches"}
    for r in got:
        same = [e for e in EVENTS if (e["ts"][:10], e["domain"], e["slug"]) == (str(r["day"]), r["domain"], r["slug"])]
        for cls, column in plural.items():
            assert r[column] == sum(e["class"] == cls for e in same), (cls, r)
        assert r["unclassified"] == 0, r
        assert r["human_pct"] == round(100 * r["humans"] / r["scans"], 1), r


@test
def by_class_reason_counts_each_piece_of_evidence():
    got = rows(analytics.connect(FILES), query("8-"))
    want = Counter((e["domain"], e["class"], e["class_reason"] or "-") for e in EVENTS)
    assert {(r["domain"], r["class"], r["reason"]): r["scans"] for r in got} == dict(want)


@test
def daily_unique_visitors_count_distinct_visitors_per_link_and_day():
    got = rows(analytics.connect(FILES), query("9-"))
    groups = {}
    for e in EVENTS:
        groups.setdefault((e["ts"][:10], e["domain"], e["slug"]), []).append(e)
    assert {(str(r["day"]), r["domain"], r["slug"]) for r in got} == set(groups)
    for r in got:
        same = groups[(str(r["day"]), r["domain"], r["slug"])]
        assert r["scans"] == len(same), r
        assert r["visitors"] == len({e["visitor"] for e in same if e["visitor"]}), r
        assert r["human_visitors"] == len({e["visitor"] for e in same if e["visitor"] and e["class"] == "human"}), r
        assert r["scans_without_visitor"] == sum(e["visitor"] is None for e in same), r
    assert sum(r["visitors"] for r in got) > 0, "no visitor counted"


@test
def v1_lines_load_next_to_v2_lines_with_null_v2_columns():
    with tempfile.TemporaryDirectory() as tmp:
        old = os.path.join(tmp, "v1.ndjson")
        Path(old).write_text("".join(as_v1(line) + "\n" for line in LINES), encoding="utf-8")
        files = FILES + [old]
        con = analytics.connect(files)
        [(count, v1, v1_with_v2_columns)] = con.sql(
            "SELECT count(*), count(*) FILTER (WHERE v = 1), "
            "count(*) FILTER (WHERE v = 1 AND NOT (piece IS NULL AND class IS NULL AND class_reason IS NULL AND visitor IS NULL)) "
            "FROM scans").fetchall()
        assert (count, v1, v1_with_v2_columns) == (2 * len(LINES), len(LINES), 0)
        # DuckDB's own detection unions the columns of both versions.
        described = [name for name, *_ in con.sql(f"DESCRIBE SELECT * FROM {analytics.scans_source(files, typed=False)}").fetchall()]
        assert described == SPEC_FIELDS, described
        # Every ready query runs over the mix; the class-based ones count v 1 lines as the docs say.
        for name, _, sql in analytics.queries():
            con.sql(sql).fetchall()
        people = sum(r["people"] for r in rows(con, query("1-")))
        assert people == sum(is_person(e) for e in EVENTS) + sum(not e["bot"] for e in EVENTS), people
        assert sum(r["unclassified"] for r in rows(con, query("7-"))) == len(LINES)
        assert sum(r["scans_without_visitor"] for r in rows(con, query("9-"))) == (
            len(LINES) + sum(e["visitor"] is None for e in EVENTS))


@test
def the_run_command_prints_every_table():
    done = subprocess.run([str(HERE / "run"), *PATHS], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{len(LINES)} scans in {len(FILES)} files"), done.stdout[:200]
    for _, title, _ in analytics.queries():
        assert f"## {title}" in done.stdout, f"missing table: {title}"
    assert len(analytics.queries()) == 9


def main():
    failed = 0
    for fn in TESTS:
        try:
            fn()
            print(f"ok   {fn.__name__}")
        except Exception:  # noqa: BLE001 - report every failure, then fail the run
            failed += 1
            print(f"FAIL {fn.__name__}\n{traceback.format_exc()}")
    print(f"analytics: {len(TESTS) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
