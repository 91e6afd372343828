"""ALERT_EMAIL_ADDRESSES, from azd's environment to the action group's e-mail receivers, offline.

azd substitutes ``${VAR}`` and ``${VAR=default}`` in infra/main.parameters.json before it
deploys (``=`` gives the default when the variable is unset or empty; the default here is empty,
so both readings agree). The Bicep that turns the resulting string into receivers is then
evaluated from its pycep parse, not restated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest

from tests.infra import _bicep
from tests.infra._bicep_eval import Scope
from tests.infra._tools import INFRA_DIR

pytestmark = pytest.mark.infra

SUBSTITUTION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?=([^}]*))?\}")
EMAIL = re.compile(r"^[^@\s,\[\]]+@[^@\s,\[\]]+\.[^@\s,\[\]]+$")


def azd_substitute(text: str, environment: Mapping[str, str]) -> str:
    def value_of(match: re.Match[str]) -> str:
        value = environment.get(match.group(1), "")
        default = match.group(2)
        return default if default is not None and not value else value

    return SUBSTITUTION.sub(value_of, text)


def alert_email_parameter(environment: Mapping[str, str]) -> Any:
    text = (INFRA_DIR / "main.parameters.json").read_text()
    return json.loads(azd_substitute(text, environment))["parameters"]["alertEmailAddresses"]["value"]


def email_receivers(bicep: dict[str, Any], alert_email_addresses: Any) -> list[dict[str, Any]]:
    main = bicep["main.bicep"]
    declared = main["parameters"]["alertEmailAddresses"]["type"]
    assert declared == "string", "the parameters file passes a string"
    assert isinstance(alert_email_addresses, str)
    main_scope = Scope(main, {"alertEmailAddresses": alert_email_addresses})

    module = _bicep.unwrap(main["modules"]["alerts"]["config"])
    assert module["name"] == "alerts"
    alerts = bicep["app/alerts.bicep"]
    alerts_scope = Scope(alerts, {"emailAddresses": main_scope.evaluate(module["params"]["emailAddresses"])})

    ((_, action_group),) = _bicep.resources_of_type(alerts, "Microsoft.Insights/actionGroups")
    receivers = _bicep.unwrap(action_group["config"])["properties"]["emailReceivers"]
    produced = alerts_scope.evaluate(receivers)
    assert isinstance(produced, list)
    return produced


def test_the_module_really_is_app_alerts(bicep: dict[str, Any]) -> None:
    assert bicep["main.bicep"]["modules"]["alerts"]["detail"]["path"] == "app/alerts.bicep"


@pytest.mark.parametrize(
    "environment",
    [{}, {"ALERT_EMAIL_ADDRESSES": ""}, {"ALERT_EMAIL_ADDRESSES": " "}],
    ids=["unset", "empty", "blank"],
)
def test_no_receiver_when_no_address_is_set(bicep: dict[str, Any], environment: dict[str, str]) -> None:
    assert email_receivers(bicep, alert_email_parameter(environment)) == []


@pytest.mark.parametrize(
    ("value", "addresses"),
    [
        ("ops@example.com", ["ops@example.com"]),
        ("ops@example.com,oncall@example.org", ["ops@example.com", "oncall@example.org"]),
        (" ops@example.com , oncall@example.org ", ["ops@example.com", "oncall@example.org"]),
    ],
    ids=["one", "comma-separated", "with-spaces"],
)
def test_one_receiver_per_comma_separated_address(
    bicep: dict[str, Any], value: str, addresses: list[str]
) -> None:
    receivers = email_receivers(bicep, alert_email_parameter({"ALERT_EMAIL_ADDRESSES": value}))
    assert [receiver["emailAddress"] for receiver in receivers] == addresses
    assert all(EMAIL.match(receiver["emailAddress"]) for receiver in receivers)
    names = [receiver["name"] for receiver in receivers]
    assert len(set(names)) == len(names), "receiver names are unique within the action group"
    assert all(receiver["useCommonAlertSchema"] is True for receiver in receivers)


def test_the_substitution_reads_the_parameter_file_as_azd_would() -> None:
    # The emulation itself: a set variable wins, an unset one takes the default, ${VAR} alone is ''.
    assert azd_substitute("${A=x}|${B=x}|${C}|${D:=y}", {"A": "set"}) == "set|x||y"
    assert alert_email_parameter({"ALERT_EMAIL_ADDRESSES": "a@b.example"}) == "a@b.example"
