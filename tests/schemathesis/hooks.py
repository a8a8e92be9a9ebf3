"""Schemathesis hooks for the admin API (scripts/test, stage `schemathesis`).

NDJSON: openapi/openapi.json describes the import body and its streamed answer
as arrays of objects, one object per line on the wire (OpenAPI 3.1 has no
schema for a sequence of JSON texts). These hooks write a generated array as
NDJSON and read an NDJSON answer back into an array, so both are generated and
checked against the document like any JSON body.

Rules a schema cannot state are kept by adjusting each case just before it is
sent (before_call): `valid_until` after `valid_from` and a rule's `before`
after its `after` (the pair is put in order); no destination on a host this
service serves (a redirect loop: moved to a subdomain); integers sent as
integers (JSON Schema counts `564.0` as one; the document says the service
does not); and no list cursor the service did not hand out. The service's
refusals of each are tested in core (record, destination and listing tests)
and in the black-box suite.
"""
import json
import re
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson_body(ctx, value):
    if isinstance(value, list):
        text = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in value)
        return text.encode("utf-8")
    # Anything else (a negative case of the body as a whole): one line.
    return (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8")


@schemathesis.deserializer("application/x-ndjson")
def ndjson_answer(ctx, response):
    lines = response.content.decode("utf-8").split("\n")
    return [json.loads(line) for line in lines if line.strip()]


def _instant(text):
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.upper())
    except (TypeError, ValueError):
        return None


def _ordered(obj, first, second):
    """Swaps obj[first] and obj[second] when both are times in the wrong order; drops first when equal."""
    if not isinstance(obj, dict):
        return
    a, b = _instant(obj.get(first)), _instant(obj.get(second))
    if a is None or b is None or a.tzinfo is None or b.tzinfo is None:
        return
    if a == b:
        obj.pop(first)
    elif a > b:
        obj[first], obj[second] = obj[second], obj[first]


# The domains fastly.local.toml serves (setting `domains`) and Fastly's service hosts.
SERVED = ("go.example.com", "qr.example.org", "links.example.net")
PLATFORM_SUFFIX = ".edgecompute.app"


def _not_a_loop(url, domain):
    """A destination on a host this service serves is refused (a redirect loop): moved to a subdomain."""
    if not isinstance(url, str):
        return url
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return url
    if not host or (host != domain and host not in SERVED and not host.endswith(PLATFORM_SUFFIX)):
        return url
    moved = "dest.example.net" if host.endswith(PLATFORM_SUFFIX) else "dest." + host
    netloc = re.sub(re.escape(parts.hostname), moved, parts.netloc, count=1, flags=re.IGNORECASE)
    return urlunsplit(parts._replace(netloc=netloc))


def _fix_record(record, domain):
    if not isinstance(record, dict):
        return
    _ordered(record, "valid_from", "valid_until")
    for key in ("url", "expired_url"):
        if key in record:
            record[key] = _not_a_loop(record[key], domain)
    for key in ("rules", "split"):
        entries = record.get(key)
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, dict):
                    _ordered(entry.get("when"), "after", "before")
                    if "url" in entry:
                        entry["url"] = _not_a_loop(entry["url"], domain)


def _integers(value):
    """JSON Schema counts 564.0 as an integer; the service reads integers only as written without a
    fraction (the document says so), so integral floats are sent as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integers(v) for v in value]
    if isinstance(value, dict):
        return {k: _integers(v) for k, v in value.items()}
    return value


def _issued_cursors_only(case):
    """A list cursor is opaque: only one the service handed out continues a listing (another,
    however well-formed, is refused with 400 naming `cursor`). A generated well-formed cursor
    becomes the empty one (the first page); malformed ones are sent as generated."""
    query = case.query
    if case.operation.method.upper() != "GET" or not isinstance(query, dict):
        return
    cursor = query.get("cursor")
    if isinstance(cursor, str) and re.fullmatch(r"(?:[0-9a-f]{2})*", cursor):
        query["cursor"] = ""


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """Just before each request, in every phase (the stateful phase also fills bodies from earlier answers)."""
    _issued_cursors_only(case)
    case.body = _integers(case.body)
    body = case.body
    if isinstance(body, list):
        for line in body:
            if isinstance(line, dict):
                _fix_record(line, str(line.get("domain", "")).lower())
    else:
        domain = (case.path_parameters or {}).get("domain")
        _fix_record(body, str(domain or "").lower())
