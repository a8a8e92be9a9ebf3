"""The dashboard (/_admin/, docs/dashboard.md) end to end in headless Chromium
(Debian's `chromium`, driven by Playwright; no browser is downloaded) against
the real wasm under Viceroy, as a person uses it from the admin host:

sign in (a wrong token first: a clear message); create a link with a country
rule (an invalid country first: the API's error next to that input); try it;
preview its QR code and download the SVG and PNG, decoded by independent code
(tests/examples/qr_decode.rs) to the short domain's URL; find it in the list;
follow its short URL (302, and the rule's destination from a German address);
edit the destination (the next scan follows); disable it (410); import a file
with one bad line (that line's error shown); read the settings; delete it.
Throughout: every request is recorded, and the token may appear only in the
Authorization header of requests to /_api/v1/; the console must stay free of
errors and CSP violations (the only tolerated console lines are the
browser's own "Failed to load resource" notes for the 401 and 400 this test
provokes on purpose, counted exactly). A screenshot of each page goes to --out.

    python tests/dashboard/test_dashboard.py --url http://127.0.0.1:PORT \
        --token TOKEN --decoder target/debug/examples/qr_decode --out target/dashboard

scripts/test runs it in its `dashboard` stage.
"""
import argparse
import http.client
import re
import shutil
import subprocess
import sys
import traceback
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import expect, sync_playwright

DOMAIN = "go.example.com"
SLUG = "dash-test"
SHORT = f"HTTPS://{DOMAIN.upper()}/{SLUG.upper()}"

args = argparse.ArgumentParser()
args.add_argument("--url", required=True)
args.add_argument("--token", required=True)
args.add_argument("--decoder", required=True)
args.add_argument("--out", required=True)
args = args.parse_args()
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)
BASE = urlsplit(args.url)


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no chromium on PATH (Debian: apt-get install chromium)")


def scan(slug, source="127.0.0.1"):
    """A scan of the short URL as a phone sends it: Host is the short domain,
    from `source` (the fixture geolocation maps 127.0.0.2 to DE). No redirect followed."""
    conn = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=10, source_address=(source, 0))
    conn.request("GET", f"/{slug.upper()}", headers={"Host": DOMAIN, "User-Agent": "dashboard-test"})
    r = conn.getresponse()
    r.read()
    conn.close()
    return r.status, r.getheader("location")


def decode(path):
    out = subprocess.run([args.decoder, str(path)], capture_output=True, text=True)
    assert out.returncode == 0, f"{path} did not decode: {out.stderr}"
    return out.stdout.strip()


def shot(page, name):
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    # A full-page screenshot resizes the viewport for a moment: let layout
    # settle (two frames) before the next click is aimed.
    page.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


requests = []
console = []
failed_loads = []


def on_console(message):
    if message.type not in ("error", "warning"):
        return
    text = message.text
    if message.type == "error" and text.startswith("Failed to load resource: the server responded with a status of"):
        failed_loads.append(text)
    else:
        console.append(f"console {message.type}: {text}")


def check_token_use(token):
    """The token only in the Authorization header, only to the API, never elsewhere."""
    problems = []
    for r in requests:
        if token in r["url"]:
            problems.append(f"token in the URL of {r['method']} {r['url']}")
        for name, value in r["headers"].items():
            if token in value and name.lower() != "authorization":
                problems.append(f"token in header {name} of {r['method']} {r['url']}")
            if name.lower() == "authorization" and not urlsplit(r["url"]).path.startswith("/_api/v1/"):
                problems.append(f"Authorization sent outside the API: {r['method']} {r['url']}")
            if name.lower() == "cookie":
                problems.append(f"a cookie was sent: {r['method']} {r['url']}")
        if r["body"] and token.encode() in r["body"]:
            problems.append(f"token in the body of {r['method']} {r['url']}")
    return problems


def run(page, token):
    checked = []

    def step(what):
        checked.append(what)
        print(f"  ok: {what}", flush=True)

    # The page itself: served with the strict headers.
    response = page.goto(f"{args.url}/_admin/")
    headers = response.headers
    assert response.status == 200, response.status
    csp = headers.get("content-security-policy", "")
    for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"):
        assert directive in csp, f"CSP lacks {directive}: {csp}"
    assert "unsafe-inline" not in csp
    assert headers.get("referrer-policy") == "no-referrer"
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("cache-control") == "no-cache"
    script = page.locator("script").first.get_attribute("src")
    assert re.fullmatch(r"app\.js\?v=[0-9a-f]{16}", script), script
    step("the page is served with a strict CSP, no-referrer, nosniff, and a content-hashed script")
    shot(page, "1-sign-in")

    # Wrong token: a clear message, nothing else shown.
    page.get_by_label("Admin token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_contain_text("not accepted")
    expect(page.locator("#links")).to_be_hidden()
    step("a wrong token shows 'The token was not accepted'")
    shot(page, "2-wrong-token")

    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#links")).to_be_visible()
    expect(page.locator("#domain")).to_have_value(DOMAIN)
    expect(page.locator("#links-table tbody tr").first).to_be_visible()
    step(f"signed in; the domain picker offers the settings' domains ({DOMAIN} first) and the list shows links")
    shot(page, "3-links")

    # Create a link with a country rule; an invalid country first.
    page.get_by_role("button", name="New link").click()
    page.get_by_label("Slug", exact=True).fill(SLUG)
    page.get_by_label("Destination URL", exact=True).first.fill("https://example.com/dash")
    page.get_by_role("button", name="Add rule").click()
    rule = page.locator("#rules .rule").first
    rule.get_by_label("Countries").fill("DEU")
    rule.get_by_label("Destination URL").fill("https://example.com/dash-de")
    page.get_by_role("button", name="Save").click()
    country_error = rule.locator('[data-error-for="when.country"]')
    expect(country_error).to_contain_text("must be")
    expect(rule.get_by_label("Countries")).to_have_attribute("aria-invalid", "true")
    step("an invalid rule country is refused, the API's problem shown next to that rule's Countries input")
    rule.get_by_label("Countries").fill("DE")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#status")).to_contain_text(f"Saved {DOMAIN}/{SLUG}")
    expect(page.locator("#link-tools")).to_be_visible()
    expect(page.locator("#short-url")).to_have_text(f"https://{DOMAIN}/{SLUG}")
    step("created the link with a country rule")

    # Try it: the rule decides for DE, the default for FR.
    page.locator("#t-country").fill("DE")
    page.get_by_role("button", name="Try", exact=True).click()
    expect(page.locator("#try-result")).to_have_text("302 redirect → https://example.com/dash-de (decided by rule 1)")
    page.locator("#t-country").fill("FR")
    page.get_by_role("button", name="Try", exact=True).click()
    expect(page.locator("#try-result")).to_have_text("302 redirect → https://example.com/dash (decided by the default destination)")
    step("try it: DE is sent by rule 1, FR by the default destination")

    # QR designer: a live preview, then SVG and PNG downloads that decode to the short URL.
    preview = page.locator("#qr-preview")
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
    page.select_option("#q-ecc", "H")
    # The preview follows the designer: a new image with the options just set.
    with page.expect_response(lambda r: "/_api/v1/qr/" in r.url and "ecc=H&margin=2" in r.url and r.status == 200):
        page.locator("#q-margin").fill("2")
    page.wait_for_function("document.getElementById('qr-preview').complete && document.getElementById('qr-preview').naturalWidth > 0")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download SVG").click()
    svg = OUT / f"{SLUG}.svg"
    download.value.save_as(svg)
    assert download.value.suggested_filename == f"{SLUG}.svg"
    text = decode(svg)
    assert text == SHORT, f"the SVG decodes to {text!r}, not {SHORT!r}"
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PNG").click()
    png = OUT / f"{SLUG}.png"
    download.value.save_as(png)
    text = decode(png)
    assert text == SHORT, f"the PNG decodes to {text!r}"
    step(f"the QR preview shows; the downloaded SVG and PNG decode to {SHORT}")
    # After the clicks: a full-page screenshot resizes the viewport for a moment,
    # and a click right after it can land where the button was before.
    shot(page, "4-editor")

    # The list: found by prefix search, active.
    page.get_by_role("button", name="Back to the list").click()
    page.get_by_label("Slug starts with").fill("dash")
    page.get_by_role("button", name="Search").click()
    row = page.locator(f'#links-table tbody tr[data-slug="{SLUG}"]')
    expect(row).to_be_visible()
    expect(row.locator(".badge")).to_have_text("active")
    step("the prefix search finds the new link, active")
    shot(page, "5-search")

    status, location = scan(SLUG)
    assert (status, location) == (302, "https://example.com/dash"), (status, location)
    status, location = scan(SLUG, "127.0.0.2")
    assert (status, location) == (302, "https://example.com/dash-de"), (status, location)
    step("its short URL answers 302 to the destination, and from a German address to the rule's")

    # Edit the destination: the next scan follows.
    row.get_by_role("button", name=f"Edit {SLUG}").click()
    expect(page.locator("#f-url")).to_have_value("https://example.com/dash")
    expect(page.locator("#rules .rule").first.get_by_label("Countries")).to_have_value("DE")
    page.locator("#f-url").fill("https://example.com/dash-2")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#status")).to_contain_text(f"Saved {DOMAIN}/{SLUG}")
    assert scan(SLUG) == (302, "https://example.com/dash-2")
    step("edited the destination; the next scan is sent there")

    # Disable in one click: 410; enable again.
    page.get_by_role("button", name="Back to the list").click()
    row = page.locator(f'#links-table tbody tr[data-slug="{SLUG}"]')
    row.get_by_role("button", name=f"Disable {SLUG}").click()
    expect(row.locator(".badge")).to_have_text("disabled")
    assert scan(SLUG) == (410, None)
    row.get_by_role("button", name=f"Enable {SLUG}").click()
    expect(row.locator(".badge")).to_have_text("active")
    assert scan(SLUG) == (302, "https://example.com/dash-2")
    step("disable answers 410 at once; enable brings the redirect back")

    # Import with one bad line: that line's error.
    page.get_by_role("button", name="Import").first.click()
    page.get_by_label("or lines").fill(
        f'{{"domain":"{DOMAIN}","slug":"dash-imported","url":"https://example.com/imported"}}\n'
        f'{{"domain":"{DOMAIN}","slug":"dash-bad","url":"javascript:alert(1)"}}\n'
    )
    page.locator("#import-form").get_by_role("button", name="Import").click()
    rows = page.locator("#import-results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_class("ok")
    expect(rows.nth(1)).to_have_class("failed")
    expect(rows.nth(1).locator("td").nth(3)).to_have_text("400")
    expect(rows.nth(1).locator("td").nth(4)).to_contain_text("url")
    assert scan("dash-imported") == (302, "https://example.com/imported")
    step("an import with one bad line writes the good one and shows line 2's error")
    shot(page, "6-import")

    page.get_by_role("button", name="Settings").click()
    expect(page.locator("#settings-summary")).to_contain_text("Served")
    expect(page.locator("#settings-json")).to_contain_text("destination_hosts")
    step("the settings page shows the domain's effective settings and problems")
    shot(page, "7-settings")

    # Delete with a confirmation.
    page.get_by_role("button", name="Links").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f'#links-table tbody tr[data-slug="{SLUG}"]').get_by_role("button", name=f"Delete {SLUG}").click()
    expect(page.locator(f'#links-table tbody tr[data-slug="{SLUG}"]')).to_have_count(0)
    assert scan(SLUG)[0] == 404
    step("delete asks for confirmation, removes the row, and the short URL answers 404")

    # A reload keeps the session (sessionStorage) without asking again.
    page.reload()
    expect(page.locator("#links")).to_be_visible()
    step("a reload of the tab stays signed in (sessionStorage)")
    return checked


def main():
    problems = []
    with sync_playwright() as p:
        # --no-sandbox: Chromium refuses to start its sandbox as root, which CI is.
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1000, "height": 800}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.on("console", on_console)
        page.on("pageerror", lambda e: console.append(f"page error: {e}"))

        def record(request):
            requests.append({
                "method": request.method,
                "url": request.url,
                "headers": request.all_headers(),
                "body": request.post_data_buffer,
            })
            if urlsplit(request.url).netloc != BASE.netloc and not request.url.startswith(("blob:", "data:")):
                problems.append(f"request outside the service: {request.url}")

        page.on("request", record)
        try:
            checked = run(page, args.token)
        except Exception:
            shot(page, "failure")
            traceback.print_exc()
            for r in requests[-6:]:
                print(f"  recent request: {r['method']} {r['url']}", file=sys.stderr)
            problems.append("a step failed (above); screenshot failure.png")
            checked = []
        browser.close()
    problems += check_token_use(args.token)
    problems += console
    # The wrong token (401) and the invalid country (400) are provoked on
    # purpose; Chromium notes each failed fetch in the console. Nothing else may fail.
    expected = ["401", "400"]
    got = [re.search(r"status of (\d+)", t).group(1) for t in failed_loads]
    if checked and sorted(got) != sorted(expected):
        problems.append(f"failed loads in the console: {failed_loads}, expected one 401 and one 400")
    api_calls = [r for r in requests if "/_api/v1/" in r["url"]]
    if checked and not all(r["headers"].get("authorization", "").startswith("Bearer ") for r in api_calls):
        problems.append("an API request went without the Authorization header")
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"dashboard: {len(checked)} checks passed in Chromium over {len(requests)} requests "
          f"({len(api_calls)} to the API, the token only in their Authorization header); "
          f"screenshots in {OUT}")


main()
