"""A raw record's JSON text and a provider page's JSON: orjson where it can, the standard
library for the rest, the same text and values either way."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import requests
from django.core.serializers.json import DjangoJSONEncoder

from programs.providers.http import json_body
from programs.sync.records import raw_json

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
