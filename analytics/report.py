"""Scan report: renders scan NDJSON (docs/scan-events.md) into one self-contained
HTML file, charts embedded as PNG data URIs (matplotlib) and tables, plus one PNG
per chart beside it. Run it through analytics/report, which installs the pinned
packages first.

    analytics/report local/logs/scans --out report.html
    analytics/report 'logs/**/*.gz' --links links.ndjson --out report.html
    analytics/report 's3://my-qr-logs/qr-edge/scans/*.gz' --out report.html

Paths are folders (searched recursively), globs or files, plain or gzip'd, or
object-storage URLs (s3://, gs://, ...) that DuckDB reads through its httpfs
extension. Schema v1 lines (before `piece`, `class`, `class_reason`, `visitor`)
are read with the v2 ones: their class is `bot` when `bot` is true, else
`human`, and their visitor is unknown, so they count in no unique-visitor figure.
"""
import argparse
import base64
import html
import io
import json
import math
import os
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

import scans as analytics  # noqa: E402

# The schema v2 columns, typed here too so that the report reads v2 lines even
# where the BigQuery schema file predates them, and v1 lines (all null) alike.
V2_COLUMNS = {"piece": "VARCHAR", "class": "VARCHAR", "class_reason": "VARCHAR", "visitor": "VARCHAR"}
CLASSES = ["human", "preview", "bot", "monitor", "scanner", "prefetch"]
REMOTE = ("s3://", "s3a://", "s3n://", "gs://", "gcs://", "r2://", "az://", "abfss://", "http://", "https://", "hf://")
HUMAN, REST = "#1f77b4", "#c7c7c7"
# A link raises the silence alert when people scanned it in at least this many
# periods and their silence since would happen by chance (Poisson, at its own
# rate) less than once in a hundred: expected scans in the silence >= ln 100.
ALERT_MIN_ACTIVE_PERIODS = 3
ALERT_MIN_EXPECTED = math.log(100)
# The split check fails when observed shares this unlikely arise from the weights.
SPLIT_P_THRESHOLD = 0.01


def sources(paths):
    """Local files under the folders and globs of `paths`, and object-storage URLs as given (DuckDB globs them)."""
    remote = [p for p in paths if p.startswith(REMOTE)]
    return analytics.log_files([p for p in paths if not p.startswith(REMOTE)]) + remote, remote


def connect(files, remote=()):
    """An in-memory DuckDB with the view `scans` over `files` (typed like analytics/run, plus
    the v2 columns) and the view `events`: `scans` with `who` (the class, or its v1 stand-in)
    and `link` (domain/slug)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if remote:
        # httpfs reads s3://, gs://, https:// ...; DuckDB fetches the extension the first
        # time. Credentials come from the environment's usual variables, profiles or
        # roles (the credential_chain provider of DuckDB's aws extension); without one,
        # public objects still read.
        con.execute("INSTALL httpfs; LOAD httpfs")
        for kind in sorted({"s3" if r.startswith(("s3", "r2")) else "gcs" for r in remote if r.startswith(("s3", "r2", "gs", "gcs"))}):
            try:
                con.execute(f"CREATE OR REPLACE SECRET report_{kind} (TYPE {kind}, PROVIDER credential_chain)")
            except duckdb.Error as e:
                print(f"no {kind} credentials from the environment ({e}); reading as anonymous", file=sys.stderr)
    columns = analytics.schema_columns()
    for name, kind in V2_COLUMNS.items():
        columns.setdefault(name, kind)
    listing = "[" + ", ".join(analytics.sql_string(f) for f in files) + "]"
    typed = "{" + ", ".join(f"{analytics.sql_string(k)}: {analytics.sql_string(v)}" for k, v in columns.items()) + "}"
    con.execute(f"CREATE VIEW scans AS SELECT * FROM read_json({listing}, format = 'newline_delimited', columns = {typed})")
    # ts as a plain TIMESTAMP in UTC: fetching a TIMESTAMPTZ into Python would need pytz.
    con.execute(
        """CREATE VIEW events AS SELECT * REPLACE (timezone('UTC', ts) AS ts),
             coalesce("class", CASE WHEN bot THEN 'bot' ELSE 'human' END) AS who,
             domain || '/' || slug AS link
           FROM scans"""
    )
    return con


def rows(con, sql, params=None):
    """The rows of `sql` as dicts."""
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def period(con):
    """The time bucket for charts over time: days when the scans span two days or more, else hours, else minutes."""
    [(first, last)] = con.execute("SELECT min(ts), max(ts) FROM events").fetchall()
    span = (last - first).total_seconds() if first else 0
    return "day" if span >= 2 * 86400 else "hour" if span >= 2 * 3600 else "minute"


def over_time(con, unit, group):
    """Per `group` (domain or link) and period: human scans and the rest."""
    return rows(
        con,
        f"""SELECT {group} AS key, date_trunc('{unit}', ts) AS t,
                   count(*) FILTER (WHERE who = 'human') AS humans, count(*) FILTER (WHERE who <> 'human') AS rest
            FROM events GROUP BY ALL ORDER BY key, t""",
    )


def totals(con, group, limit=None):
    """Per `group`: scans, human scans and their share, most scanned first."""
    return rows(
        con,
        f"""SELECT {group} AS key, count(*) AS scans, count(*) FILTER (WHERE who = 'human') AS humans,
                   round(100.0 * count(*) FILTER (WHERE who = 'human') / count(*), 1) AS human_pct
            FROM events GROUP BY ALL ORDER BY scans DESC, key {f'LIMIT {int(limit)}' if limit else ''}""",
    )


def classes(con):
    """Scans per class, with how many lines carried their class (v2) or had it derived from `bot` (v1)."""
    return rows(
        con,
        """SELECT who AS class, count(*) AS scans, count("class") AS from_class_column,
                  round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
           FROM events GROUP BY who ORDER BY scans DESC, who""",
    )


def class_reasons(con, limit=15):
    """The most frequent evidence for a non-human class."""
    return rows(
        con,
        """SELECT who AS class, class_reason AS reason, count(*) AS scans FROM events
           WHERE who <> 'human' AND class_reason IS NOT NULL GROUP BY ALL ORDER BY scans DESC, class, reason LIMIT ?""",
        [limit],
    )


def visitors_per_day(con):
    """Per UTC day: people's scans, distinct visitors among them, and people's scans with no visitor (v1 lines, no ip_salt)."""
    return rows(
        con,
        """SELECT ts::DATE AS day, count(*) AS human_scans, count(DISTINCT visitor) AS unique_visitors,
                  count(*) FILTER (WHERE visitor IS NULL) AS scans_without_visitor
           FROM events WHERE who = 'human' GROUP BY ALL ORDER BY day""",
    )


def shares(con, column, limit=15):
    """People's scans per value of `column` (null as '(unknown)'), with share."""
    return rows(
        con,
        f"""SELECT coalesce({column}::VARCHAR, '(unknown)') AS key, count(*) AS scans,
                   round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
            FROM events WHERE who = 'human' GROUP BY 1 ORDER BY scans DESC, key LIMIT ?""",
        [limit],
    )


def referrers(con, limit=15):
    """People's scans per referrer host (the scheme-less host of an absolute URL, else the raw value)."""
    return rows(
        con,
        """SELECT coalesce(nullif(regexp_extract(referer, '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]+)', 1), ''), referer) AS key,
                  count(*) AS scans, round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
           FROM events WHERE who = 'human' AND referer IS NOT NULL GROUP BY 1 ORDER BY scans DESC, key LIMIT ?""",
        [limit],
    )


def rules(con):
    """Per link and deciding rule: scans and share of the link's scans."""
    return rows(
        con,
        """SELECT link, rule, count(*) AS scans,
                  round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY link), 1) AS pct
           FROM events GROUP BY link, rule ORDER BY link, scans DESC, rule""",
    )


def pieces(con, limit=30):
    """Per link and piece of a print run: people's scans and the rest, most scanned first."""
    return rows(
        con,
        """SELECT link, piece, count(*) FILTER (WHERE who = 'human') AS humans, count(*) FILTER (WHERE who <> 'human') AS rest,
                  min(ts) AS first, max(ts) AS last
           FROM events WHERE piece IS NOT NULL GROUP BY ALL ORDER BY humans DESC, rest DESC, link, piece LIMIT ?""",
        [limit],
    )


def chi2_sf(x, df):
    """P(X >= x) for X chi-squared with `df` degrees of freedom (closed forms for integer df)."""
    if x <= 0:
        return 1.0
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= (x / 2) / i
            total += term
        return min(1.0, math.exp(-x / 2) * total)
    total, term = 0.0, math.sqrt(x / 2) * 2 / math.sqrt(math.pi)
    for i in range(1, (df - 1) // 2 + 1):
        total += term
        term *= x / (2 * i + 1)
    return min(1.0, math.erfc(math.sqrt(x / 2)) + math.exp(-x / 2) * total)


def load_links(path):
    """link (domain/slug, lower case) → record, from admin import NDJSON (one {"domain", "slug", ...record} per
    line) or from a local KV store's JSON ({"domain/slug": "record JSON"}, fixtures/links.json)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict) and "domain" not in whole:
        return {k.lower(): json.loads(v) if isinstance(v, str) else v for k, v in whole.items()}
    links = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            links[f"{record['domain']}/{record['slug']}".lower()] = record
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            sys.exit(f"{path}:{number}: not an import line with domain and slug ({e})")
    return links


def split_checks(con, links):
    """Per link with split scans: each arm's people (distinct visitors per day where known, else scans),
    share, weight share (when `links` has the link's split) and the chi-squared goodness of fit p-value.
    A split is sticky per visitor, so counting visitors, not their repeat scans, gives independent draws."""
    arms = rows(
        con,
        """SELECT link, CAST(split_part(rule, ':', 2) AS INTEGER) AS arm, count(*) AS scans,
                  count(DISTINCT visitor || ts::DATE::VARCHAR) AS visitor_days, count(*) FILTER (WHERE visitor IS NULL) AS without_visitor
           FROM events WHERE who = 'human' AND rule LIKE 'split:%' GROUP BY ALL ORDER BY link, arm""",
    )
    checks = []
    for link in dict.fromkeys(a["link"] for a in arms):
        mine = [a for a in arms if a["link"] == link]
        by_visitor = all(a["without_visitor"] == 0 for a in mine)
        record = links.get(link) if links else None
        weights = [e.get("weight", 0) for e in record.get("split", [])] if record else None
        counts = {a["arm"]: a["visitor_days"] if by_visitor else a["scans"] for a in mine}
        n = sum(counts.values())
        entries = range(len(weights)) if weights else sorted(counts)
        p = None
        if weights and sum(weights) > 0 and n and max(counts) < len(weights):
            expected = [n * w / sum(weights) for w in weights]
            if all(e > 0 for e in expected):
                stat = sum((counts.get(i, 0) - e) ** 2 / e for i, e in enumerate(expected))
                p = float(f"{chi2_sf(stat, len(weights) - 1):.2g}") if len(weights) > 1 else 1.0
        for i in entries:
            checks.append({
                "link": link, "arm": f"split:{i}", "counted": "visitors" if by_visitor else "scans", "people": counts.get(i, 0),
                "pct": round(100.0 * counts.get(i, 0) / n, 1) if n else None,
                "weight_pct": round(100.0 * weights[i] / sum(weights), 1) if weights and sum(weights) else None,
                "p_value": p,
                "verdict": "no weights (--links)" if not weights else "unknown arm" if max(counts) >= len(weights) else
                "too few scans" if p is None else "matches" if p >= SPLIT_P_THRESHOLD else "DIFFERS",
            })
    return checks


def alerts(con, unit):
    """Links whose people's scans fell to zero after a period of activity: active (human scans) in at least
    ALERT_MIN_ACTIVE_PERIODS periods, and silent since for long enough that chance explains it less than once in
    a hundred (expected scans in the silence, at the link's rate while active, >= ln 100). The silence runs to the
    last period of the whole log; scans by the rest (monitors, bots) during it are counted, not excused."""
    found = rows(
        con,
        f"""WITH per AS (
              SELECT link, date_trunc('{unit}', ts) AS t, count(*) FILTER (WHERE who = 'human') AS humans, count(*) AS scans
              FROM events GROUP BY ALL),
            last_period AS (SELECT max(t) AS t FROM per),
            active AS (
              SELECT link, sum(humans) AS humans, count(*) FILTER (WHERE humans > 0) AS active_periods,
                     min(t) FILTER (WHERE humans > 0) AS first_at, max(t) FILTER (WHERE humans > 0) AS last_human_at
              FROM per GROUP BY link),
            last_human AS (SELECT link, max(ts) AS ts FROM events WHERE who = 'human' GROUP BY link)
            SELECT a.link, a.humans, a.active_periods, a.first_at, a.last_human_at,
                   (SELECT sum(scans) FROM per p WHERE p.link = a.link AND p.t > a.last_human_at) AS others_since,
                   l.t AS log_end, h.ts AS last_human_scan
            FROM active a JOIN last_human h USING (link), last_period l
            WHERE a.active_periods >= {ALERT_MIN_ACTIVE_PERIODS} AND a.last_human_at < l.t""",
    )
    step = {"day": 86400, "hour": 3600, "minute": 60}[unit]
    out = []
    for r in found:
        active_span = (r["last_human_at"] - r["first_at"]).total_seconds() / step + 1
        silent = round((r["log_end"] - r["last_human_at"]).total_seconds() / step)
        expected = r["humans"] / active_span * silent
        if expected >= ALERT_MIN_EXPECTED:
            out.append({
                "link": r["link"], "human_scans_before": r["humans"], "active_periods": r["active_periods"],
                "last_human_scan": r["last_human_scan"], f"silent_{unit}s": silent, "expected_in_silence": round(expected, 1),
                "chance": f"{math.exp(-expected):.1e}", "other_scans_since": r["others_since"] or 0,
            })
    return sorted(out, key=lambda a: -a["expected_in_silence"])


# Charts ---------------------------------------------------------------------


def short(label, limit=40):
    """A chart label cut to `limit` characters (referrers and user agents can be long); tables keep them whole."""
    label = str(label)
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _time_axis(ax, unit):
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=6))
    ax.xaxis.set_major_formatter(mdates.DateFormatter({"day": "%m-%d", "hour": "%d %H:00", "minute": "%H:%M"}[unit]))
    ax.tick_params(labelsize=7)


def chart_over_time(series, keys, unit, title):
    """Small multiples, one per key: stacked bars of people and the rest per period."""
    width = {"day": 0.8, "hour": 0.8 / 24, "minute": 0.8 / 1440}[unit]
    cols = min(3, len(keys))
    rows_ = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(4 * cols, 2.4 * rows_), squeeze=False, sharex=True)
    for ax, key in zip(axes.flat, keys):
        mine = [s for s in series if s["key"] == key]
        at = [s["t"] for s in mine]
        humans = [s["humans"] for s in mine]
        ax.bar(at, humans, width=width, color=HUMAN, label="people")
        ax.bar(at, [s["rest"] for s in mine], width=width, bottom=humans, color=REST, label="the rest")
        ax.set_title(key, fontsize=9)
        _time_axis(ax, unit)
        ax.tick_params(labelbottom=True)  # shared axis, but a last row may be short: label every panel
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{title} (per {unit}, UTC)", fontsize=11)
    fig.tight_layout()
    return fig


def chart_bars(items, title, xlabel="people's scans", color=HUMAN):
    """Horizontal bars, largest on top."""
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(items) + 1.2))
    ax.barh([short(i["key"]) for i in items][::-1], [i["scans"] for i in items][::-1], color=color)
    for y, i in enumerate(items[::-1]):
        ax.text(i["scans"], y, f" {i['scans']} ({i['pct']} %)", va="center", fontsize=7)
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(labelsize=8)
    ax.margins(x=0.2)
    fig.tight_layout()
    return fig


def chart_devices_os(devices, systems):
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 0.3 * max(len(devices), len(systems)) + 1.6))
    for ax, items, title in ((left, devices, "device"), (right, systems, "OS")):
        ax.barh([short(i["key"]) for i in items][::-1], [i["scans"] for i in items][::-1], color=HUMAN)
        for y, i in enumerate(items[::-1]):
            ax.text(i["scans"], y, f" {i['pct']} %", va="center", fontsize=7)
        ax.set_title(f"people's scans by {title}", fontsize=10)
        ax.tick_params(labelsize=8)
        ax.margins(x=0.2)
    fig.tight_layout()
    return fig


def chart_classes(items):
    colours = {"human": HUMAN, "preview": "#ff7f0e", "bot": "#d62728", "monitor": "#9467bd", "scanner": "#8c564b", "prefetch": "#17becf"}
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(items) + 1.2))
    ax.barh([i["class"] for i in items][::-1], [i["scans"] for i in items][::-1], color=[colours.get(i["class"], REST) for i in items][::-1])
    for y, i in enumerate(items[::-1]):
        ax.text(i["scans"], y, f" {i['scans']} ({i['pct']} %)", va="center", fontsize=7)
    ax.set_title("who scanned: scans per class", fontsize=11)
    ax.tick_params(labelsize=8)
    ax.margins(x=0.2)
    fig.tight_layout()
    return fig


def chart_visitors(days):
    fig, ax = plt.subplots(figsize=(8, 3))
    at = [datetime.combine(d["day"], datetime.min.time()) for d in days]
    ax.bar(at, [d["unique_visitors"] for d in days], width=0.8, color=HUMAN, label="unique visitors")
    ax.plot(at, [d["human_scans"] for d in days], color="#ff7f0e", marker="o", markersize=3, label="people's scans")
    ax.set_title("unique visitors per day (UTC)", fontsize=11)
    _time_axis(ax, "day")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def chart_rules(rule_rows, links):
    """Stacked horizontal bars: each link's scans by deciding rule (the most scanned links)."""
    def order(rule):  # default, rule:0, rule:1 ... rule:10, split:0 ..., expired, none
        kind, _, n = rule.partition(":")
        return (["default", "rule", "split", "expired", "none"].index(kind) if kind in ("default", "rule", "split", "expired", "none") else 5,
                int(n) if n.isdigit() else 0, rule)

    names = sorted({r["rule"] for r in rule_rows if r["link"] in links}, key=order)
    palette = plt.get_cmap("tab20")
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(links) + 1.6 + 0.25 * math.ceil(len(names) / 6)), layout="constrained")
    left = [0.0] * len(links)
    for n, name in enumerate(names):
        widths = [next((r["pct"] for r in rule_rows if r["link"] == link and r["rule"] == name), 0.0) for link in links]
        ax.barh([short(link) for link in links][::-1], widths[::-1], left=left[::-1], color=palette(n % 20), label=name)
        left = [a + b for a, b in zip(left, widths)]
    ax.set_xlabel("% of the link's scans", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.set_title("what decided each scan, per link", fontsize=11)
    fig.legend(fontsize=7, ncol=min(len(names), 6), loc="outside lower center")
    return fig


def chart_splits(checks):
    """Per split link: observed share of each arm, and the weight's share as a marker."""
    links = list(dict.fromkeys(c["link"] for c in checks))
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(checks) + 1.4))
    labels = [short(f"{c['link']} {c['arm']}", 50) for c in checks][::-1]
    ax.barh(labels, [c["pct"] or 0 for c in checks][::-1], color=[plt.get_cmap("tab10")(links.index(c["link"]) % 10) for c in checks][::-1])
    weighted = [(label, c["weight_pct"]) for label, c in zip(labels, checks[::-1]) if c["weight_pct"] is not None]
    if weighted:
        ax.scatter([w for _, w in weighted], [label for label, _ in weighted], marker="|", s=300, color="black", zorder=3, label="weight")
        ax.legend(fontsize=7)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of the link's split people", fontsize=8)
    ax.set_title("split arms: observed shares (bars) and weights (marks)", fontsize=11)
    ax.tick_params(labelsize=8)
    fig.tight_layout()
    return fig


def chart_pieces(items):
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(items) + 1.2))
    labels = [short(f"{i['link']}-{i['piece']}") for i in items][::-1]
    ax.barh(labels, [i["humans"] for i in items][::-1], color=HUMAN, label="people")
    ax.barh(labels, [i["rest"] for i in items][::-1], left=[i["humans"] for i in items][::-1], color=REST, label="the rest")
    ax.set_title("pieces of a print run: scans per piece", fontsize=11)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# HTML -----------------------------------------------------------------------

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; } .note { color: #555; } .bad { color: #b00; font-weight: bold; } .summary td { border: none; }
"""


def cell(value):
    if value is None:
        return "<td class=n>–</td>"
    if isinstance(value, float):
        return f"<td class=n>{value:.3g}</td>" if abs(value) < 0.01 and value else f"<td class=n>{value}</td>"
    if isinstance(value, int):
        return f"<td class=n>{value}</td>"
    if isinstance(value, datetime):
        value = value.strftime("%Y-%m-%d %H:%M UTC")  # events' ts is UTC
    text = html.escape(str(value))
    return f'<td class="bad">{text}</td>' if text == "DIFFERS" else f"<td>{text}</td>"


def table(items, empty="none"):
    if not items:
        return f"<p class=note>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(k)}</th>" for k in items[0])
    body = "".join("<tr>" + "".join(cell(v) for v in i.values()) + "</tr>" for i in items)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Report:
    """The sections of the page, and each chart's PNG written beside it."""

    def __init__(self, out):
        self.out = Path(out)
        self.parts = []
        self.charts = []

    def add(self, text):
        self.parts.append(text)

    def chart(self, name, fig, alt):
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
        plt.close(fig)
        png = buffer.getvalue()
        (self.out.parent / f"{self.out.stem}-{name}.png").write_bytes(png)
        self.charts.append(name)
        data = base64.b64encode(png).decode()
        self.add(f'<figure><img id="chart-{name}" data-chart="{name}" alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>')

    def write(self, title):
        page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
                f"<style>{STYLE}</style></head><body>{''.join(self.parts)}</body></html>\n")
        self.out.write_text(page, encoding="utf-8")


def render(con, out, links=None, title="qr-edge scan report", top=12):
    """Writes the report to `out` (and its charts beside it); returns the chart names."""
    report = Report(out)
    unit = period(con)
    [overview] = rows(
        con,
        """SELECT count(*) AS scans, count(*) FILTER (WHERE who = 'human') AS humans, count(DISTINCT link) AS links,
                  count(DISTINCT domain) AS domains, min(ts) AS first, max(ts) AS last,
                  count(*) FILTER (WHERE "class" IS NULL) AS lines_without_class, count(*) FILTER (WHERE visitor IS NULL) AS lines_without_visitor
           FROM events""",
    )
    if not overview["scans"]:
        sys.exit("no scan lines in the given files")
    report.add(f"<h1>{html.escape(title)}</h1>")
    report.add(f"<table class=summary><tbody>"
               f"<tr><td>scans</td>{cell(overview['scans'])}<td>of which people</td>{cell(overview['humans'])}</tr>"
               f"<tr><td>links</td>{cell(overview['links'])}<td>domains</td>{cell(overview['domains'])}</tr>"
               f"<tr><td>from</td>{cell(overview['first'])}<td>to</td>{cell(overview['last'])}</tr></tbody></table>")
    if overview["lines_without_class"]:
        report.add(f"<p class=note>{overview['lines_without_class']} lines carry no <code>class</code> (schema v1): "
                   "they count as <code>bot</code> when their <code>bot</code> is true, else as <code>human</code>.</p>")
    report.add("<p class=note>“People” are scans of class <code>human</code>; “the rest” are previews, bots, monitors, "
               "scanners and prefetches.</p>")

    report.add("<h2>Scans over time</h2>")
    domains = [d["key"] for d in totals(con, "domain", 6)]
    report.chart("domains-over-time", chart_over_time(over_time(con, unit, "domain"), domains, unit, "scans per domain: people and the rest"),
                 "scans over time per domain")
    link_totals = totals(con, "link")
    report.chart("links-over-time", chart_over_time(over_time(con, unit, "link"), [t["key"] for t in link_totals[:top]], unit,
                                                    f"scans per link, the {min(top, len(link_totals))} most scanned"),
                 "scans over time per link")
    report.add(table([{"link": t["key"], "scans": t["scans"], "people": t["humans"], "people %": t["human_pct"]} for t in link_totals[:50]]))

    report.add("<h2>Who scanned</h2>")
    report.chart("classes", chart_classes(classes(con)), "scans per class")
    report.add(table(class_reasons(con), "no class_reason in these lines"))

    report.add("<h2>Unique visitors per day</h2>")
    days = visitors_per_day(con)
    if any(d["unique_visitors"] for d in days):
        report.chart("visitors", chart_visitors(days), "unique visitors per day")
    report.add("<p class=note>Distinct <code>visitor</code> values among people's scans, per UTC day. The visitor hash "
               "changes every day, so days do not add up to visitors over several days. Scans without a visitor "
               "(schema v1 lines, or a service without <code>ip_salt</code>) are counted in no visitor figure.</p>")
    report.add(table(days))

    report.add("<h2>Countries</h2>")
    report.chart("countries", chart_bars(shares(con, "country"), "people's scans by country"), "scans by country")
    report.add("<h2>Devices and operating systems</h2>")
    report.chart("devices-os", chart_devices_os(shares(con, "device"), shares(con, "os")), "scans by device and OS")

    report.add("<h2>Rules and split arms</h2>")
    rule_rows = rules(con)
    report.chart("rules", chart_rules(rule_rows, [t["key"] for t in link_totals[:top]]), "scans by deciding rule per link")
    report.add(table(rule_rows))
    checks = split_checks(con, links)
    if checks:
        report.chart("splits", chart_splits(checks), "split arms: observed shares and weights")
        report.add(f"<p class=note>People landing on each split entry. A split is sticky per visitor, so where every "
                   f"line has a <code>visitor</code> each visitor counts once a day, else every scan counts. "
                   f"{'Weights from the links file; a chi-squared test says DIFFERS when shares this far from the weights arise by chance less than ' + str(int(SPLIT_P_THRESHOLD * 100)) + ' % of the time.' if links else 'Give <code>--links</code> (admin import NDJSON) to compare them with the weights.'}</p>")
        report.add(table(checks))
    else:
        report.add("<p class=note>No scan was decided by a split.</p>")

    report.add("<h2>Top referrers</h2>")
    refs = referrers(con)
    if refs:
        report.chart("referrers", chart_bars(refs, "people's scans by referrer host"), "top referrers")
    report.add(table(refs, "no scan carried a Referer"))

    piece_rows = pieces(con)
    if piece_rows:
        report.add("<h2>Pieces of a print run</h2>")
        report.chart("pieces", chart_pieces(piece_rows), "scans per piece")
        report.add(table(piece_rows))

    report.add("<h2>Alerts: links people stopped scanning</h2>")
    report.add(f"<p class=note>A link people scanned in at least {ALERT_MIN_ACTIVE_PERIODS} {unit}s and then not at all up to "
               f"the end of the log, for long enough that its own rate makes that silence a less than 1 % chance: the "
               f"code may be covered, torn down or reprinted wrong.</p>")
    report.add(table(alerts(con, unit), "no link went silent"))
    report.write(title)
    return report.charts


def main():
    parser = argparse.ArgumentParser(description="Render scan NDJSON into one self-contained HTML report and a PNG per chart.")
    parser.add_argument("paths", nargs="+", help="folders (recursive), globs or files (.gz read as gzip), or s3:// gs:// ... URLs")
    parser.add_argument("--out", required=True, help="the HTML file to write; each chart is also written beside it as <name>-<chart>.png")
    parser.add_argument("--links", help="the links (admin import NDJSON, or a local KV store's links.json), for the split weights")
    parser.add_argument("--title", default="qr-edge scan report")
    args = parser.parse_args()
    files, remote = sources(args.paths)
    if not files:
        sys.exit(f"no log files found in {' '.join(args.paths)}")
    links = load_links(args.links) if args.links else None
    os.makedirs(Path(args.out).resolve().parent, exist_ok=True)
    try:
        charts = render(connect(files, remote), args.out, links, args.title)
    except duckdb.InvalidInputException as e:
        sys.exit(f"cannot read the scan lines: {e}\n(each line must be one JSON object: give the log endpoint the message type 'blank')")
    print(f"{args.out}: {len(charts)} charts ({', '.join(charts)})")


if __name__ == "__main__":
    main()
