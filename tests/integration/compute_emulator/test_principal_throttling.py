"""ARM's buckets per (subscription, principal), the subscription's global cap, and the
per-principal request counters a benchmark reads to count only its own client's requests."""

from __future__ import annotations

import pytest
from azure.core.rest import HttpResponse
from azure.mgmt.compute import ComputeManagementClient

from .conftest import APP, OWNER, READER, SUB, SUB_B, TOKENS, Emu, disk_id, rg_id, snapshot_id
from .helpers import API, raw, snapshot_json

pytestmark = pytest.mark.integration

DISK = disk_id("rg-src", "d-std")


def _read(client: ComputeManagementClient, path: str = DISK, api_version: str = API) -> HttpResponse:
    return raw(client, "GET", path, api_version=api_version, retry_total=0)


def test_two_principals_in_one_subscription_have_separate_buckets(emu: Emu) -> None:
    emu.admin.configure(throttle={"reads": {"capacity": 2, "refillPerSecond": 0}})
    with emu.client(APP) as app, emu.client(OWNER) as owner:
        first, second, refused = _read(app), _read(app), _read(app)
        assert [first.status_code, second.status_code, refused.status_code] == [200, 200, 429]
        # The header reports the caller's own bucket.
        assert first.headers["x-ms-ratelimit-remaining-subscription-reads"] == "1"
        assert refused.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
        error = refused.json()["error"]
        assert error["code"] == "SubscriptionRequestsThrottled"
        assert f"actor '{APP}'" in error["message"]
        assert refused.headers["Retry-After"] == "3600"  # no refill: no token will come soon

        # The owner's bucket in the same subscription is untouched by the app's spending.
        other = _read(owner)
        assert other.status_code == 200
        assert other.headers["x-ms-ratelimit-remaining-subscription-reads"] == "1"

        # Writes are a bucket of their own.
        put = raw(app, "PUT", snapshot_id("rg-snap", "w"), snapshot_json(DISK), retry_total=0)
        assert put.status_code == 202
        assert put.headers["x-ms-ratelimit-remaining-subscription-writes"] == "199"

    counters = emu.admin.counters()
    assert counters["throttledByScope"] == {"principal": 1}
    assert counters["byPrincipal"][APP]["throttled"] == 1
    assert counters["byPrincipal"][OWNER]["throttled"] == 0


def test_retry_after_is_the_wait_for_one_token_on_the_emulator_clock(emu: Emu) -> None:
    emu.admin.configure(throttle={"reads": {"capacity": 1, "refillPerSecond": 0.25}})
    with emu.client(APP) as app:
        assert _read(app).status_code == 200
        refused = _read(app)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "4"
        emu.admin.advance_clock(4)
        assert _read(app).status_code == 200


def test_the_subscription_has_a_global_cap_of_15_principals_worth(emu: Emu) -> None:
    emu.admin.configure(throttle={"reads": {"capacity": 1, "refillPerSecond": 0}})
    principals = [f"c0000000-0000-4000-8000-{i:012d}" for i in range(16)]
    for principal in principals:
        emu.admin.add_principal(principal, f"token-{principal}")
        emu.admin.grant(principal, "Reader", f"/subscriptions/{SUB}")
        emu.admin.grant(principal, "Reader", f"/subscriptions/{SUB_B}")
    answers = []
    for principal in principals:
        with emu.client(f"token-{principal}") as client:
            answers.append(_read(client))
    assert [a.status_code for a in answers[:15]] == [200] * 15
    refused = answers[15]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert "actor" not in refused.json()["error"]["message"]  # the whole subscription is out
    # The caller's own bucket is still full: the header says so, the global cap refused it.
    assert refused.headers["x-ms-ratelimit-remaining-subscription-reads"] == "1"
    assert emu.admin.counters()["throttledByScope"] == {"subscription": 1}

    # Another subscription has its own global bucket.
    with emu.client(f"token-{principals[15]}", subscription=SUB_B) as client:
        assert _read(client, rg_id("rg-other", SUB_B), "2021-04-01").status_code == 200


def test_the_global_multiplier_is_configurable(emu: Emu) -> None:
    emu.admin.configure(
        throttle={"writes": {"capacity": 1, "refillPerSecond": 0}, "globalLimitMultiplier": 1}
    )
    with emu.client(APP) as app, emu.client(OWNER) as owner:
        body = snapshot_json(DISK)
        assert raw(app, "PUT", snapshot_id("rg-snap", "a"), body, retry_total=0).status_code == 202
        refused = raw(owner, "PUT", snapshot_id("rg-snap", "b"), body, retry_total=0)
        assert refused.status_code == 429
        assert refused.headers["x-ms-ratelimit-remaining-subscription-writes"] == "1"


def test_counters_break_requests_down_by_principal_and_category(emu: Emu) -> None:
    emu.admin.configure(throttle={"reads": {"capacity": 3, "refillPerSecond": 0}})
    emu.admin.set_faults([{"operation": "Disks_List", "throttle429": 1.0, "retryAfterSeconds": 0}])
    with emu.client(APP) as app, emu.client(READER) as reader, emu.client("not-a-token") as stranger:
        for _ in range(4):
            _read(app)
        assert raw(app, "PUT", snapshot_id("rg-snap", "c"), snapshot_json(DISK)).status_code == 202
        assert raw(app, "DELETE", snapshot_id("rg-snap", "nope"), retry_total=0).status_code == 204
        _read(reader)
        injected = _read(reader, f"/subscriptions/{SUB}/providers/Microsoft.Compute/disks")
        assert injected.status_code == 429
        assert _read(stranger).status_code == 401

    counters = emu.admin.counters()
    app_counts = counters["byPrincipal"][APP]
    assert app_counts["total"] == 6
    assert app_counts["byCategory"] == {"reads": 4, "writes": 1, "deletes": 1}
    assert app_counts["byOperation"] == {
        "Disks_Get": 4, "Snapshots_CreateOrUpdate": 1, "Snapshots_Delete": 1,
    }  # fmt: skip
    assert app_counts["byStatus"] == {"200": 3, "429": 1, "202": 1, "204": 1}
    assert app_counts["throttled"] == 1
    assert app_counts["throttledByCategory"] == {"reads": 1}

    reader_counts = counters["byPrincipal"][READER]
    assert reader_counts["byCategory"] == {"reads": 2}
    assert reader_counts["byStatus"] == {"200": 1, "429": 1}
    assert reader_counts["faults"] == {"throttle429": 1}
    assert reader_counts["throttled"] == 0  # an injected 429 is a fault, not a bucket refusal

    assert counters["byPrincipal"]["unauthenticated"]["byStatus"] == {"401": 1}
    assert counters["byCategory"] == {"reads": 7, "writes": 1, "deletes": 1}
    assert counters["throttledByCategory"] == {"reads": 1}
    assert counters["total"] == sum(p["total"] for p in counters["byPrincipal"].values()) == 9
    assert set(TOKENS) >= set(counters["byPrincipal"]) - {"unauthenticated"}

    emu.admin.reset_counters()
    assert emu.admin.counters()["byPrincipal"] == {}


def test_two_clients_of_one_identity_share_its_bucket_and_are_counted_apart(emu: Emu) -> None:
    # A foreign tool running as the app's identity spends the app's own bucket, as in ARM.
    emu.admin.add_principal(APP, "foreign-tool-token")
    emu.admin.configure(throttle={"reads": {"capacity": 3, "refillPerSecond": 0}})
    with emu.client(APP) as app, emu.client("foreign-tool-token") as foreign:
        assert _read(foreign).status_code == 200
        assert [_read(app).status_code for _ in range(3)] == [200, 200, 429]

    counters = emu.admin.counters()
    assert counters["byPrincipal"][APP]["total"] == 4
    assert counters["byPrincipal"][APP]["throttled"] == 1
    app_token = counters["byToken"][TOKENS[APP]]
    assert (app_token["total"], app_token["throttled"], app_token["byStatus"]) == (3, 1, {"200": 2, "429": 1})
    assert counters["byToken"]["foreign-tool-token"]["byStatus"] == {"200": 1}
