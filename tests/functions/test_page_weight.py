"""``make bench``'s Backup Center cold-load figure walks exactly what a browser would fetch."""

from __future__ import annotations

import pytest

from backup.entrypoints.web import asset_files
from bench import page_weight
from tests.functions.conftest import IndexedFunction

pytestmark = pytest.mark.functions


def test_the_cold_load_fetches_the_page_and_every_served_asset_but_the_type_declarations(
    indexed_functions: dict[str, IndexedFunction],
) -> None:
    figures = page_weight.measure(indexed_functions)
    # types.js holds JSDoc typedefs only: modules import it inside comments, so no browser asks.
    fetched = [name for name in asset_files() if name != "types.js"]
    assert figures["backup_center_cold_load_requests"] == 1 + len(fetched)
    on_disk = sum(asset_files()[name].stat().st_size for name in fetched) / 1024
    # Served bodies are the files plus the ?v= their sibling imports gain, plus the page itself.
    assert on_disk < figures["backup_center_cold_load_kb"] < on_disk + 16
