"""The recovery points list's ``nextLink`` round-trips through the official SDK's pager
(azure-mgmt-dataprotection) over HTTP through the local Functions host: a full walk, a walk
resumed from a page's continuation token, a filtered walk and the SDK's own ``skip_token``."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import HttpResponseError

from backup.domain.instance import VaultRef
from localdev.functions_host import FunctionsHost
from tests.integration.api.conftest import SUB, T0, Api
from tests.integration.api.test_recovery_points_paging import INSTANCE, with_points
from tests.integration.api.test_through_host_and_sdk import sdk, served

pytestmark = pytest.mark.integration

__all__ = ["served"]  # the fixture this module borrows


async def test_next_link_round_trips_through_the_sdk_pager(served: tuple[FunctionsHost, Api]) -> None:
    host, api = served
    vault = VaultRef(SUB, "rg-sdk-rp-" + uuid.uuid4().hex[:6], "vault-rp")
    seeded = await with_points(api, vault, 8)  # the served API pages 3 at a time
    newest_first = [point.id for point in reversed(seeded)]
    window = "startDate ge '2026-11-26T08:00:00Z' and endDate le '2026-11-27T08:01:00Z'"
    in_window = [
        point.id
        for point in reversed(seeded)
        if T0 + timedelta(hours=4) <= point.created_at <= T0 + timedelta(days=1, hours=4, minutes=1)
    ]

    def scenario() -> None:
        points = sdk(host).recovery_points
        names = (vault.resource_group, vault.name, INSTANCE)
        assert [point.name for point in points.list(*names)] == newest_first

        pager = points.list(*names).by_page()
        first = [point.name for point in next(pager)]
        assert first == newest_first[:3]
        link = pager.continuation_token
        assert isinstance(link, str)
        resumed = points.list(*names).by_page(continuation_token=link)
        assert [point.name for page in resumed for point in page] == newest_first[3:]
        sizes = [len(list(page)) for page in points.list(*names).by_page()]
        assert sizes == [3, 3, 2]

        filtered = [point.name for point in points.list(*names, filter=window)]
        assert filtered == in_window
        assert len(filtered) > 3  # the window spans pages: nextLink carried the filter

        skip_token = parse_qs(urlsplit(link).query)["$skipToken"][0]
        after = [point.name for point in points.list(*names, skip_token=skip_token)]
        assert after == newest_first[3:]
        with pytest.raises(HttpResponseError) as refused:
            list(points.list(*names, skip_token="bm90LWFuLWlk"))
        assert refused.value.status_code == 400
        assert refused.value.error is not None
        assert refused.value.error.code == "InvalidQueryParameterValue"

    await asyncio.to_thread(scenario)
