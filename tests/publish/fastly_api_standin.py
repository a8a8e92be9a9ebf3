#!/usr/bin/env python3
"""A local stand-in of the Fastly API, for rehearsing `fastly compute publish`.

Issue 11 item 7: the first publish of a fresh account must run unattended.
scripts/publish-rehearsal points the real Fastly CLI 16.1.0 at this server
(FASTLY_API_ENDPOINT for the API, FASTLY_ACCOUNT_ENDPOINT for the OpenID
metadata the CLI fetches at start) and then reads the calls recorded here.

It answers the calls a first publish makes on a fresh account, and those of
the deployment steps of docs/deploying.md after it (secret-store entries, config-store entries, a
backend and log endpoints on a cloned version, activation), with the URL
shapes and response bodies of the Go client the CLI is built on
(github.com/fastly/go-fastly v17: service_details.go, service_version.go,
domain.go, backend.go, resource.go, kv_store.go, config_store.go,
config_store_item.go, secret_store.go, compute_package.go, logging_s3.go).
It checks what the real API checks where that matters to the rehearsal: the
API token (the `Fastly-Key` header), that the
service and version exist, that a version is not edited after activation, that
a resource link names a store that exists, that a package upload is a gzip
archive in the `package` form field. Anything else is answered 501 (an
unknown route) or 4xx with an `application/problem+json` body naming the call,
which the CLI prints, and is recorded as `"unexpected": true`: a missing
route shows up in the test's output, never as a silent success.

Every call is appended to the JSON file given by --record (rewritten after
each call, so it is complete whenever the CLI exits): method, path, query,
status, and a summary of the body (form fields, JSON fields, or the uploaded
package's size and SHA-256; never a secret: a secret-store entry is recorded by
name and length, and form fields named like keys or passwords are redacted).

Secret-store entries are encrypted by the CLI to a client key the API signs
with Ed25519 (go-fastly ClientKey). The stand-in signs its own client key
(pure-Python Ed25519, RFC 8032 section 6), so the CLI must run with
FASTLY_USE_API_SIGNING_KEY=1 to accept a signing key other than Fastly's.

Python standard library only, loopback only.
"""

import argparse
import base64
import copy
import hashlib
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CUSTOMER_ID = "standincustomer00000001"
# A sealed box (libsodium crypto_box_seal, what go-fastly's ClientKey.Encrypt
# makes) is the plaintext plus a 32-byte ephemeral key and a 16-byte tag.
SEALED_BOX_OVERHEAD = 48
SECRETISH = re.compile(r"secret|password|access_key|private|token", re.I)


# ---- Ed25519 signing (RFC 8032 section 6, the reference code) ----------------
ED_P = 2**255 - 19
ED_Q = 2**252 + 27742317777372353535851937790883648493
ED_D = -121665 * pow(121666, ED_P - 2, ED_P) % ED_P
ED_SQRT_M1 = pow(2, (ED_P - 1) // 4, ED_P)


def _ed_add(P, Q):
    A, B = (P[1] - P[0]) * (Q[1] - Q[0]) % ED_P, (P[1] + P[0]) * (Q[1] + Q[0]) % ED_P
    C, D = 2 * P[3] * Q[3] * ED_D % ED_P, 2 * P[2] * Q[2] % ED_P
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F, G * H, F * G, E * H)


def _ed_mul(s, P):
    Q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            Q = _ed_add(Q, P)
        P = _ed_add(P, P)
        s >>= 1
    return Q


def _ed_compress(P):
    zinv = pow(P[2], ED_P - 2, ED_P)
    x, y = P[0] * zinv % ED_P, P[1] * zinv % ED_P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def _ed_base():
    y = 4 * pow(5, ED_P - 2, ED_P) % ED_P
    x2 = (y * y - 1) * pow(ED_D * y * y + 1, ED_P - 2, ED_P)
    x = pow(x2, (ED_P + 3) // 8, ED_P)
    if (x * x - x2) % ED_P != 0:
        x = x * ED_SQRT_M1 % ED_P
    if x & 1:
        x = ED_P - x
    return (x, y, 1, x * y % ED_P)


ED_G = _ed_base()


def _ed_expand(secret):
    h = hashlib.sha512(secret).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def ed25519_public(secret):
    return _ed_compress(_ed_mul(_ed_expand(secret)[0], ED_G))


def ed25519_sign(secret, msg):
    a, prefix = _ed_expand(secret)
    A = _ed_compress(_ed_mul(a, ED_G))
    r = int.from_bytes(hashlib.sha512(prefix + msg).digest(), "little") % ED_Q
    R = _ed_compress(_ed_mul(r, ED_G))
    h = int.from_bytes(hashlib.sha512(R + A + msg).digest(), "little") % ED_Q
    return R + int.to_bytes((r + h * a) % ED_Q, 32, "little")


class State:
    """What the account holds: created by the calls, read by later calls."""

    def __init__(self, token, existing_stores):
        self.token = token
        self.lock = threading.Lock()
        self.calls = []
        self.counter = 0
        self.services = {}  # id -> {"name", "type", "versions": {n: version}}
        self.stores = {"kv": {}, "config": {}, "secret": {}}  # kind -> id -> {"name", ...}
        self.signing_secret = os.urandom(32)
        self.client_keys = set()
        for kind, name in existing_stores:
            self.new_store(kind, name)

    def new_id(self, prefix):
        """A unique id of 22 characters, as Fastly's ids; the prefix says what it names."""
        self.counter += 1
        return f"{prefix}{self.counter:0{22 - len(prefix)}d}"

    def new_store(self, kind, name):
        store_id = self.new_id(kind)
        self.stores[kind][store_id] = {"id": store_id, "name": name, "items": {}}
        return self.stores[kind][store_id]

    def store_by_id(self, store_id):
        for kind, stores in self.stores.items():
            if store_id in stores:
                return kind, stores[store_id]
        return None, None


def version_json(service_id, v):
    return {
        "number": v["number"],
        "service_id": service_id,
        "active": v["active"],
        "locked": v["locked"],
        "deployed": v["active"],
        "staging": False,
        "testing": False,
        "comment": v.get("comment", ""),
    }


def problem(status, title, detail):
    return status, {"type": "about:blank", "title": title, "status": status, "detail": detail}, "application/problem+json"


def parse_multipart(content_type, body):
    """The parts of a multipart/form-data body: name -> (filename, bytes)."""
    m = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not m:
        return {}
    boundary = b"--" + m.group(1).encode()
    parts = {}
    for chunk in body.split(boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        head, _, data = chunk.partition(b"\r\n\r\n")
        data = data[:-2] if data.endswith(b"\r\n") else data
        disposition = re.search(rb'name="([^"]*)"(?:; filename="([^"]*)")?', head)
        if disposition:
            name = disposition.group(1).decode()
            filename = disposition.group(2).decode() if disposition.group(2) else None
            parts[name] = (filename, data)
    return parts


class Handler(BaseHTTPRequestHandler):
    server_version = "fastly-api-standin/1"
    protocol_version = "HTTP/1.1"

    # Routes: (method, pattern, handler name). Patterns match the path only.
    ROUTES = [
        ("GET", r"/realms/fastly/\.well-known/openid-configuration", "openid"),
        ("POST", r"/service", "create_service"),
        ("GET", r"/service/(?P<sid>[^/]+)", "get_service"),
        ("GET", r"/service/(?P<sid>[^/]+)/details", "get_service_details"),
        ("DELETE", r"/service/(?P<sid>[^/]+)", "delete_service"),
        ("GET", r"/service/(?P<sid>[^/]+)/version", "list_versions"),
        ("GET", r"/service/(?P<sid>[^/]+)/version/(?P<v>\d+)", "get_version"),
        ("GET", r"/service/(?P<sid>[^/]+)/version/(?P<v>\d+)/domain", "list_domains"),
        ("POST", r"/service/(?P<sid>[^/]+)/version/(?P<v>\d+)/domain", "create_domain"),
        ("GET", r"/service/(?P<sid>[^/]+)/version/(?P<v>\d+)/backend", "list_backends"),
        ("POST", r"/service/(?P<sid>[^/]+)/version/(?P<v>\d+)/backend", "create_backend"),
        ("GET", r"/service/(?P<sid>[^/]+)/version/(?P<v>\d+)/resource", "list_resources"),
        ("POST", r"/service/(?P<sid>[^/]+)/version/(?P<v>\d+)/resource", "create_resource"),
        ("GET", r"/service/(?P<sid>[^/]+)/version/(?P<v>\d+)/package", "get_package"),
        ("PUT", r"/service/(?P<sid>[^/]+)/version/(?P<v>\d+)/package", "upload_package"),
        ("PUT", r"/service/(?P<sid>[^/]+)/version/(?P<v>\d+)/activate", "activate"),
        # Before the store routes, which would read these as store ids (the first match wins).
        ("POST", r"/resources/stores/secret/client-key", "client_key"),
        ("GET", r"/resources/stores/secret/signing-key", "signing_key"),
        ("GET", r"/resources/stores/(?P<kind>kv|config|secret)", "list_stores"),
        ("POST", r"/resources/stores/(?P<kind>kv|config|secret)", "create_store"),
        ("GET", r"/resources/stores/(?P<kind>kv|config|secret)/(?P<store>[^/]+)", "get_store"),
        ("PUT", r"/resources/stores/config/(?P<store>[^/]+)/item/(?P<key>[^/]+)", "upsert_config_item"),
        # The deployment steps after the first publish (docs/deploying.md).
        ("PUT", r"/service/(?P<sid>[^/]+)/version/(?P<v>\d+)/clone", "clone_version"),
        ("POST", r"/service/(?P<sid>[^/]+)/version/(?P<v>\d+)/logging/(?P<provider>[a-z0-9]+)", "create_logging"),
        ("POST", r"/resources/stores/secret/(?P<store>[^/]+)/secrets", "create_secret"),
        ("PUT", r"/resources/stores/secret/(?P<store>[^/]+)/secrets", "create_secret"),
    ]

    def log_message(self, fmt, *args):  # the record file is the log; keep stderr for problems
        pass

    # ---- plumbing -------------------------------------------------------

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        state = self.server.state
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.body = body
        self.form = {}
        self.json_body = None
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            self.form = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        elif ctype.startswith("application/json") and body:
            try:
                self.json_body = json.loads(body)
            except ValueError:
                self.json_body = None
        self.summary = self.form or self.json_body or ({"bytes": len(body)} if body else None)
        if isinstance(self.summary, dict):
            self.summary = {k: ("<redacted>" if SECRETISH.search(k) else v) for k, v in self.summary.items()}

        handler = None
        allowed = False
        for route_method, pattern, name in self.ROUTES:
            m = re.fullmatch(pattern, path)
            if m:
                allowed = True
                if route_method == method:
                    handler = (getattr(self, name), m.groupdict())
                    break

        with state.lock:
            if handler is None:
                what = "method not allowed" if allowed else "no such route"
                status, payload, content_type = problem(
                    501, "Not implemented by the stand-in",
                    f"fastly_api_standin: {what}: {method} {path} (add it to tests/publish/fastly_api_standin.py if the CLI needs it)")
            elif path != "/realms/fastly/.well-known/openid-configuration" and self.headers.get("Fastly-Key") != state.token:
                status, payload, content_type = problem(401, "Unauthorized", "fastly_api_standin: missing or wrong Fastly-Key")
            else:
                try:
                    result = handler[0](**handler[1])
                except Exception as exc:  # a bug here must show, not hang the CLI
                    result = problem(500, "Stand-in error", f"fastly_api_standin: {type(exc).__name__}: {exc}")
                status, payload = result[0], result[1]
                content_type = result[2] if len(result) > 2 else "application/json"
            call = {
                "seq": len(state.calls) + 1,
                "method": method,
                "path": path,
                "query": {k: v[-1] for k, v in parse_qs(url.query).items()},
                "status": status,
                "body": self.summary,
            }
            if status >= 400:
                call["unexpected"] = True
                call["error"] = payload.get("detail") if isinstance(payload, dict) else None
                print(f"fastly_api_standin: {status} {method} {self.path}: {call['error']}", file=sys.stderr, flush=True)
            state.calls.append(call)
            tmp = self.server.record + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"calls": state.calls, "stores": {
                    kind: [{"id": s["id"], "name": s["name"], "items": sorted(s["items"])} for s in stores.values()]
                    for kind, stores in state.stores.items()}, "services": {
                    sid: {str(n): {"active": v["active"], "domains": v["domains"],
                                   "backends": [b["name"] for b in v["backends"]],
                                   "resources": [r["name"] for r in v["resources"]],
                                   "loggers": v["loggers"], "package": v["package"] is not None}
                          for n, v in svc["versions"].items()}
                    for sid, svc in state.services.items()}}, f, indent=1)
            os.replace(tmp, self.server.record)

        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # ---- helpers --------------------------------------------------------

    def service(self, sid):
        return self.server.state.services.get(sid)

    def version(self, sid, v):
        svc = self.service(sid)
        return svc["versions"].get(int(v)) if svc else None

    def editable(self, sid, v):
        """None when the version may be edited, else the problem answer (as the API: 404, or 409 once active)."""
        ver = self.version(sid, v)
        if ver is None:
            return problem(404, "Not found", f"fastly_api_standin: no version {v} of service {sid}")
        if ver["active"] or ver["locked"]:
            return problem(409, "Conflict", f"fastly_api_standin: version {v} of service {sid} is locked (already activated)")
        return None

    # ---- routes ---------------------------------------------------------

    def openid(self):
        base = f"http://{self.headers.get('Host')}"
        return 200, {
            "issuer": f"{base}/realms/fastly",
            "authorization_endpoint": f"{base}/realms/fastly/protocol/openid-connect/auth",
            "token_endpoint": f"{base}/realms/fastly/protocol/openid-connect/token",
            "jwks_uri": f"{base}/realms/fastly/protocol/openid-connect/certs",
        }

    def create_service(self):
        name, kind = self.form.get("name"), self.form.get("type")
        if not name:
            return problem(400, "Bad request", "fastly_api_standin: service name missing")
        if kind != "wasm":
            return problem(400, "Bad request", f"fastly_api_standin: service type must be wasm, got {kind!r}")
        state = self.server.state
        sid = state.new_id("svc")
        state.services[sid] = {
            "id": sid, "name": name, "type": kind,
            "versions": {1: {"number": 1, "active": False, "locked": False,
                             "domains": [], "backends": [], "resources": [], "loggers": [], "package": None}},
        }
        return 200, self.service_json(sid)

    def service_json(self, sid):
        svc = self.service(sid)
        versions = [version_json(sid, v) for v in svc["versions"].values()]
        active = [v["number"] for v in svc["versions"].values() if v["active"]]
        return {"id": sid, "name": svc["name"], "type": svc["type"], "customer_id": CUSTOMER_ID,
                "comment": "", "version": active[-1] if active else None, "versions": versions}

    def get_service(self, sid):
        if not self.service(sid):
            return problem(404, "Not found", f"fastly_api_standin: no service {sid}")
        return 200, self.service_json(sid)

    def get_service_details(self, sid):
        if not self.service(sid):
            return problem(404, "Not found", f"fastly_api_standin: no service {sid}")
        d = self.service_json(sid)
        latest = max(self.service(sid)["versions"])
        d["version"] = version_json(sid, self.service(sid)["versions"][latest])
        d["active_version"] = None
        return 200, d

    def delete_service(self, sid):
        # The CLI deletes the new service when a later step fails (deploy.go CleanupNewService).
        if not self.service(sid):
            return problem(404, "Not found", f"fastly_api_standin: no service {sid}")
        del self.server.state.services[sid]
        return 200, {"status": "ok"}

    def list_versions(self, sid):
        if not self.service(sid):
            return problem(404, "Not found", f"fastly_api_standin: no service {sid}")
        return 200, [version_json(sid, v) for v in self.service(sid)["versions"].values()]

    def get_version(self, sid, v):
        ver = self.version(sid, v)
        if ver is None:
            return problem(404, "Not found", f"fastly_api_standin: no version {v} of service {sid}")
        return 200, version_json(sid, ver)

    def list_domains(self, sid, v):
        ver = self.version(sid, v)
        if ver is None:
            return problem(404, "Not found", f"fastly_api_standin: no version {v} of service {sid}")
        return 200, [{"name": d, "service_id": sid, "version": int(v), "comment": ""} for d in ver["domains"]]

    def create_domain(self, sid, v):
        refused = self.editable(sid, v)
        if refused:
            return refused
        name = self.form.get("name")
        if not name:
            return problem(400, "Bad request", "fastly_api_standin: domain name missing")
        ver = self.version(sid, v)
        if name in ver["domains"]:
            return problem(409, "Conflict", f"fastly_api_standin: domain {name} exists")
        ver["domains"].append(name)
        return 200, {"name": name, "service_id": sid, "version": int(v), "comment": ""}

    def list_backends(self, sid, v):
        ver = self.version(sid, v)
        if ver is None:
            return problem(404, "Not found", f"fastly_api_standin: no version {v} of service {sid}")
        return 200, [dict(b, service_id=sid, version=int(v)) for b in ver["backends"]]

    def create_backend(self, sid, v):
        refused = self.editable(sid, v)
        if refused:
            return refused
        name, address = self.form.get("name"), self.form.get("address")
        if not name or not address:
            return problem(400, "Bad request", "fastly_api_standin: backend name and address are required")
        backend = {"name": name, "address": address, "port": int(self.form.get("port") or 80)}
        self.version(sid, v)["backends"].append(backend)
        return 200, dict(backend, service_id=sid, version=int(v))

    def list_resources(self, sid, v):
        ver = self.version(sid, v)
        if ver is None:
            return problem(404, "Not found", f"fastly_api_standin: no version {v} of service {sid}")
        return 200, ver["resources"]

    def create_resource(self, sid, v):
        refused = self.editable(sid, v)
        if refused:
            return refused
        resource_id, name = self.form.get("resource_id"), self.form.get("name")
        kind, store = self.server.state.store_by_id(resource_id or "")
        if store is None:
            return problem(404, "Not found", f"fastly_api_standin: no store with id {resource_id!r} to link")
        link = {"id": self.server.state.new_id("link"), "name": name or store["name"], "resource_id": resource_id,
                "resource_type": {"kv": "kv-store", "config": "config-store", "secret": "secret-store"}[kind],
                "service_id": sid, "version": int(v), "href": f"/resources/stores/{kind}/{resource_id}"}
        self.version(sid, v)["resources"].append(link)
        # The record names the store kind, so the driver can tell which store was linked.
        self.summary = dict(self.summary or {}, store_kind=kind, store_name=store["name"])
        return 200, link

    def get_package(self, sid, v):
        ver = self.version(sid, v)
        if ver is None or ver["package"] is None:
            return problem(404, "Not found", f"fastly_api_standin: no package on version {v} of service {sid}")
        return 200, ver["package"]

    def upload_package(self, sid, v):
        refused = self.editable(sid, v)
        if refused:
            return refused
        parts = parse_multipart(self.headers.get("Content-Type"), self.body)
        if "package" not in parts:
            return problem(400, "Bad request", "fastly_api_standin: multipart field 'package' missing")
        filename, data = parts["package"]
        if not data.startswith(b"\x1f\x8b"):
            return problem(400, "Bad request", "fastly_api_standin: the package is not a gzip archive")
        digest = hashlib.sha256(data).hexdigest()
        self.summary = {"package": filename, "bytes": len(data), "sha256": digest}
        package = {"id": self.server.state.new_id("pkg"), "service_id": sid, "version": int(v),
                   "metadata": {"size": len(data), "hashsum": digest, "files_hash": digest, "language": "rust"}}
        self.version(sid, v)["package"] = package
        return 200, package

    def activate(self, sid, v):
        ver = self.version(sid, v)
        if ver is None:
            return problem(404, "Not found", f"fastly_api_standin: no version {v} of service {sid}")
        if ver["package"] is None:
            return problem(400, "Bad request", f"fastly_api_standin: version {v} has no package to activate")
        if not ver["backends"]:
            # As on Fastly: a version without a backend cannot be activated (deploy.go says so too).
            return problem(400, "Bad request", f"fastly_api_standin: version {v} has no backend")
        for other in self.service(sid)["versions"].values():
            other["active"] = False
        ver["active"] = ver["locked"] = True
        return 200, version_json(sid, ver)

    def list_stores(self, kind):
        stores = [{"id": s["id"], "name": s["name"]} for s in self.server.state.stores[kind].values()]
        if kind == "config":
            return 200, stores
        if kind == "kv":
            return 200, {"data": stores, "meta": {}}
        return 200, {"data": stores, "meta": {"limit": 100}}

    def create_store(self, kind):
        name = (self.json_body or {}).get("name") if kind != "config" else self.form.get("name")
        if not name:
            return problem(400, "Bad request", f"fastly_api_standin: {kind} store name missing")
        if any(s["name"] == name for s in self.server.state.stores[kind].values()):
            return problem(409, "Conflict", f"fastly_api_standin: a {kind} store named {name} exists")
        store = self.server.state.new_store(kind, name)
        return 200, {"id": store["id"], "name": name}

    def get_store(self, kind, store):
        s = self.server.state.stores[kind].get(store)
        if s is None:
            return problem(404, "Not found", f"fastly_api_standin: no {kind} store {store}")
        return 200, {"id": s["id"], "name": s["name"]}

    def upsert_config_item(self, store, key):
        s = self.server.state.stores["config"].get(store)
        if s is None:
            return problem(404, "Not found", f"fastly_api_standin: no config store {store}")
        value = self.form.get("item_value")
        if value is None:
            return problem(400, "Bad request", "fastly_api_standin: item_value missing")
        s["items"][key] = value
        self.summary = {"item_key": key, "item_value": value}
        return 200, {"store_id": store, "item_key": key, "item_value": value}

    def clone_version(self, sid, v):
        ver = self.version(sid, v)
        if ver is None:
            return problem(404, "Not found", f"fastly_api_standin: no version {v} of service {sid}")
        versions = self.service(sid)["versions"]
        number = max(versions) + 1
        clone = copy.deepcopy(ver)
        clone.update(number=number, active=False, locked=False)
        for link in clone["resources"]:
            link["version"] = number
        versions[number] = clone
        return 200, version_json(sid, clone)

    def create_logging(self, sid, v, provider):
        refused = self.editable(sid, v)
        if refused:
            return refused
        name = self.form.get("name")
        if not name:
            return problem(400, "Bad request", f"fastly_api_standin: {provider} endpoint name missing")
        ver = self.version(sid, v)
        if any(lg["name"] == name for lg in ver["loggers"]):
            return problem(409, "Conflict", f"fastly_api_standin: log endpoint {name} exists")
        logger = {"name": name, "provider": provider, "message_type": self.form.get("message_type", "classic")}
        ver["loggers"].append(logger)
        return 200, {"name": name, "service_id": sid, "version": int(v),
                     "message_type": logger["message_type"], "path": self.form.get("path")}

    def client_key(self):
        public = os.urandom(32)  # any 32 bytes are an X25519 public key; the stand-in never decrypts
        self.server.state.client_keys.add(public)
        signature = ed25519_sign(self.server.state.signing_secret, public)
        return 200, {"public_key": base64.b64encode(public).decode(), "signature": base64.b64encode(signature).decode(),
                     "expires_at": "2099-01-01T00:00:00Z"}

    def signing_key(self):
        return 200, {"signing_key": base64.b64encode(ed25519_public(self.server.state.signing_secret)).decode()}

    def create_secret(self, store):
        s = self.server.state.stores["secret"].get(store)
        if s is None:
            return problem(404, "Not found", f"fastly_api_standin: no secret store {store}")
        body = self.json_body or {}
        name = body.get("name")
        try:
            sealed = base64.b64decode(body.get("secret") or "", validate=True)
            client_key = base64.b64decode(body.get("client_key") or "", validate=True)
        except ValueError:
            return problem(400, "Bad request", "fastly_api_standin: secret and client_key must be base64")
        if not name:
            return problem(400, "Bad request", "fastly_api_standin: secret name missing")
        if client_key not in self.server.state.client_keys or len(sealed) <= SEALED_BOX_OVERHEAD:
            return problem(400, "Bad request", "fastly_api_standin: the secret is not sealed to a client key this API issued")
        if self.command == "POST" and name in s["items"]:
            return problem(409, "Conflict", f"fastly_api_standin: secret {name} exists (use --recreate-allow)")
        # Only the length of the plaintext is kept: enough to show a trailing newline was not stored.
        plaintext_bytes = len(sealed) - SEALED_BOX_OVERHEAD
        s["items"][name] = plaintext_bytes
        self.summary = {"name": name, "plaintext_bytes": plaintext_bytes, "store_name": s["name"]}
        digest = base64.b64encode(hashlib.sha256(sealed).digest()).decode()
        return 200, {"name": name, "digest": digest, "created_at": "2026-01-01T00:00:00Z", "recreated": self.command == "PUT"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the chosen port here once listening")
    ap.add_argument("--record", required=True, help="JSON file of every call, rewritten after each")
    ap.add_argument("--token", required=True, help="the API token the CLI must send as Fastly-Key")
    ap.add_argument("--existing-store", action="append", default=[], metavar="KIND:NAME",
                    help="a store the account already has (kv, config or secret), e.g. kv:links")
    args = ap.parse_args()
    existing = [tuple(s.split(":", 1)) for s in args.existing_store]
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.state = State(args.token, existing)
    server.record = args.record
    with open(args.record, "w") as f:
        json.dump({"calls": []}, f)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(tmp, args.port_file)
    print(f"fastly_api_standin: listening on http://127.0.0.1:{server.server_address[1]}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
