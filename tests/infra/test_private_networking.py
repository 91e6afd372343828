"""The private-networking option and the publishing credentials, offline, from the pycep parse.

With ``privateNetworking`` (azd: ``PRIVATE_NETWORKING=true``) the storage account refuses public
network access and every request not from its private endpoints, the endpoints cover each storage
service the app uses, and the function app integrates with the network's delegated subnet. Off
(the default), nothing of the network is deployed and the account stays as it was. Either way, no
one may publish with the SCM or FTP basic credentials.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.infra import _bicep
from tests.infra._bicep_eval import Scope
from tests.infra._tools import INFRA_DIR
from tests.infra.test_alert_emails import azd_substitute

pytestmark = pytest.mark.infra


def storage_account(bicep: dict[str, Any], private_networking: bool) -> dict[str, Any]:
    main = bicep["main.bicep"]
    module = _bicep.unwrap(main["modules"]["storage"]["config"])
    passed = Scope(main, {"privateNetworking": private_networking}).evaluate(
        module["params"]["privateNetworking"]
    )
    storage = bicep["core/storage/storage.bicep"]
    ((_, account),) = _bicep.resources_of_type(storage, "Microsoft.Storage/storageAccounts")
    properties = _bicep.unwrap(account["config"])["properties"]
    scope = Scope(storage, {"privateNetworking": passed})
    evaluated: dict[str, Any] = scope.evaluate(
        {"publicNetworkAccess": properties["publicNetworkAccess"], "networkAcls": properties["networkAcls"]}
    )
    return evaluated


def test_off_by_default_in_azd_and_in_bicep(bicep: dict[str, Any]) -> None:
    assert _bicep.param_default(bicep["main.bicep"], "privateNetworking") is False
    assert bicep["main.bicep"]["parameters"]["privateNetworking"]["type"] == "bool"
    text = (INFRA_DIR / "main.parameters.json").read_text()
    for environment, value in (({}, "false"), ({"PRIVATE_NETWORKING": "true"}, "true")):
        parameters = json.loads(azd_substitute(text, environment))["parameters"]
        assert parameters["privateNetworking"]["value"] == value


def test_storage_is_public_only_without_private_networking(bicep: dict[str, Any]) -> None:
    assert storage_account(bicep, False) == {
        "publicNetworkAccess": "Enabled",
        "networkAcls": {"bypass": "AzureServices", "defaultAction": "Allow"},
    }
    assert storage_account(bicep, True) == {
        "publicNetworkAccess": "Disabled",
        "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny"},
    }


def test_the_network_is_deployed_only_with_private_networking_and_the_app_joins_it(
    bicep: dict[str, Any],
) -> None:
    main = bicep["main.bicep"]
    network = main["modules"]["network"]
    assert network["detail"]["path"] == "core/network/network.bicep"
    assert network["config"]["condition"] == "privateNetworking"
    assert _bicep.property_access(
        _bicep.unwrap(network["config"])["params"]["storageAccountId"]["operator"]["operands"]["operand_2"]
    ) == ("outputs", "id")

    subnet = _bicep.unwrap(main["modules"]["functionApp"]["config"])["params"]["appSubnetId"]
    assert Scope(main, {"privateNetworking": False}).evaluate(subnet) == ""
    chosen = subnet["operator"]["operands"]
    assert chosen["condition"] == "privateNetworking"
    assert chosen["true_value"]["operator"]["operands"]["operand_1"] == "network"
    assert _bicep.property_access(chosen["true_value"]["operator"]["operands"]["operand_2"]) == (
        "outputs",
        "appSubnetId",
    )

    function = bicep["app/function.bicep"]
    ((_, site),) = _bicep.resources_of_type(function, "Microsoft.Web/sites")
    integration = _bicep.unwrap(site["config"])["properties"]["virtualNetworkSubnetId"]
    assert Scope(function, {"appSubnetId": ""}).evaluate(integration) is None
    subnet_id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/app"
    assert Scope(function, {"appSubnetId": subnet_id}).evaluate(integration) == subnet_id


def test_the_app_subnet_is_delegated_to_flex_and_both_subnets_have_a_security_group(
    bicep: dict[str, Any],
) -> None:
    tree = bicep["core/network/network.bicep"]
    ((_, vnet),) = _bicep.resources_of_type(tree, "Microsoft.Network/virtualNetworks")
    scope = Scope(tree, {})
    subnets = {
        subnet["name"]: subnet["properties"]
        for subnet in (
            {"name": scope.evaluate(s["name"]), "properties": s["properties"]}
            for s in _bicep.unwrap(vnet["config"])["properties"]["subnets"]
        )
    }
    app = subnets[Scope(tree, {}).evaluate("appSubnetName")]
    assert [d["properties"]["serviceName"] for d in app["delegations"]] == ["Microsoft.App/environments"]
    endpoints = subnets[Scope(tree, {}).evaluate("endpointSubnetName")]
    assert endpoints["privateEndpointNetworkPolicies"] == "Disabled"
    for subnet in (app, endpoints):
        assert _bicep.property_access(subnet["networkSecurityGroup"]["id"]) is not None
    output = Scope(tree, {}).evaluate(tree["outputs"]["appSubnetId"]["value"])
    assert output.endswith("/subnets/app")


def test_private_endpoints_and_dns_zones_cover_every_storage_service_the_app_uses(
    bicep: dict[str, Any],
) -> None:
    function_text = (INFRA_DIR / "app/function.bicep").read_text()
    used = set(re.findall(r"AzureWebJobsStorage__(\w+)ServiceUri", function_text))
    assert used == {"blob", "queue", "table"}

    tree = bicep["core/network/network.bicep"]
    services = Scope(tree, {}).evaluate("storageServices")
    assert set(services) == used

    ((_, endpoint),) = _bicep.resources_of_type(tree, "Microsoft.Network/privateEndpoints")
    produced = Scope(tree, {"storageAccountId": "st"}).evaluate_loop(_without_subnet(endpoint["config"]))
    assert [p["properties"]["privateLinkServiceConnections"][0]["properties"] for p in produced] == [
        {"privateLinkServiceId": "st", "groupIds": [service]} for service in services
    ]

    ((_, zone),) = _bicep.resources_of_type(tree, "Microsoft.Network/privateDnsZones")
    assert _bicep.loop_of(zone["config"])["array_name"] == "storageServices"  # type: ignore[index]
    assert _bicep.unwrap(zone["config"])["name"].startswith("privatelink.${service}.")
    ((_, group),) = _bicep.resources_of_type(tree, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
    ((_, link),) = _bicep.resources_of_type(tree, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")
    for looped in (group, link):
        assert _bicep.loop_of(looped["config"])["array_name"] == "storageServices"  # type: ignore[index]
    assert _bicep.unwrap(link["config"])["properties"]["registrationEnabled"] is False


def _without_subnet(loop: dict[str, Any]) -> dict[str, Any]:
    """The endpoint loop without its subnet id (a reference to the network, which has no value here)."""
    body = dict(_bicep.unwrap(loop))
    properties = {key: value for key, value in body["properties"].items() if key != "subnet"}
    return {**loop, "config": {"name": body["name"], "properties": properties}}


def test_basic_publishing_credentials_are_off_for_scm_and_ftp(bicep: dict[str, Any]) -> None:
    tree = bicep["app/function.bicep"]
    policies = {
        config["name"]: config
        for config in (
            _bicep.unwrap(r["config"])
            for _, r in _bicep.resources_of_type(
                tree, "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
            )
        )
    }
    assert set(policies) == {"scm", "ftp"}
    for policy in policies.values():
        assert policy["parent"] == "functionApp"
        assert policy["properties"] == {"allow": False}
