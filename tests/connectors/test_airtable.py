"""The Airtable transport (pyairtable aimed at a local server in Airtable's wire format): paging,
batches of 10, the 5 requests/s pace per base, 429 retried then given up, 422 mapped."""

from __future__ import annotations

from typing import Any

import pytest

from growthops.connectors.airtable import AirtableBase, AirtableError
from tests.connectors.airtable_server import AirtableServer

TOKEN = "patZyXwVuTsRqPoNm.fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"


@pytest.fixture()
def server() -> Any:
    with AirtableServer(TOKEN, page_size_cap=4) as s:
        yield s


def _base(server: AirtableServer, base_id: str, **kw: Any) -> AirtableBase:
    kw.setdefault("rate_per_s", 1000)
    return AirtableBase(TOKEN, base_id, endpoint_url=server.url, backoff_factor=0.001, **kw)


def test_upsert_in_batches_of_ten_then_list_every_page(server: AirtableServer) -> None:
    b = _base(server, "appCCCCCCCCCCCCCC")
    rows = [{"k": f"r{i}", "n": i} for i in range(23)]
    out = b.upsert("T", rows, key_field="k")
    assert len(out.record_ids) == 23 and len(out.created) == 23
    assert [len(r["body"]["records"]) for r in server.writes()] == [10, 10, 3]
    again = b.upsert("T", rows[:2], key_field="k")
    assert again.created == set() and again.record_ids == out.record_ids[:2]
    listed = b.list_records("T", fields=["k"])
    assert [r["fields"] for r in listed] == [{"k": f"r{i}"} for i in range(23)]
    gets = [r for r in server.requests if r["method"] == "GET"]
    assert len(gets) == 6 and gets[1]["query"]["offset"] == ["itr4"]  # pages of 4 here
    assert (
        b.delete("T", out.record_ids[:12]) == 12
        and len(server.records("appCCCCCCCCCCCCCC", "T")) == 11
    )
    assert b.stats.calls == 3 + 1 + 6 + 2


def test_requests_to_one_base_are_paced_at_five_per_second(server: AirtableServer) -> None:
    b = _base(server, "appDDDDDDDDDDDDDD", rate_per_s=5)
    for i in range(8):
        b.upsert("T", [{"k": str(i)}], key_field="k")
    starts = [r["at"] for r in server.requests]
    # Airtable: 5 requests per second per base. Seen by the server, never 6 within one second.
    assert max(sum(1 for s in starts if a <= s < a + 1.0) for a in starts) == 5
    assert starts[-1] - starts[0] >= 7 * 0.2
    assert b.stats.waited_s >= 1.2


def test_429_is_retried_then_reported(server: AirtableServer) -> None:
    b = _base(server, "appEEEEEEEEEEEEEE")
    server.fail_next(429, times=3)
    assert b.list_records("T") == [] and b.stats.retries == 3
    server.fail_next(429, times=10)
    with pytest.raises(AirtableError) as exc:
        _base(server, "appEEEEEEEEEEEEEE", max_retries=2).list_records("T")
    assert exc.value.status == 429 and exc.value.retryable


def test_422_names_airtable_error_type_and_never_the_token(server: AirtableServer) -> None:
    server.known_fields[("appFFFFFFFFFFFFFF", "T")] = {"k"}
    b = _base(server, "appFFFFFFFFFFFFFF")
    with pytest.raises(AirtableError) as exc:
        b.upsert("T", [{"k": "a", "colour": "red"}], key_field="k")
    err = exc.value
    assert (err.status, err.error_type, err.retryable) == (422, "UNKNOWN_FIELD_NAME", False)
    assert 'Unknown field name: "colour"' in str(err) and TOKEN not in str(err)
    assert server.requests[-1]["method"] == "PATCH"  # a 422 is not retried
    assert len(server.requests) == 1
    bad = AirtableBase("patWrong0000000000.x", "appFFFFFFFFFFFFFF", endpoint_url=server.url)
    with pytest.raises(AirtableError) as exc:
        bad.list_records("T")
    assert exc.value.status == 401 and exc.value.error_type == "AUTHENTICATION_REQUIRED"


def test_an_airtable_token_is_scrubbed_by_its_shape_even_unregistered() -> None:
    from growthops.core.logs.scrub import scrub

    never_seen = "pat" + "Q" * 14 + "." + "ab" * 32
    assert scrub(f"auth failed for {never_seen}!") == "auth failed for [REDACTED]!"
    assert scrub("a pattern.name stays") == "a pattern.name stays"
