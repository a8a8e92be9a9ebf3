#!/usr/bin/env python3
"""Checks the deployment steps after the first publish, as scripts/publish-rehearsal ran them.

The rehearsal runs the console blocks of the docs (the steps of
docs/deploying.md) that the API stand-in can
answer (tests/publish/readme_commands.py script) against the service the
rehearsed publish created. This reads the calls recorded after the publish
and the stand-in's final state, and fails (exit 1, one line per problem)
unless those steps completed what the publish leaves undone (issue 11 item 7,
docs/resources.md, settings.md, scan-events.md and admin-api.md):
- `admin_token` and `ip_salt` stored in the `secrets` store, the admin token
  exactly as long as the token the operator kept (no trailing newline, so
  `Authorization: Bearer $ADMIN_TOKEN` matches);
- the `settings` store holding JSON-object documents of at most 8,000 bytes,
  `defaults` with a non-empty `destination_hosts` (without it the admin API
  refuses writes) and at least one `{domain}` document;
- an `origin` backend, and the log endpoints `scans` and `audit` with
  `message_type` `blank` (one JSON line per log line);
- the last activated version carrying all of them, the three store links
  and the package;
- no call the stand-in did not expect.
"""

import argparse
import json
import re
import sys

HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", required=True)
    ap.add_argument("--after", type=int, required=True, help="calls up to this number were the publish")
    ap.add_argument("--admin-token-length", type=int, required=True, help="length of the token the steps generated")
    args = ap.parse_args()

    record = json.load(open(args.record))
    calls = [c for c in record["calls"] if c["seq"] > args.after]
    problems = []
    fail = problems.append

    if not calls:
        fail("the deployment steps made no API call")
    for c in calls:
        if c.get("unexpected"):
            fail(f"unexpected call #{c['seq']} {c['method']} {c['path']} -> {c['status']}: {c.get('error')}")

    secrets = {c["body"]["name"]: c["body"] for c in calls
               if re.fullmatch(r"/resources/stores/secret/[^/]+/secrets", c["path"]) and c["status"] < 400}
    for name in ("admin_token", "ip_salt"):
        if name not in secrets:
            fail(f"the deployment steps did not store the secret {name!r}")
        elif secrets[name].get("store_name") != "secrets":
            fail(f"secret {name!r} went to store {secrets[name].get('store_name')!r}, not 'secrets'")
    if "admin_token" in secrets and secrets["admin_token"]["plaintext_bytes"] != args.admin_token_length:
        fail(f"admin_token was stored as {secrets['admin_token']['plaintext_bytes']} bytes, but the token the operator "
             f"keeps is {args.admin_token_length}: a trailing newline makes every admin call a 401")
    if "ip_salt" in secrets and secrets["ip_salt"]["plaintext_bytes"] < 32:
        fail(f"ip_salt is {secrets['ip_salt']['plaintext_bytes']} bytes: a keyed hash needs a long random key")

    settings = [s for s in record["stores"]["config"] if s["name"] == "settings"]
    items = {c["body"]["item_key"]: c["body"]["item_value"] for c in calls
             if re.fullmatch(r"/resources/stores/config/[^/]+/item/[^/]+", c["path"]) and c["status"] < 400}
    if not settings:
        fail("there is no 'settings' config store")
    for key, value in items.items():
        if len(value.encode()) > 8000:
            fail(f"settings document {key!r} is {len(value.encode())} bytes, above the config store's 8,000")
        try:
            doc = json.loads(value)
        except ValueError as exc:
            fail(f"settings document {key!r} is not JSON: {exc}")
            continue
        if not isinstance(doc, dict):
            fail(f"settings document {key!r} is not a JSON object (docs/settings.md)")
        if key != "defaults" and not HOST.fullmatch(key):
            fail(f"settings key {key!r} is neither 'defaults' nor a lower-case host (docs/settings.md)")
    try:
        hosts = json.loads(items.get("defaults", "{}")).get("destination_hosts")
    except (ValueError, AttributeError):
        hosts = None
    if not hosts:
        fail("the deployment steps leave 'defaults' without destination_hosts: the admin API would refuse every write")
    if not any(k != "defaults" for k in items):
        fail("the deployment steps write no {domain} settings document")

    activations = [c for c in calls if c["path"].endswith("/activate") and c["status"] < 400]
    if not activations:
        fail("the deployment steps never activate a version")
    else:
        sid, number = re.fullmatch(r"/service/([^/]+)/version/(\d+)/activate", activations[-1]["path"]).groups()
        version = record["services"][sid][number]
        if not version["active"]:
            fail(f"version {number} is not the active one at the end")
        if "origin" not in version["backends"]:
            fail(f"the active version {number} has no 'origin' backend (backends: {version['backends']})")
        for name in ("scans", "audit", "diagnostics"):
            loggers = [lg for lg in version["loggers"] if lg["name"] == name]
            if not loggers:
                fail(f"the active version {number} has no log endpoint {name!r}")
            elif loggers[0]["message_type"] != "blank":
                fail(f"log endpoint {name!r} has message_type {loggers[0]['message_type']!r}: lines would not be NDJSON")
        for name in ("links", "settings", "secrets"):
            if name not in version["resources"]:
                fail(f"the active version {number} lost the link to store {name!r}")
        if not version["package"]:
            fail(f"the active version {number} has no package")
        print(f"deployment steps after the publish: {len(calls)} calls; secrets {', '.join(sorted(secrets))} set "
              f"(admin_token {secrets.get('admin_token', {}).get('plaintext_bytes')} bytes); settings documents "
              f"{', '.join(sorted(items))}; version {number} active with backends {version['backends']}, log endpoints "
              f"{', '.join(lg['name'] + ' (' + lg['message_type'] + ')' for lg in version['loggers'])}")

    print("deployment steps against the stand-in, calls in order:")
    for c in calls:
        body = c.get("body") or {}
        shown = {k: v for k, v in body.items() if k in ("name", "item_key", "plaintext_bytes", "message_type")}
        print(f"  {c['seq']:2d} {c['status']} {c['method']:6s} {c['path']} {json.dumps(shown) if shown else ''}".rstrip())
    if problems:
        print("\n".join(f"FAILED: {p}" for p in problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
