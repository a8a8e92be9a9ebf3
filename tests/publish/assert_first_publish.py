#!/usr/bin/env python3
"""Checks one rehearsed `fastly compute publish` (scripts/publish-rehearsal).

Reads the CLI's output and the calls tests/publish/fastly_api_standin.py
recorded, and fails (exit 1, one line per problem) unless the publish ran
unattended and left the account as docs/resources.md and docs/deploying.md
say (issue 11 item 7):
- no prompt in the output (stdin was /dev/null, so a prompt means the CLI
  waited for an answer or took a default the operator never saw);
- no call the stand-in did not expect (every 4xx/501 is one) and no clean-up
  (`DELETE /service/...`, which the CLI sends when a step fails);
- KV store `links`, config store `settings` (empty: no document written, so
  an owner's existing `defaults` is never overwritten) and secret store
  `secrets` created under those names, or,
  when the account already has them, linked without creating a second one;
- each store linked to the service version that was activated, under its
  name (the name the code opens it by, src/resources.rs; docs/resources.md);
- no secret written (admin_token and ip_salt are set afterwards, with --stdin);
- a domain, the package (the bytes of the built package file) and the
  activation, in that order;
- no backend named `origin` (docs/resources.md: without a link API an unknown
  slug is a 404; a placeholder origin would make it a 503);
- the log endpoints `scans`, `audit` and `diagnostics`, which CLI 16.1.0 cannot create, listed
  in the output, and the docs (docs/deploying.md) showing the commands that
  create them and set the two secrets.
Prints a short summary of the calls.
"""

import argparse
import hashlib
import json
import re
import sys

# Every prompt of the CLI's publish path (fastly/cli pkg/commands/compute,
# pkg/commands/compute/setup, pkg/app: the text.Prompt and AskYesNo strings).
PROMPTS = [
    "[y/N]", "Press ^C", "Service name: [", "Domain: [", "Domain already taken",
    "Hostname or IP address: [", "Port: [", "Backend (hostname", "Backend port number", "Backend name: [",
    "Value: ", "File: [", "Use a different store name",
]

STORES = {"kv": "links", "config": "settings", "secret": "secrets"}  # docs/resources.md

# Every call a first publish may make (fastly/cli pkg/commands/compute/deploy.go
# and setup/*.go). The stand-in also answers the later deployment steps, so a
# call outside this list is a change in what the publish does, and fails here.
PUBLISH_CALLS = [
    ("GET", r"/realms/fastly/\.well-known/openid-configuration"),
    ("POST", r"/service"),
    ("GET", r"/service/[^/]+/version/1/domain"),
    ("POST", r"/service/[^/]+/version/1/(domain|backend|resource)"),
    ("GET", r"/resources/stores/(kv|config|secret)(/[^/]+)?"),
    ("POST", r"/resources/stores/(kv|config|secret)"),
    ("PUT", r"/resources/stores/config/[^/]+/item/[^/]+"),
    ("PUT", r"/service/[^/]+/version/1/(package|activate)"),
]
LOG_ENDPOINTS = ["scans", "audit", "diagnostics"]


def doc_commands(text):
    """The shell commands of a Markdown file, continuation lines joined."""
    return re.sub(r"\\\n\s*", " ", text).splitlines()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", required=True)
    ap.add_argument("--output", required=True, help="the CLI's stdout and stderr")
    ap.add_argument("--package", required=True, help="the package file the publish built")
    ap.add_argument("--docs", nargs="+", required=True, help="the Markdown files that show the deployment steps")
    ap.add_argument("--existing", action="store_true", help="the account already had the three stores")
    args = ap.parse_args()

    calls = json.load(open(args.record))["calls"]
    output = open(args.output, errors="replace").read()
    problems = []

    def fail(msg):
        problems.append(msg)

    for prompt in PROMPTS:
        if prompt in output:
            fail(f"the CLI printed a prompt ({prompt!r}): the publish is not unattended")

    for c in calls:
        if c.get("unexpected"):
            fail(f"unexpected call #{c['seq']} {c['method']} {c['path']} -> {c['status']}: {c.get('error')}")
        if c["method"] == "DELETE":
            fail(f"the CLI cleaned up (#{c['seq']} {c['method']} {c['path']}): a step of the publish failed")
        elif not any(c["method"] == m and re.fullmatch(p, c["path"]) for m, p in PUBLISH_CALLS):
            fail(f"call #{c['seq']} {c['method']} {c['path']} is not one a first publish makes")

    def find(method, pattern, body=None):
        out = []
        for c in calls:
            if c["method"] == method and re.fullmatch(pattern, c["path"]) and c["status"] < 400:
                if body is None or all((c.get("body") or {}).get(k) == v for k, v in body.items()):
                    out.append(c)
        return out

    created = find("POST", r"/service")
    if len(created) != 1:
        fail(f"expected one service created, saw {len(created)}")
        print("\n".join(f"FAILED: {p}" for p in problems), file=sys.stderr)
        return 1
    service_calls = [c for c in calls if c["path"].startswith("/service/")]
    sid = service_calls[0]["path"].split("/")[2] if service_calls else None
    svc = rf"/service/{re.escape(sid or '-')}/version/1"

    # Stores: created under their names (fresh account) or linked (existing).
    store_ids = {}
    for kind, name in STORES.items():
        made = find("POST", rf"/resources/stores/{kind}", {"name": name})
        if args.existing:
            if made:
                fail(f"{kind} store {name!r} already existed but the CLI created another")
        elif len(made) != 1:
            fail(f"{kind} store {name!r} not created exactly once (saw {len(made)})")
        links = [c for c in find("POST", rf"{svc}/resource") if c["body"].get("store_kind") == kind]
        if len(links) != 1:
            fail(f"{kind} store {name!r} not linked to the service version exactly once (saw {len(links)})")
            continue
        link = links[0]["body"]
        if link.get("name") != name or link.get("store_name") != name:
            fail(f"{kind} store linked as {link.get('name')!r} (store {link.get('store_name')!r}), want {name!r}")
        store_ids[kind] = link.get("resource_id")
        if args.existing and not find("GET", rf"/resources/stores/{kind}/{re.escape(store_ids[kind] or '-')}"):
            fail(f"{kind} store {name!r} was linked without looking up the account's existing store")

    items = find("PUT", rf"/resources/stores/config/{re.escape(store_ids.get('config') or '-')}/item/[^/]+")
    if items:
        keys = sorted(c["body"]["item_key"] for c in items)
        fail(f"the publish wrote config store items {keys}: it must leave the owner's settings documents alone")

    secret_writes = [c for c in calls if re.fullmatch(r"/resources/stores/secret/[^/]+/secrets.*", c["path"])]
    if secret_writes:
        fail(f"the publish wrote secrets ({len(secret_writes)} calls); admin_token and ip_salt are set afterwards")

    backends = find("POST", rf"{svc}/backend")
    names = [c["body"].get("name") for c in backends]
    if "origin" in names:
        fail("the publish created a backend named 'origin' (docs/resources.md: a KV-only service has none)")

    domains = find("POST", rf"{svc}/domain")
    if len(domains) != 1:
        fail(f"expected one domain created, saw {len(domains)}")
    uploads = find("PUT", rf"{svc}/package")
    digest = hashlib.sha256(open(args.package, "rb").read()).hexdigest()
    if len(uploads) != 1 or uploads[0]["body"].get("sha256") != digest:
        fail(f"the package {args.package} (sha256 {digest[:12]}…) was not uploaded exactly once")
    activations = find("PUT", rf"{svc}/activate")
    if len(activations) != 1:
        fail(f"expected one activation of version 1, saw {len(activations)}")
    elif uploads and activations[0]["seq"] < uploads[0]["seq"]:
        fail("the version was activated before the package was uploaded")
    else:
        last_edit = max([c["seq"] for c in find("POST", rf"{svc}/(resource|domain|backend)")] or [0])
        if activations[0]["seq"] < last_edit:
            fail("the version was activated before all its resources were linked")

    for name in LOG_ENDPOINTS:
        if not re.search(rf"Name:\S*\s+{name}\b", output):
            fail(f"the CLI did not list the log endpoint {name!r} the operator must create")

    readme = [line for path in args.docs for line in doc_commands(open(path).read())]
    for name in LOG_ENDPOINTS:
        if not any(re.search(r"fastly (service )?logging \S+ create", l) and f"--name {name}" in l
                   and "--message-type blank" in l for l in readme):
            fail(f"the docs ({', '.join(args.docs)}) have no `fastly service logging <provider> create --name {name} --message-type blank`")
    for secret in ("admin_token", "ip_salt"):
        if not any("fastly secret-store-entry create" in l and f"--name {secret}" in l and "--stdin" in l for l in readme):
            fail(f"the docs ({', '.join(args.docs)}) have no `fastly secret-store-entry create --name {secret} --stdin`")

    print("first publish against the stand-in, calls in order:")
    for c in calls:
        body = c.get("body") or {}
        shown = {k: v for k, v in body.items() if k in ("name", "address", "port", "item_key", "resource_id", "bytes")}
        print(f"  {c['seq']:2d} {c['status']} {c['method']:6s} {c['path']} {json.dumps(shown) if shown else ''}".rstrip())
    print(f"service {sid}: stores {', '.join(f'{k} {v}' for k, v in STORES.items())} "
          f"{'already in the account, linked' if args.existing else 'created and linked'}; "
          f"domain {domains[0]['body'].get('name') if domains else '?'}; backends {names or 'none'}; "
          f"package {uploads[0]['body'].get('bytes') if uploads else '?'} bytes; version 1 activated; "
          f"log endpoints {', '.join(LOG_ENDPOINTS)} left to docs/deploying.md")

    if problems:
        print("\n".join(f"FAILED: {p}" for p in problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
