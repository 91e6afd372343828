"""The alert rules read exactly the telemetry infra/telemetry-contract.json promises, and are set
up like Azure Backup's built-in job-failure alerts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.infra import _bicep

pytestmark = pytest.mark.infra

TABLES = {"customMetrics", "traces", "customEvents"}
NAME_FILTER = re.compile(r"""\bname\s*(?:==|=~)\s*["']([^"']+)["']""")
NAME_IN = re.compile(r"""\bname\s+in~?\s*\(([^)]*)\)""")
DIMENSION = re.compile(r"""customDimensions\s*(?:\[\s*["']([^"']+)["']\s*\]|\.(\w+))""")
VALUE_FILTER = re.compile(r"""\b(\w+)\s*==\s*["']([^"']+)["']""")


@pytest.fixture(scope="module")
def rules(bicep: dict[str, Any]) -> list[dict[str, Any]]:
    tree = bicep["app/alerts.bicep"]
    ((_, resource),) = _bicep.resources_of_type(tree, "Microsoft.Insights/scheduledQueryRules")
    loop = _bicep.loop_of(resource["config"])
    assert loop is not None
    assert loop["array_name"] == "rules"
    resolved = []
    for rule in _bicep.variables(tree)["rules"]:
        rule = dict(rule)
        rule["query"] = _bicep.resolve(tree, rule["query"])
        assert isinstance(rule["query"], str), f"{rule['key']}: query is not a string"
        assert "\n" in rule["query"], f"{rule['key']}: query is a multi-line literal"
        resolved.append(rule)
    return resolved


def referenced(query: str) -> tuple[set[str], set[str]]:
    names = set(NAME_FILTER.findall(query))
    for group in NAME_IN.findall(query):
        names |= {n.strip().strip("\"'") for n in group.split(",") if n.strip()}
    dimensions = {a or b for a, b in DIMENSION.findall(query)}
    return names, dimensions


def test_five_rules_one_per_scenario(rules: list[dict[str, Any]]) -> None:
    assert [r["key"] for r in rules] == [
        "backup-job-failed",
        "restore-job-failed",
        "backup-overdue",
        "backup-slots-missed",
        "poison-messages",
    ]


def test_queries_read_only_contract_names(
    rules: list[dict[str, Any]], telemetry_contract: dict[str, Any]
) -> None:
    metrics = telemetry_contract["metrics"]
    for rule in rules:
        query = rule["query"]
        table = query.strip().split("\n", 1)[0].strip()
        assert table in TABLES, f"{rule['key']}: reads {table}"
        names, dimensions = referenced(query)
        assert names, f"{rule['key']}: filters on no telemetry name"
        unknown = names - set(metrics) - set(telemetry_contract.get("traces", {}))
        assert not unknown, f"{rule['key']}: {unknown} not in telemetry-contract.json"
        allowed = set().union(*(metrics[n]["dimensions"] for n in names if n in metrics))
        assert dimensions, f"{rule['key']}: reads no dimension"
        assert dimensions <= allowed, f"{rule['key']}: {dimensions - allowed} not a dimension of {names}"


def test_filtered_values_are_contract_values(
    rules: list[dict[str, Any]], telemetry_contract: dict[str, Any]
) -> None:
    # jobType = customDimensions["job.type"] etc.: literal comparisons must use values the contract lists.
    aliases = {"jobType": "job.type", "outcome": "job.outcome", "queue": "queue"}
    values = (
        telemetry_contract["metrics"]["backup.jobs"]["values"]
        | telemetry_contract["metrics"]["backup.poison_messages"]["values"]
    )
    for rule in rules:
        query = rule["query"]
        for column, value in VALUE_FILTER.findall(query):
            if column == "name":
                continue
            assert column in aliases, f"{rule['key']}: compares unknown column {column}"
            assert value in values[aliases[column]], f"{rule['key']}: {column} == {value!r}"
        for group in re.findall(r"jobType\s+in\s*\(([^)]*)\)", query):
            for value in re.findall(r"""["']([^"']+)["']""", group):
                assert value in values["job.type"], value


def test_each_metric_is_read_by_exactly_the_alerts_the_contract_lists(
    rules: list[dict[str, Any]], telemetry_contract: dict[str, Any]
) -> None:
    # Metrics for dashboards and KQL (durations, deletions, ...) list no alert; the rest are alerted on.
    for name, metric in telemetry_contract["metrics"].items():
        readers = [r["key"] for r in rules if name in referenced(r["query"])[0]]
        assert readers == metric["alerts"], f"{name}: read by {readers}, contract says {metric['alerts']}"
    assert any(metric["alerts"] for metric in telemetry_contract["metrics"].values())


def test_alert_dimensions_and_measure_are_query_columns(rules: list[dict[str, Any]]) -> None:
    for rule in rules:
        last = rule["query"].strip().splitlines()[-1]
        assert rule["measure"] in rule["query"], rule["key"]
        for dimension in rule["dimensions"]:
            assert re.search(rf"\b{re.escape(dimension)}\b", last), (
                f"{rule['key']}: {dimension} not in {last!r}"
            )


def test_severity_and_cadence_like_azure_backup(rules: list[dict[str, Any]]) -> None:
    by_key = {r["key"]: r for r in rules}
    for key in ("backup-job-failed", "restore-job-failed", "poison-messages"):
        rule = by_key[key]
        # Azure Backup's built-in job-failure alerts: Sev 1, one alert per failed job, not auto-resolved.
        assert rule["severity"] == 1
        assert rule["autoMitigate"] is False
        assert rule["evaluationFrequency"] == rule["windowSize"] == "PT5M"
        assert rule["timeAggregation"] == "Total"
        assert rule["threshold"] == 0
    overdue = by_key["backup-overdue"]
    assert overdue["severity"] == 1
    assert overdue["autoMitigate"] is True
    assert overdue["threshold"] == 2, "twice the interval"
    missed = by_key["backup-slots-missed"]
    # One alert per instance per outage: stateful (fires once, stays fired while slots keep being
    # missed within the window, resolves after a window without one), split by vault and instance.
    assert missed["severity"] == 1
    assert missed["autoMitigate"] is True
    assert missed["dimensions"] == ["vault", "instance"]
    assert (missed["timeAggregation"], missed["threshold"]) == ("Total", 0)
    assert missed["evaluationFrequency"] == "PT15M"
    assert missed["windowSize"] == "PT6H", "longer than any interval's gap between two missed slots"


def test_rules_notify_the_action_group(bicep: dict[str, Any]) -> None:
    tree = bicep["app/alerts.bicep"]
    ((_, resource),) = _bicep.resources_of_type(tree, "Microsoft.Insights/scheduledQueryRules")
    properties = _bicep.unwrap(resource["config"])["properties"]
    assert properties["actions"]["actionGroups"] == [_bicep_property("actionGroup", "id")]
    assert properties["scopes"] == [_bicep_property("applicationInsights", "id")]
    ((_, group),) = _bicep.resources_of_type(tree, "Microsoft.Insights/actionGroups")
    receivers = _bicep.unwrap(group["config"])["properties"]["emailReceivers"]
    assert _bicep.loop_of(receivers)["array_name"] == "emailAddresses"  # type: ignore[index]


def _bicep_property(obj: str, prop: str) -> Any:
    return {"operator": {"type": "property_accessor", "operands": {"operand_1": obj, "operand_2": prop}}}
