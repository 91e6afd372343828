"""``TriggerBackupRequest``, the body of an on-demand backup (``POST .../backup``), as Azure's JSON
spells it. Whether the rule and the retention tag exist is the policy's business, checked by
:mod:`backup.services.on_demand`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec

from backup.shapes.common import INVALID_REQUEST_CONTENT, decode


class AdhocBackupTriggerOption(msgspec.Struct, rename="camel"):
    retention_tag_override: (
        Annotated[str, msgspec.Meta(description="The retention tag the recovery point gets, e.g. Daily.")]
        | None
    ) = None


class AdHocBackupRuleOptions(msgspec.Struct, rename="camel"):
    rule_name: Annotated[
        str, msgspec.Meta(pattern=r"\S", description="The policy's backup rule, for example BackupHourly.")
    ]
    trigger_option: AdhocBackupTriggerOption | None = None


class TriggerBackupRequest(msgspec.Struct, rename="camel"):
    """The body of ``backup`` (BackupInstances_AdhocBackup)."""

    backup_rule_options: AdHocBackupRuleOptions


@dataclass(frozen=True)
class OnDemandRequest:
    rule_name: str
    retention_tag_override: str | None


def parse_trigger_backup_request(body: object) -> OnDemandRequest:
    """The rule and retention tag an on-demand backup asks for (ValidationError naming the field)."""
    options = decode(body, TriggerBackupRequest, value_code=INVALID_REQUEST_CONTENT).backup_rule_options
    trigger = options.trigger_option
    return OnDemandRequest(options.rule_name, trigger.retention_tag_override if trigger is not None else None)
