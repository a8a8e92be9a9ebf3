"""Opens a report of analytics/report in headless Chromium (the system's, Debian's
`chromium` package, driven by Playwright; no browser is downloaded) and checks
that it is whole and self-contained:

- it loads with no console error and no page error;
- it makes no request but for the file itself and data: URIs (it works offline);
- each expected chart is there, decoded and drawn (a PNG with a size).

    .tools/analytics-venv/bin/python analytics/check_report.py REPORT.html \\
        --scans SCANS... --screenshot target/report/report.png

The charts expected are named with --expect, or worked out with --scans from
the raw lines the report was made of (read here with the json module, not
DuckDB): the six charts every report has, and visitors, splits, referrers and
pieces when some line has what they show.

scripts/test runs it in its `report` stage; the screenshot stays as a test artefact.
"""
import argparse
import gzip
import json
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

import scans as analytics

ALWAYS = ["domains-over-time", "links-over-time", "classes", "countries", "devices-os", "rules"]


def expected_charts(paths):
    """The charts a report of the scan lines under `paths` must show."""
    events = []
    for f in analytics.log_files(paths):
        with (gzip.open(f, "rt", encoding="utf-8") if f.endswith(".gz") else open(f, encoding="utf-8")) as lines:
            events += [json.loads(line) for line in lines if line.strip()]
    people = [e for e in events if e.get("class", "bot" if e["bot"] else "human") == "human"]
    charts = list(ALWAYS)
    if any(e.get("visitor") for e in people):
        charts.append("visitors")
    if any(e["rule"].startswith("split:") for e in people):
        charts.append("splits")
    if any(e["referer"] for e in people):
        charts.append("referrers")
    if any(e.get("piece") for e in events):
        charts.append("pieces")
    return charts


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no chromium on PATH (Debian: apt-get install chromium)")


def check(report, expected, screenshot):
    """The problems found (empty when the report is good); writes the full-page screenshot."""
    problems = []
    url = Path(report).resolve().as_uri()
    with sync_playwright() as p:
        # --no-sandbox: Chromium refuses to start its sandbox as root, which CI is.
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

        def only_local(route):
            if route.request.url == url or route.request.url.startswith("data:"):
                route.continue_()
            else:
                problems.append(f"request outside the file: {route.request.url}")
                route.abort()

        page.route("**/*", only_local)
        page.goto(url, wait_until="load")
        charts = page.eval_on_selector_all(
            "img[data-chart]",
            """imgs => imgs.map(i => ({name: i.dataset.chart, src: i.src.slice(0, 22), complete: i.complete,
                                       width: i.naturalWidth, height: i.naturalHeight, shown: i.getBoundingClientRect().width}))""",
        )
        found = {c["name"]: c for c in charts}
        for name in expected:
            c = found.get(name)
            if c is None:
                problems.append(f"chart {name} is missing")
            elif not (c["src"] == "data:image/png;base64," and c["complete"] and c["width"] > 0 and c["height"] > 0 and c["shown"] > 0):
                problems.append(f"chart {name} is not a drawn embedded PNG: {c}")
        for name in found:
            if name not in expected:
                problems.append(f"chart {name} was not expected")
        Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=screenshot, full_page=True)
        browser.close()
    return problems, sorted(found)


def main():
    parser = argparse.ArgumentParser(description="Check a scan report in headless Chromium.")
    parser.add_argument("report")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--expect", help="comma-separated chart names the report must show, and no other")
    which.add_argument("--scans", nargs="+", help="the scan lines the report was made of: the charts they call for")
    parser.add_argument("--screenshot", required=True, help="where to write the full-page screenshot (PNG)")
    args = parser.parse_args()
    expected = [n for n in args.expect.split(",") if n] if args.expect else expected_charts(args.scans)
    problems, found = check(args.report, expected, args.screenshot)
    if problems:
        sys.exit(f"{args.report}: " + "\n  ".join(["FAILED in Chromium:"] + problems))
    print(f"{args.report}: loads in Chromium with no console error and no outside request; charts {', '.join(found)}; screenshot {args.screenshot}")


if __name__ == "__main__":
    main()
