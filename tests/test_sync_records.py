"""A raw record's JSON text and a provider page's JSON: orjson where it can, the standard
library for the rest, the same text and values either way; and RECORD_FORMAT changes with
the code that reads records."""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import inspect
from decimal import Decimal

import pytest
import requests
from django.core.serializers.json import DjangoJSONEncoder

from programs.providers import coursera_api, formats, linkedin_api, udemy_api
from programs.providers.http import json_body
from programs.sync import records
from programs.sync.records import RECORD_FORMAT, raw_json

STANDARD = DjangoJSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False)


def test_raw_json_is_the_canonical_text_the_standard_library_writes():
    raw = {
        "zeta": [1, 2.5, None, True, {"b": 1, "a": [{}]}],
        "émoji": '😀 Zürich\t"quoted" \\ \u2028 \x7f \x00',
        "Alpha": 12.0,
        "when": dt.datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=dt.UTC),
        "day": dt.date(2026, 3, 1),
        "hours": Decimal("12.50"),
    }

    text = raw_json(raw)

    assert text == STANDARD.encode(raw)
    assert text == (
        '{"Alpha":12.0,"day":"2026-03-01","hours":"12.50","when":"2026-03-01T09:30:15.250Z",'
        '"zeta":[1,2.5,null,true,{"a":[{}],"b":1}],"émoji":"😀 Zürich\\t\\"quoted\\" \\\\ \u2028 \x7f \\u0000"}'
    )


def test_raw_json_writes_what_orjson_refuses_as_the_standard_library_does():
    raw = {"big": 2**70, "name": "Ada"}

    assert raw_json(raw) == '{"big":1180591620717411303424,"name":"Ada"}'


@pytest.mark.parametrize(
    "raw",
    [
        {"name": "Zoë", "when": dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC), "progress": Decimal("12.50")},
        {"big": 2**70, "name": "Ada"},  # orjson refuses it
    ],
)
def test_the_digest_a_re_sync_looks_up_is_the_digest_of_the_stored_text(raw):
    expected = hashlib.blake2b(RECORD_FORMAT + raw_json(raw).encode(), digest_size=16).hexdigest()

    assert records.raw_digest_of(raw) == records.raw_digest(raw_json(raw)) == expected


def _response(body: bytes, content_type: str = "application/json") -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    response.headers["Content-Type"] = content_type
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    return response


def test_json_body_reads_a_utf8_page():
    assert json_body(_response('{"elements": [{"name": "Zoë"}]}'.encode())) == {"elements": [{"name": "Zoë"}]}


def test_json_body_reads_what_orjson_refuses_as_requests_does():
    utf16 = _response('{"name": "Zoë"}'.encode("utf-16"), "application/json; charset=utf-16")
    not_a_number = _response(b'{"progress": NaN}')

    assert json_body(utf16) == {"name": "Zoë"}
    progress = json_body(not_a_number)["progress"]
    assert progress != progress  # NaN, as the standard library reads it; the adapter names it a problem


def test_json_body_of_something_that_is_not_json_raises_value_error():
    with pytest.raises(ValueError):
        json_body(_response(b"<html>Service Unavailable</html>", "text/html"))


# --- RECORD_FORMAT ---------------------------------------------------------------------------

# The code that turns a raw record into its values, for the adapters that hand records over
# unparsed, and normalization. A re-sync takes an enrollment whose raw record did not change as
# it is, so when this code changes what a record reads as, RECORD_FORMAT must change too.
PARSING_MODULES = (formats, records, coursera_api, udemy_api, linkedin_api)
PARSING_DIGEST = "686f4d885a970b5b"


def parsing_digest() -> str:
    """A digest of PARSING_MODULES' code, without docstrings and comments."""
    digest = hashlib.sha256()
    for module in PARSING_MODULES:
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            first = body[0] if isinstance(body, list) and body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
        digest.update(ast.dump(tree).encode())
    return digest.hexdigest()[:16]


def test_record_format_changes_with_the_code_that_reads_records():
    """When this fails, the parsing code changed: if what a stored record reads as changed,
    change RECORD_FORMAT (the next sync then parses every record once); either way, write
    the new digest in PARSING_DIGEST."""
    assert (RECORD_FORMAT, parsing_digest()) == (b"1", PARSING_DIGEST)
