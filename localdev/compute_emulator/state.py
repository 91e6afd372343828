"""Resources and the rules DiskRP and ARM enforce on them.

Everything the product could get wrong against real Azure is decided here (limits, regions,
subscriptions, RBAC, immutable properties, LRO state), so that a test passing against the
emulator means something. The HTTP layer only parses requests and renders answers.
"""

from __future__ import annotations

import copy
import heapq
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .config import EmulatorConfig
from .errors import ArmError, not_found, resource_group_not_found, subscription_not_found
from .lro import Failure, Operation, OperationKind
from .rbac import Authorizer
from .tokens import Principal, access_token

Kind = Literal["disks", "snapshots"]

STATE_FORMAT = "compute-emulator-state/1"

# DiskRP: 1-80 chars of letters, digits, '_', '-', '.'; start alphanumeric; end alphanumeric or '_'.
NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")
ARM_ID_RE = re.compile(
    r"^/?subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Compute/"
    r"(?P<kind>disks|snapshots)/(?P<name>[^/]+)$",
    re.IGNORECASE,
)

DISK_SKU_TIERS = {
    "Standard_LRS": "Standard",
    "StandardSSD_LRS": "Standard",
    "StandardSSD_ZRS": "Standard",
    "Premium_LRS": "Premium",
    "Premium_ZRS": "Premium",
    "PremiumV2_LRS": "Premium",
    "UltraSSD_LRS": "Ultra",
}
SNAPSHOT_SKU_TIERS = {"Standard_LRS": "Standard", "Premium_LRS": "Premium", "Standard_ZRS": "Standard"}
# Snapshots of these disk types finish a background copy before they can be restored.
BACKGROUND_COPY_SKUS = {"premiumv2_lrs", "ultrassd_lrs"}
# Premium SSD performance tiers by provisioned size, the default when a PUT names none.
PREMIUM_TIERS = (
    (4, "P1"), (8, "P2"), (16, "P3"), (32, "P4"), (64, "P6"), (128, "P10"), (256, "P15"), (512, "P20"),
    (1024, "P30"), (2048, "P40"), (4096, "P50"), (8192, "P60"), (16384, "P70"), (32767, "P80"),
)  # fmt: skip
CREATE_OPTIONS = (
    "Empty", "Attach", "FromImage", "Import", "Copy", "Restore", "Upload", "CopyStart", "ImportSecure",
    "UploadPreparedSecure", "CopyFromSanSnapshot",
)  # fmt: skip
PLATFORM_KEY = "EncryptionAtRestWithPlatformKey"
CUSTOMER_KEY = "EncryptionAtRestWithCustomerKey"
# Incremental snapshot families are tied to one disk instance; a stable derived GUID keeps
# them equal for every snapshot of that instance and different after delete-and-recreate.
FAMILY_NAMESPACE = uuid.UUID("6f1c8a52-3c1e-4f55-9a39-0c3c6f2d7b1e")
GIB = 1024**3


class Clock:
    """Real UTC now plus an offset, so tests can jump minutes ahead without sleeping."""

    def __init__(self) -> None:
        self.offset_seconds = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset_seconds)

    def timestamp(self) -> float:
        return self.now().timestamp()


def normalize_location(location: str) -> str:
    return location.replace(" ", "").lower()


def arm_id(subscription_id: str, resource_group: str, kind: str, name: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.Compute/{kind}/{name}"
    )


def resource_type(kind: str) -> str:
    return f"Microsoft.Compute/{kind}"


def family_id_for_disk(disk_unique_id: str) -> str:
    return str(uuid.uuid5(FAMILY_NAMESPACE, disk_unique_id.lower()))


def _canonical(value: str, choices: tuple[str, ...] | list[str]) -> str | None:
    for choice in choices:
        if choice.lower() == value.lower():
            return choice
    return None


def _bad_param(message: str, target: str | None = None) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target=target)


@dataclass
class ResourceGroup:
    name: str
    location: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Subscription:
    id: str
    resource_groups: dict[str, ResourceGroup] = field(default_factory=dict)


@dataclass
class Resource:
    """A disk or snapshot: its ARM document plus what ARM does not show (content, copy timing)."""

    kind: Kind
    subscription_id: str
    resource_group: str
    name: str
    doc: dict[str, Any]
    content: str
    seq: int = 0
    pending_op: str | None = None
    copy_start: datetime | None = None
    copy_seconds: float = 0.0
    copy_source_key: str | None = None
    copy_error: dict[str, str] | None = None
    copy_frozen_percent: float | None = None

    @property
    def id(self) -> str:
        return str(self.doc["id"])

    @property
    def key(self) -> str:
        return self.id.lower()

    @property
    def props(self) -> dict[str, Any]:
        props: dict[str, Any] = self.doc["properties"]
        return props

    @property
    def location(self) -> str:
        return str(self.doc["location"])

    @property
    def unique_id(self) -> str:
        return str(self.props["uniqueId"])

    @property
    def size_gb(self) -> int:
        return int(self.props.get("diskSizeGB") or 0)

    @property
    def provisioning_state(self) -> str:
        return str(self.props.get("provisioningState", "Succeeded"))


class EmulatorState:
    """All in-memory state. Only ever touched from the server's event loop thread."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.clock = Clock()
        self.authorizer = Authorizer()
        self.subscriptions: dict[str, Subscription] = {}
        self.resources: dict[str, Resource] = {}
        self.operations: dict[str, Operation] = {}
        # Running operations free to finish (their minimum InProgress polls answered), by the time
        # they may: a tick pops what is due instead of visiting every operation, which matters
        # with thousands of snapshots in flight.
        self.finishing: list[tuple[datetime, str]] = []
        # Keys of incremental snapshots by their creationData.sourceUniqueId (lower case), so the
        # per-disk snapshot rules cost O(that disk's snapshots), not O(every resource), per PUT.
        self.incremental_by_source: dict[str, set[str]] = {}
        # Bearer token -> principal id: each principal's issued JWT, and any opaque tokens given it.
        self.tokens: dict[str, str] = {}
        self.principals: dict[str, Principal] = {}
        # Creation times of incremental snapshots per disk instance (uniqueId), for 7 per 5 min.
        self.snapshot_log: dict[str, list[datetime]] = {}
        self._seq = 0

    # ------------------------------------------------------------------ loading and dumping

    def load(self, doc: dict[str, Any] | None) -> None:
        """Replace everything with a seed document or a saved state (``format`` key)."""
        self.subscriptions.clear()
        self.resources.clear()
        self.operations.clear()
        self.finishing.clear()
        self.incremental_by_source.clear()
        self.tokens.clear()
        self.principals.clear()
        self.snapshot_log.clear()
        self.authorizer = Authorizer()
        self.clock.offset_seconds = 0.0
        self._seq = 0
        if not doc:
            return
        if not isinstance(doc, dict):
            raise ValueError("a seed must be a JSON object")
        if doc.get("format") == STATE_FORMAT:
            self._load_state(doc)
        else:
            self._load_seed(doc)

    def _load_seed(self, doc: dict[str, Any]) -> None:
        now = self.clock.now()
        pending_snapshots: list[tuple[Subscription, ResourceGroup, dict[str, Any]]] = []
        for sub_doc in doc.get("subscriptions") or []:
            sub = Subscription(str(sub_doc["id"]).lower())
            self.subscriptions[sub.id] = sub
            for rg_doc in sub_doc.get("resourceGroups") or []:
                group = ResourceGroup(
                    rg_doc["name"], normalize_location(rg_doc["location"]), dict(rg_doc.get("tags") or {})
                )
                sub.resource_groups[group.name.lower()] = group
                for disk_doc in rg_doc.get("disks") or []:
                    self._seed_disk(sub, group, disk_doc, now)
                for snap_doc in rg_doc.get("snapshots") or []:
                    pending_snapshots.append((sub, group, snap_doc))
        # Snapshots last: their source disks may live in a resource group listed after them.
        for sub, group, snap_doc in pending_snapshots:
            self._seed_snapshot(sub, group, snap_doc, now)
        for principal in doc.get("principals") or []:
            self.add_principal(Principal.from_doc(principal), principal.get("token"))
        for assignment in doc.get("roleAssignments") or []:
            self.authorizer.grant(assignment["principalId"], assignment["role"], assignment["scope"])

    def _seed_disk(self, sub: Subscription, group: ResourceGroup, d: dict[str, Any], now: datetime) -> None:
        name = d["name"]
        if not NAME_RE.match(name):
            raise ValueError(f"seed disk name '{name}' is not a valid disk name")
        sku = _canonical(d.get("sku", "Standard_LRS"), list(DISK_SKU_TIERS))
        if sku is None:
            raise ValueError(f"seed disk '{name}' has unknown sku '{d.get('sku')}'")
        zones = d.get("zones") or ([str(d["zone"])] if d.get("zone") is not None else None)
        encryption = {"type": PLATFORM_KEY}
        if d.get("diskEncryptionSetId"):
            encryption = {"type": CUSTOMER_KEY, "diskEncryptionSetId": d["diskEncryptionSetId"]}
        time_created = _parse_time(d["timeCreated"]) if d.get("timeCreated") else now
        doc = self._disk_doc(
            sub.id,
            group.name,
            name,
            location=normalize_location(d.get("location") or group.location),
            sku=sku,
            size_gb=int(d.get("sizeGB", d.get("diskSizeGB", 32))),
            zones=zones,
            tags=dict(d.get("tags") or {}),
            creation={"createOption": "Empty"},
            encryption=encryption,
            tier=d.get("tier"),
            extra={k: d[k] for k in ("osType", "hyperVGeneration") if k in d},
            time_created=time_created,
        )
        doc["properties"]["provisioningState"] = "Succeeded"
        self._add(Resource("disks", sub.id, group.name, name, doc, str(d.get("content", ""))))

    def _seed_snapshot(
        self, sub: Subscription, group: ResourceGroup, s: dict[str, Any], now: datetime
    ) -> None:
        source_ref = str(s["sourceDisk"])
        if not source_ref.lower().startswith(("/subscriptions/", "subscriptions/")):
            source_ref = arm_id(sub.id, group.name, "disks", source_ref)
        source = self.resources.get("/" + source_ref.strip("/").lower())
        if source is None or source.kind != "disks":
            raise ValueError(
                f"seed snapshot '{s['name']}': source disk '{s['sourceDisk']}' is not in the seed"
            )
        incremental = bool(s.get("incremental", True))
        time_created = _parse_time(s["timeCreated"]) if s.get("timeCreated") else now
        doc = self._snapshot_doc(
            sub.id,
            group.name,
            s["name"],
            location=normalize_location(s.get("location") or source.location),
            sku=s.get("sku", "Standard_LRS"),
            tags=dict(s.get("tags") or {}),
            source=source,
            create_option="Copy",
            incremental=incremental,
            encryption=None,
            time_created=time_created,
        )
        doc["properties"]["provisioningState"] = "Succeeded"
        content = s.get("content", source.content)
        self._add(Resource("snapshots", sub.id, group.name, s["name"], doc, str(content)))

    def _load_state(self, doc: dict[str, Any]) -> None:
        for sub_doc in doc.get("subscriptions") or []:
            sub = Subscription(str(sub_doc["id"]).lower())
            self.subscriptions[sub.id] = sub
            for rg_doc in sub_doc.get("resourceGroups") or []:
                group = ResourceGroup(rg_doc["name"], rg_doc["location"], dict(rg_doc.get("tags") or {}))
                sub.resource_groups[group.name.lower()] = group
        for r in doc.get("resources") or []:
            res = Resource(
                r["kind"],
                r["subscriptionId"],
                r["resourceGroup"],
                r["name"],
                r["doc"],
                r.get("content", ""),
                0,
                copy_start=_parse_time(r["copyStart"]) if r.get("copyStart") else None,
                copy_seconds=float(r.get("copySeconds") or 0.0),
                copy_source_key=r.get("copySourceKey"),
                copy_error=r.get("copyError"),
                copy_frozen_percent=r.get("copyFrozenPercent"),
            )
            # Operations are not persisted: whatever was running is treated as finished.
            if res.provisioning_state in ("Updating", "Creating", "Deleting"):
                res.props["provisioningState"] = "Succeeded"
            self._add(res)
        for principal in doc.get("principals") or []:
            self.add_principal(Principal.from_doc(principal), principal.get("token"))
        for assignment in doc.get("roleAssignments") or []:
            self.authorizer.grant(assignment["principalId"], assignment["role"], assignment["scope"])
        for unique_id, times in (doc.get("snapshotCreationLog") or {}).items():
            self.snapshot_log[unique_id] = [_parse_time(t) for t in times]
        self.clock.offset_seconds = float(doc.get("clockOffsetSeconds") or 0.0)

    def dump(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "now": self.clock.now().isoformat(),
            "clockOffsetSeconds": self.clock.offset_seconds,
            "subscriptions": [
                {
                    "id": sub.id,
                    "resourceGroups": [
                        {"name": g.name, "location": g.location, "tags": g.tags}
                        for g in sub.resource_groups.values()
                    ],
                }
                for sub in self.subscriptions.values()
            ],
            "resources": [
                {
                    "kind": r.kind,
                    "subscriptionId": r.subscription_id,
                    "resourceGroup": r.resource_group,
                    "name": r.name,
                    "doc": self.render(r),
                    "content": r.content,
                    "copyStart": r.copy_start.isoformat() if r.copy_start else None,
                    "copySeconds": r.copy_seconds,
                    "copySourceKey": r.copy_source_key,
                    "copyError": r.copy_error,
                    "copyFrozenPercent": r.copy_frozen_percent,
                }
                for r in sorted(self.resources.values(), key=lambda r: r.seq)
            ],
            "principals": self.principal_docs(),
            "roleAssignments": [a.to_dict() for a in self.authorizer.assignments],
            "snapshotCreationLog": {
                uid: [t.isoformat() for t in times] for uid, times in self.snapshot_log.items()
            },
            "operations": [op.to_dict() for op in self.operations.values()],
        }

    def _add(self, res: Resource) -> None:
        self._seq += 1
        res.seq = self._seq
        self.resources[res.key] = res
        source = _incremental_source(res)
        if source is not None:
            self.incremental_by_source.setdefault(source, set()).add(res.key)

    # ------------------------------------------------------------------ identity

    def principal_for_token(self, token: str) -> str | None:
        return self.tokens.get(token)

    def add_principal(self, principal: Principal, opaque_token: str | None = None) -> str:
        """Know ``principal`` (replacing its tenant and application id if known already), accept
        its issued JWT and, if given, an opaque token for it; returns the JWT."""
        previous = self.principals.get(principal.id)
        if previous is not None and previous != principal:
            self.tokens.pop(access_token(previous), None)
        self.principals[principal.id] = principal
        issued = access_token(principal)
        self.tokens[issued] = principal.id
        if opaque_token:
            self.tokens[str(opaque_token)] = principal.id
        return issued

    def principal_docs(self) -> list[dict[str, Any]]:
        """Every principal with its access token, and one entry per opaque token it also has
        (the seed's ``principals`` format, so a dump loads back)."""
        docs: list[dict[str, Any]] = []
        for principal in self.principals.values():
            issued = access_token(principal)
            opaque = [t for t, pid in self.tokens.items() if pid == principal.id and t != issued]
            base = {**principal.to_dict(), "accessToken": issued}
            docs.extend([{**base, "token": token} for token in opaque] or [base])
        return docs

    # ------------------------------------------------------------------ time

    def tick(self) -> None:
        """Finish every operation whose time has come on the emulator clock."""
        now = self.clock.now()
        while self.finishing and self.finishing[0][0] <= now:
            _, op_id = heapq.heappop(self.finishing)
            op = self.operations[op_id]
            if op.due(now):
                self._complete(op, now)

    def answered_in_progress(self, op: Operation) -> None:
        """A status poll answered InProgress: it may be the one that lets the operation finish."""
        waiting = op.in_progress_polls < op.min_in_progress_polls
        op.answered_in_progress(self.clock.now())
        if waiting and op.in_progress_polls >= op.min_in_progress_polls:
            self._may_finish(op)

    def _may_finish(self, op: Operation) -> None:
        heapq.heappush(self.finishing, (op.start + timedelta(seconds=op.duration_seconds), op.id))

    def _complete(self, op: Operation, now: datetime) -> None:
        res = self.resources.get(op.resource_key)
        op.end = now
        if res is not None and res.pending_op == op.id:
            res.pending_op = None
        if op.failure is not None:
            op.status = "Failed"
            if res is None:
                return
            if op.kind == "create":
                # DiskRP leaves the failed resource behind, in provisioningState Failed.
                res.props["provisioningState"] = "Failed"
            elif op.kind == "update" and op.previous is not None:
                res.doc = op.previous
            else:
                res.props["provisioningState"] = "Succeeded"
            return
        op.status = "Succeeded"
        if res is None:
            return
        if op.kind == "delete":
            del self.resources[res.key]
            source = _incremental_source(res)
            if source is not None:
                self.incremental_by_source.get(source, set()).discard(res.key)
            self._fail_copies_from(res.key, now)
            return
        res.props["provisioningState"] = "Succeeded"
        op.output = self.render(res)

    def _fail_copies_from(self, source_key: str, now: datetime) -> None:
        """A CopyStart target whose source vanishes mid-copy stops with CopySourceNotFound."""
        for res in self.resources.values():
            if res.copy_source_key == source_key and res.copy_error is None:
                percent = self._completion_percent(res, now)
                if percent < 100.0:
                    res.copy_frozen_percent = percent
                    res.copy_error = {
                        "errorCode": "CopySourceNotFound",
                        "errorMessage": "The source snapshot was deleted before the copy completed.",
                    }

    def _completion_percent(self, res: Resource, now: datetime) -> float:
        if res.copy_frozen_percent is not None:
            return res.copy_frozen_percent
        if res.copy_start is None or res.copy_seconds <= 0:
            return 100.0
        elapsed = (now - res.copy_start).total_seconds()
        return round(max(0.0, min(100.0, 100.0 * elapsed / res.copy_seconds)), 1)

    # ------------------------------------------------------------------ lookups

    def subscription(self, subscription_id: str) -> Subscription:
        sub = self.subscriptions.get(subscription_id.lower())
        if sub is None:
            raise subscription_not_found(subscription_id)
        return sub

    @staticmethod
    def resource_group(sub: Subscription, name: str) -> ResourceGroup:
        group = sub.resource_groups.get(name.lower())
        if group is None:
            raise resource_group_not_found(name)
        return group

    def render(self, res: Resource) -> dict[str, Any]:
        doc = copy.deepcopy(res.doc)
        if res.kind == "snapshots":
            doc["properties"]["completionPercent"] = self._completion_percent(res, self.clock.now())
            if res.copy_error is not None:
                doc["properties"]["copyCompletionError"] = dict(res.copy_error)
        if not doc.get("tags"):
            doc.pop("tags", None)
        return doc

    def find(self, resource_id: str) -> Resource | None:
        return self.resources.get("/" + resource_id.strip().strip("/").lower())

    # ------------------------------------------------------------------ ARM operations

    def get_resource_group(self, principal: str, subscription_id: str, rg: str) -> dict[str, Any]:
        sub = self.subscription(subscription_id)
        scope = f"/subscriptions/{subscription_id}/resourceGroups/{rg}"
        self.authorizer.require(principal, "Microsoft.Resources/subscriptions/resourceGroups/read", scope)
        group = self.resource_group(sub, rg)
        body: dict[str, Any] = {
            "id": f"/subscriptions/{sub.id}/resourceGroups/{group.name}",
            "name": group.name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": group.location,
            "properties": {"provisioningState": "Succeeded"},
        }
        if group.tags:
            body["tags"] = dict(group.tags)
        return body

    def permissions(self, principal: str, subscription_id: str, rg: str, scope: str) -> list[dict[str, Any]]:
        """Any caller may read its own permissions; the resource itself need not exist."""
        sub = self.subscription(subscription_id)
        self.resource_group(sub, rg)
        return self.authorizer.permissions(principal, scope)

    def get(self, principal: str, kind: Kind, subscription_id: str, rg: str, name: str) -> dict[str, Any]:
        sub = self.subscription(subscription_id)
        rid = arm_id(subscription_id, rg, kind, name)
        self.authorizer.require(principal, f"{resource_type(kind)}/read", rid)
        self.resource_group(sub, rg)
        res = self.resources.get(rid.lower())
        if res is None:
            raise not_found(resource_type(kind), name, rg)
        return self.render(res)

    def list_resources(
        self, principal: str, kind: Kind, subscription_id: str, rg: str | None
    ) -> list[dict[str, Any]]:
        sub = self.subscription(subscription_id)
        scope = f"/subscriptions/{subscription_id}" + (f"/resourceGroups/{rg}" if rg is not None else "")
        self.authorizer.require(principal, f"{resource_type(kind)}/read", scope)
        if rg is not None:
            self.resource_group(sub, rg)
        found = [
            r
            for r in self.resources.values()
            if r.kind == kind
            and r.subscription_id.lower() == sub.id
            and (rg is None or r.resource_group.lower() == rg.lower())
        ]
        return [self.render(r) for r in sorted(found, key=lambda r: r.seq)]

    def put(
        self,
        principal: str,
        kind: Kind,
        subscription_id: str,
        rg: str,
        name: str,
        body: Any,
        api_version: str,
        failure: Failure | None,
        lro_seconds: float,
    ) -> tuple[dict[str, Any], Operation]:
        sub = self.subscription(subscription_id)
        rid = arm_id(subscription_id, rg, kind, name)
        self.authorizer.require(principal, f"{resource_type(kind)}/write", rid)
        group = self.resource_group(sub, rg)
        if not NAME_RE.match(name):
            raise ArmError(
                400,
                "InvalidResourceName",
                f"Resource name {name} is invalid. The name can be up to 80 characters long. It must begin "
                "with a word character, and it must end with a word character or with '_'. The name may "
                "contain word characters or '.' or '-'.",
            )
        if not isinstance(body, dict):
            raise ArmError(
                400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
            )
        props = body.get("properties")
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise ArmError(400, "InvalidRequestContent", "The 'properties' member must be a JSON object.")
        existing = self.resources.get(rid.lower())
        if existing is not None:
            return self._reput(existing, body, props, api_version, failure, lro_seconds)

        location = body.get("location")
        if not isinstance(location, str) or not location.strip():
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        location = normalize_location(location)
        creation = props.get("creationData")
        if not isinstance(creation, dict):
            raise _bad_param("Required parameter 'creationData' is missing (null).", "creationData")
        option = _canonical(str(creation.get("createOption") or ""), CREATE_OPTIONS)
        if option is None:
            raise _bad_param(
                f"The value '{creation.get('createOption')}' of parameter "
                "'creationData.createOption' is invalid.",
                "creationData.createOption",
            )
        tags = _tags(body)
        sub_id = sub.id
        if kind == "snapshots":
            res = self._create_snapshot(
                principal, sub_id, group, name, rid, location, body, props, creation, option, tags
            )
        else:
            res = self._create_disk(
                principal, sub_id, group, name, rid, location, body, props, creation, option, tags
            )
        self._add(res)
        op = self._start(res, "create", api_version, failure, lro_seconds)
        return self.render(res), op

    # ---- snapshots

    def _create_snapshot(
        self,
        principal: str,
        sub_id: str,
        group: ResourceGroup,
        name: str,
        rid: str,
        location: str,
        body: dict[str, Any],
        props: dict[str, Any],
        creation: dict[str, Any],
        option: str,
        tags: dict[str, str],
    ) -> Resource:
        if option not in ("Copy", "CopyStart"):
            raise ArmError(
                400,
                "BadRequest",
                f"createOption '{option}' is not supported for snapshots by the Compute emulator; "
                "use 'Copy' (from a disk or snapshot) or 'CopyStart' (from an incremental snapshot).",
            )
        sku = _sku(body, SNAPSHOT_SKU_TIERS, "Standard_LRS")
        incremental_raw = props.get("incremental")
        if incremental_raw is not None and not isinstance(incremental_raw, bool):
            raise _bad_param("The value of parameter 'incremental' must be a boolean.", "incremental")
        source_id = self._source_id(creation)
        parsed = ARM_ID_RE.match(source_id)
        source_kind = parsed.group("kind").lower() if parsed else ""
        linked = (
            ("Microsoft.Compute/disks/beginGetAccess/action",)
            if source_kind == "disks"
            else ("Microsoft.Compute/snapshots/beginGetAccess/action", "Microsoft.Compute/snapshots/read")
        )
        self.authorizer.require_linked(principal, "Microsoft.Compute/snapshots/write", rid, linked, source_id)
        source = self._source(source_id)
        now = self.clock.now()
        copy_seconds = 0.0
        if option == "CopyStart":
            if source.kind != "snapshots" or not source.props.get("incremental"):
                raise ArmError(
                    400,
                    "BadRequest",
                    "CopyStart needs an incremental snapshot as its source: "
                    "only incremental snapshots can be "
                    "copied across regions.",
                )
            if incremental_raw is False:
                raise ArmError(400, "BadRequest", "A CopyStart snapshot must be incremental.")
            incremental = True
            self._require_usable_snapshot(source, "copy it with CopyStart")
            family = source.props.get("incrementalSnapshotFamilyId")
            for other in self.resources.values():
                if (
                    other.copy_source_key is not None
                    and other.props.get("incrementalSnapshotFamilyId") == family
                    and other.copy_error is None
                    and self._completion_percent(other, now) < 100.0
                ):
                    raise ArmError(
                        409,
                        "OperationNotAllowed",
                        f"Snapshot '{other.id}' of the same disk is still being copied across regions. "
                        "Only one "
                        "incremental snapshot of a disk can be copied at a time; retry when its "
                        "completionPercent reaches 100.",
                    )
            copy_seconds = self.config.backgroundCopySeconds
        else:
            incremental = bool(incremental_raw)
            if location != source.location:
                raise ArmError(
                    400,
                    "BadRequest",
                    f"Snapshot '{name}' must be created in the region of its source '{source.id}' "
                    f"('{source.location}'), not '{location}'. Copy an incremental snapshot to another "
                    "region with createOption 'CopyStart'.",
                )
            if source.kind == "snapshots":
                self._require_usable_snapshot(source, "copy it")
            else:
                copy_seconds = self._check_disk_snapshot_rules(sub_id, source, incremental, now)
        doc = self._snapshot_doc(
            sub_id,
            group.name,
            name,
            location=location,
            sku=sku,
            tags=tags,
            source=source,
            create_option=option,
            incremental=incremental,
            encryption=props.get("encryption"),
            time_created=now,
        )
        for key in ("provisionedBandwidthCopySpeed", "instantAccessDurationMinutes"):
            if key in creation:
                doc["properties"]["creationData"][key] = creation[key]
        res = Resource("snapshots", sub_id, group.name, name, doc, source.content, 0)
        if copy_seconds > 0:
            res.copy_start = now
            res.copy_seconds = copy_seconds
        if option == "CopyStart":
            res.copy_source_key = source.key
        if incremental and source.kind == "disks":
            self.snapshot_log.setdefault(source.unique_id, []).append(now)
        return res

    def _check_disk_snapshot_rules(
        self, sub_id: str, disk: Resource, incremental: bool, now: datetime
    ) -> float:
        """The incremental-snapshot restrictions DiskRP documents; returns the background-copy time."""
        background = str(disk.doc["sku"]["name"]).lower() in BACKGROUND_COPY_SKUS
        if not incremental:
            if background:
                raise ArmError(
                    400,
                    "BadRequest",
                    f"Disk '{disk.id}' of type {disk.doc['sku']['name']} "
                    "only supports incremental snapshots.",
                )
            return 0.0
        if disk.subscription_id.lower() != sub_id.lower():
            raise ArmError(
                400,
                "BadRequest",
                f"An incremental snapshot of disk '{disk.id}' can only be created in the disk's subscription "
                f"'{disk.subscription_id}', not in '{sub_id}'.",
            )
        family = [self.resources[key] for key in self.incremental_by_source.get(disk.unique_id.lower(), ())]
        limit = self.config.maxIncrementalSnapshotsPerDisk
        if len(family) >= limit:
            raise ArmError(
                409,
                "SnapshotsLimitReached",
                f"The snapshot count was exceeded for disk '{disk.id}': a disk can have at most {limit} "
                "incremental snapshots at a time. Delete older snapshots of this disk and retry.",
            )
        window = timedelta(seconds=self.config.incrementalSnapshotRateWindowSeconds)
        recent = [t for t in self.snapshot_log.get(disk.unique_id, []) if t > now - window]
        self.snapshot_log[disk.unique_id] = recent
        rate = self.config.incrementalSnapshotRateCount
        if len(recent) >= rate:
            wait = max(1, int((recent[0] + window - now).total_seconds()) + 1)
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Up to {rate} incremental snapshots of a disk can be created every "
                f"{int(window.total_seconds())} seconds; disk '{disk.id}' has reached that rate. "
                f"Retry after {wait} seconds.",
            )
        if not background:
            return 0.0
        pending = [r for r in family if r.copy_error is None and self._completion_percent(r, now) < 100.0]
        if len(pending) >= self.config.maxPendingBackgroundCopiesPerDisk:
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Disk '{disk.id}' already has {len(pending)} snapshots whose background copy is pending; "
                "wait until their completionPercent reaches 100 before creating more.",
            )
        return self.config.backgroundCopySeconds

    def _snapshot_doc(
        self,
        sub_id: str,
        rg: str,
        name: str,
        *,
        location: str,
        sku: str,
        tags: dict[str, str],
        source: Resource,
        create_option: str,
        incremental: bool,
        encryption: Any,
        time_created: datetime,
    ) -> dict[str, Any]:
        sku_name = _canonical(sku, list(SNAPSHOT_SKU_TIERS)) or "Standard_LRS"
        props: dict[str, Any] = {
            "creationData": {
                "createOption": create_option,
                "sourceResourceId": source.id,
                "sourceUniqueId": source.unique_id,
            },
            "diskSizeGB": source.size_gb,
            "diskSizeBytes": source.size_gb * GIB,
            "encryption": _encryption(encryption, source.props.get("encryption")),
            "incremental": incremental,
            "networkAccessPolicy": "AllowAll",
            "publicNetworkAccess": "Enabled",
            "timeCreated": time_created.isoformat(),
            "uniqueId": str(uuid.uuid4()),
            "provisioningState": "Updating",
        }
        if incremental:
            if source.kind == "disks":
                props["incrementalSnapshotFamilyId"] = family_id_for_disk(source.unique_id)
            else:
                props["incrementalSnapshotFamilyId"] = source.props.get(
                    "incrementalSnapshotFamilyId", family_id_for_disk(source.unique_id)
                )
        for key in ("osType", "hyperVGeneration", "supportedCapabilities", "securityProfile"):
            if key in source.props:
                props[key] = copy.deepcopy(source.props[key])
        return {
            "id": arm_id(sub_id, rg, "snapshots", name),
            "name": name,
            "type": "Microsoft.Compute/snapshots",
            "location": location,
            "tags": dict(tags),
            "sku": {"name": sku_name, "tier": SNAPSHOT_SKU_TIERS[sku_name]},
            "properties": props,
        }

    # ---- disks

    def _create_disk(
        self,
        principal: str,
        sub_id: str,
        group: ResourceGroup,
        name: str,
        rid: str,
        location: str,
        body: dict[str, Any],
        props: dict[str, Any],
        creation: dict[str, Any],
        option: str,
        tags: dict[str, str],
    ) -> Resource:
        sku = _sku(body, DISK_SKU_TIERS, "Standard_LRS")
        zones = body.get("zones")
        if zones is not None and (not isinstance(zones, list) or len(zones) > 1):
            raise _bad_param("A disk can be placed in at most one availability zone.", "zones")
        requested_size = props.get("diskSizeGB")
        if requested_size is not None and (
            isinstance(requested_size, bool) or not isinstance(requested_size, int) or requested_size <= 0
        ):
            raise _bad_param("The value of parameter 'diskSizeGB' must be a positive integer.", "diskSizeGB")
        now = self.clock.now()
        content = ""
        extra: dict[str, Any] = {}
        if option == "Empty":
            if requested_size is None:
                raise _bad_param("Required parameter 'diskSizeGB' is missing (null).", "diskSizeGB")
            size = int(requested_size)
            creation_out: dict[str, Any] = {"createOption": "Empty"}
            encryption = _encryption(props.get("encryption"), None)
        elif option == "Copy":
            source_id = self._source_id(creation)
            parsed = ARM_ID_RE.match(source_id)
            source_kind = parsed.group("kind").lower() if parsed else "snapshots"
            linked = (
                f"Microsoft.Compute/{source_kind}/beginGetAccess/action",
                f"Microsoft.Compute/{source_kind}/read",
            )
            self.authorizer.require_linked(principal, "Microsoft.Compute/disks/write", rid, linked, source_id)
            source = self._source(source_id)
            if location != source.location:
                raise ArmError(
                    400,
                    "BadRequest",
                    f"Disk '{name}' must be created in the region of its source '{source.id}' "
                    f"('{source.location}'), not '{location}'.",
                )
            if source.kind == "snapshots":
                self._require_usable_snapshot(source, "create a disk from it")
            size = int(requested_size) if requested_size is not None else source.size_gb
            if size < source.size_gb:
                raise ArmError(
                    400,
                    "BadRequest",
                    f"The disk size {size} GB is smaller than the size of the source '{source.id}' "
                    f"({source.size_gb} GB).",
                )
            creation_out = {
                "createOption": "Copy",
                "sourceResourceId": source.id,
                "sourceUniqueId": source.unique_id,
            }
            encryption = _encryption(props.get("encryption"), source.props.get("encryption"))
            content = source.content
            extra = {
                k: copy.deepcopy(source.props[k]) for k in ("osType", "hyperVGeneration") if k in source.props
            }
        else:
            raise ArmError(
                400,
                "BadRequest",
                f"createOption '{option}' is not supported for disks by the Compute emulator; "
                "use 'Empty' or 'Copy'.",
            )
        for key in ("osType", "hyperVGeneration", "diskIOPSReadWrite", "diskMBpsReadWrite"):
            if key in props:
                extra[key] = props[key]
        doc = self._disk_doc(
            sub_id,
            group.name,
            name,
            location=location,
            sku=sku,
            size_gb=size,
            zones=zones,
            tags=tags,
            creation=creation_out,
            encryption=encryption,
            tier=props.get("tier"),
            extra=extra,
            time_created=now,
        )
        return Resource("disks", sub_id, group.name, name, doc, content, 0)

    @staticmethod
    def _disk_doc(
        sub_id: str,
        rg: str,
        name: str,
        *,
        location: str,
        sku: str,
        size_gb: int,
        zones: list[str] | None,
        tags: dict[str, str],
        creation: dict[str, Any],
        encryption: dict[str, Any],
        tier: str | None,
        extra: dict[str, Any],
        time_created: datetime,
    ) -> dict[str, Any]:
        props: dict[str, Any] = {
            "creationData": creation,
            "diskSizeGB": size_gb,
            "diskSizeBytes": size_gb * GIB,
            "uniqueId": str(uuid.uuid4()),
            "encryption": encryption,
            "networkAccessPolicy": "AllowAll",
            "publicNetworkAccess": "Enabled",
            "timeCreated": time_created.isoformat(),
            "provisioningState": "Updating",
            "diskState": "Unattached",
        }
        if tier is None and sku in ("Premium_LRS", "Premium_ZRS"):
            tier = _premium_tier(size_gb)
        if tier:
            props["tier"] = tier
        if sku in ("PremiumV2_LRS", "UltraSSD_LRS"):
            props.setdefault("diskIOPSReadWrite", 3000)
            props.setdefault("diskMBpsReadWrite", 125)
        props.update(extra)
        doc: dict[str, Any] = {
            "id": arm_id(sub_id, rg, "disks", name),
            "name": name,
            "type": "Microsoft.Compute/disks",
            "location": location,
            "tags": dict(tags),
            "sku": {"name": sku, "tier": DISK_SKU_TIERS[sku]},
            "properties": props,
        }
        if zones:
            doc["zones"] = [str(z) for z in zones]
        return doc

    # ---- sources

    @staticmethod
    def _source_id(creation: dict[str, Any]) -> str:
        """The ARM id a copy reads from. A ``sourceUri`` naming an ARM resource is accepted, as
        DiskRP does, and reported back as ``sourceResourceId``."""
        raw = creation.get("sourceResourceId") or creation.get("sourceUri")
        if not raw or not isinstance(raw, str):
            raise _bad_param(
                "Required parameter 'sourceResourceId' is missing (null).", "creationData.sourceResourceId"
            )
        raw = re.sub(r"^https://[^/]+", "", raw.strip())
        if not ARM_ID_RE.match(raw):
            raise ArmError(
                400,
                "LinkedInvalidPropertyId",
                f"Property id '{raw}' at path 'properties.creationData.sourceResourceId' is invalid. Expect "
                "fully qualified resource Id that start with '/subscriptions/{subscriptionId}' and names a "
                "Microsoft.Compute disk or snapshot.",
            )
        return "/" + raw.strip("/")

    def _source(self, source_id: str) -> Resource:
        source = self.find(source_id)
        if source is None:
            raise ArmError(404, "NotFound", f"Resource {source_id} is not found.")
        if source.provisioning_state != "Succeeded":
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Resource '{source.id}' is in provisioning state '{source.provisioning_state}'; "
                "it can be copied only when its provisioning state is 'Succeeded'.",
            )
        return source

    def _require_usable_snapshot(self, snapshot: Resource, purpose: str) -> None:
        if snapshot.copy_error is not None:
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Snapshot '{snapshot.id}' failed its background copy ({snapshot.copy_error['errorCode']}); "
                f"cannot {purpose}.",
            )
        percent = self._completion_percent(snapshot, self.clock.now())
        if percent < 100.0:
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Snapshot '{snapshot.id}' is still completing its background copy (completionPercent "
                f"{percent}); cannot {purpose} until completionPercent is 100.",
            )

    # ---- updates

    def _reput(
        self,
        res: Resource,
        body: dict[str, Any],
        props: dict[str, Any],
        api_version: str,
        failure: Failure | None,
        lro_seconds: float,
    ) -> tuple[dict[str, Any], Operation]:
        """PUT on an existing resource: an idempotent update that may not touch immutable parts."""
        if res.pending_op is not None:
            running = self.operations[res.pending_op]
            if running.kind == "delete":
                raise _busy(res, "being deleted")
            return self.render(res), running
        location = body.get("location")
        if isinstance(location, str) and normalize_location(location) != res.location:
            raise ArmError(
                409,
                "InvalidResourceLocation",
                f"The resource '{res.name}' already exists in location '{res.location}' in resource group "
                f"'{res.resource_group}'. A resource with the same name cannot be created in location "
                f"'{normalize_location(location)}'. Please select a new resource name.",
            )
        creation = props.get("creationData")
        if isinstance(creation, dict):
            current = res.props["creationData"]
            changed = (
                str(creation.get("createOption", "")).lower() != str(current.get("createOption")).lower()
            )
            if not changed and current.get("sourceResourceId"):
                wanted = creation.get("sourceResourceId") or creation.get("sourceUri") or ""
                wanted = "/" + re.sub(r"^https://[^/]+", "", str(wanted)).strip().strip("/")
                changed = wanted.lower() != str(current["sourceResourceId"]).lower()
            if changed:
                raise _immutable("creationData")
        wanted_incremental = props.get("incremental")
        if (
            res.kind == "snapshots"
            and wanted_incremental is not None
            and bool(wanted_incremental) != bool(res.props.get("incremental"))
        ):
            raise _immutable("incremental")
        if res.kind == "disks" and "zones" in body and (body["zones"] or None) != res.doc.get("zones"):
            raise _immutable("zones")
        previous = copy.deepcopy(res.doc)
        self._apply_update(res, body, props, replace_tags=True)
        op = self._start(res, "update", api_version, failure, lro_seconds, previous=previous)
        return self.render(res), op

    def patch(
        self,
        principal: str,
        kind: Kind,
        subscription_id: str,
        rg: str,
        name: str,
        body: Any,
        api_version: str,
        failure: Failure | None,
        lro_seconds: float,
    ) -> tuple[dict[str, Any], Operation]:
        sub = self.subscription(subscription_id)
        rid = arm_id(subscription_id, rg, kind, name)
        self.authorizer.require(principal, f"{resource_type(kind)}/write", rid)
        self.resource_group(sub, rg)
        res = self.resources.get(rid.lower())
        if res is None:
            raise not_found(resource_type(kind), name, rg)
        if not isinstance(body, dict):
            raise ArmError(
                400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
            )
        if res.pending_op is not None:
            raise _busy(res, "being changed by another operation")
        props = body.get("properties") or {}
        if not isinstance(props, dict):
            raise ArmError(400, "InvalidRequestContent", "The 'properties' member must be a JSON object.")
        previous = copy.deepcopy(res.doc)
        self._apply_update(res, body, props, replace_tags="tags" in body)
        op = self._start(res, "update", api_version, failure, lro_seconds, previous=previous)
        return self.render(res), op

    def _apply_update(
        self, res: Resource, body: dict[str, Any], props: dict[str, Any], replace_tags: bool
    ) -> None:
        if replace_tags:
            res.doc["tags"] = _tags(body)
        if isinstance(body.get("sku"), dict) and body["sku"].get("name"):
            tiers = DISK_SKU_TIERS if res.kind == "disks" else SNAPSHOT_SKU_TIERS
            sku = _sku(body, tiers, res.doc["sku"]["name"])
            res.doc["sku"] = {"name": sku, "tier": tiers[sku]}
        if res.kind == "disks":
            size = props.get("diskSizeGB")
            if size is not None:
                if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
                    raise _bad_param(
                        "The value of parameter 'diskSizeGB' must be a positive integer.", "diskSizeGB"
                    )
                if size < res.size_gb:
                    raise ArmError(
                        409,
                        "OperationNotAllowed",
                        f"Disk size reduction is not supported: disk '{res.id}' is {res.size_gb} GB, "
                        f"requested {size} GB.",
                    )
                res.props["diskSizeGB"] = size
                res.props["diskSizeBytes"] = size * GIB
            if props.get("tier"):
                res.props["tier"] = props["tier"]
        if isinstance(props.get("encryption"), dict):
            res.props["encryption"] = _encryption(props["encryption"], res.props.get("encryption"))
        res.props["provisioningState"] = "Updating"

    def delete(
        self,
        principal: str,
        kind: Kind,
        subscription_id: str,
        rg: str,
        name: str,
        api_version: str,
        failure: Failure | None,
        lro_seconds: float,
    ) -> Operation | None:
        """None means "already gone" (204)."""
        sub = self.subscription(subscription_id)
        rid = arm_id(subscription_id, rg, kind, name)
        self.authorizer.require(principal, f"{resource_type(kind)}/delete", rid)
        self.resource_group(sub, rg)
        res = self.resources.get(rid.lower())
        if res is None:
            return None
        if res.pending_op is not None:
            running = self.operations[res.pending_op]
            if running.kind == "delete":
                return running
            raise _busy(res, "being created or updated")
        res.props["provisioningState"] = "Deleting"
        return self._start(res, "delete", api_version, failure, lro_seconds)

    def _start(
        self,
        res: Resource,
        kind: OperationKind,
        api_version: str,
        failure: Failure | None,
        lro_seconds: float,
        previous: dict[str, Any] | None = None,
    ) -> Operation:
        start = self.clock.now()
        op = Operation(
            id=str(uuid.uuid4()),
            kind=kind,
            resource_key=res.key,
            subscription_id=res.subscription_id,
            location=res.location,
            api_version=api_version,
            start=start,
            duration_seconds=lro_seconds,
            query_token=uuid.uuid4().hex,
            failure=failure,
            previous=previous,
            min_in_progress_polls=self.config.lroMinInProgressPolls,
            polls_count_from=start + timedelta(seconds=self.config.retryAfterAcceptedSeconds),
        )
        self.operations[op.id] = op
        if op.min_in_progress_polls <= 0:
            self._may_finish(op)
        res.pending_op = op.id
        return op

    def operation(self, subscription_id: str, op_id: str) -> Operation:
        self.subscription(subscription_id)
        op = self.operations.get(op_id.lower())
        if op is None or op.subscription_id.lower() != subscription_id.lower():
            raise ArmError(404, "NotFound", f"The operation '{op_id}' was not found.")
        return op

    def operation_result(self, op: Operation) -> dict[str, Any] | None:
        """What the synchronous call would have returned, for the Location monitor."""
        res = self.resources.get(op.resource_key)
        if op.kind == "delete":
            return None
        if res is not None and res.pending_op is None:
            return self.render(res)
        return op.output

    # ------------------------------------------------------------------ admin helpers

    def write_content(self, resource_id: str, content: str) -> None:
        res = self.find(resource_id)
        if res is None:
            raise ArmError(404, "ResourceNotFound", f"No disk '{resource_id}'.")
        if res.kind != "disks":
            raise ArmError(400, "BadRequest", "Only disks can be written; snapshots are read-only.")
        res.content = content

    def read_content(self, resource_id: str) -> str:
        res = self.find(resource_id)
        if res is None:
            raise ArmError(404, "ResourceNotFound", f"No disk or snapshot '{resource_id}'.")
        return res.content


def _incremental_source(res: Resource) -> str | None:
    if res.kind != "snapshots" or not res.props.get("incremental"):
        return None
    return str(res.props["creationData"].get("sourceUniqueId", "")).lower()


def _busy(res: Resource, why: str) -> ArmError:
    return ArmError(
        409,
        "OperationNotAllowed",
        f"The operation is not allowed because {res.kind[:-1]} '{res.id}' is currently {why}. "
        "Retry after that operation completes.",
    )


def _immutable(prop: str) -> ArmError:
    return ArmError(
        409,
        "PropertyChangeNotAllowed",
        f"Changing property '{prop}' is not allowed.",
        target=prop,
    )


def _tags(body: dict[str, Any]) -> dict[str, str]:
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise _bad_param("Tags must be a JSON object of string values.", "tags")
    if len(tags) > 50:
        raise ArmError(400, "InvalidTag", "A resource can have at most 50 tags.")
    return dict(tags)


def _sku(body: dict[str, Any], tiers: dict[str, str], default: str) -> str:
    raw = body.get("sku")
    name = raw.get("name") if isinstance(raw, dict) else None
    if not name:
        return default
    sku = _canonical(str(name), list(tiers))
    if sku is None:
        raise _bad_param(
            f"The value '{name}' of parameter 'sku.name' is invalid. Allowed values: {', '.join(tiers)}.",
            "sku.name",
        )
    return sku


def _encryption(requested: Any, inherited: Any) -> dict[str, Any]:
    if isinstance(requested, dict) and requested:
        out = {k: v for k, v in requested.items() if k in ("type", "diskEncryptionSetId")}
        if "type" not in out:
            out["type"] = CUSTOMER_KEY if out.get("diskEncryptionSetId") else PLATFORM_KEY
        return out
    if isinstance(inherited, dict) and inherited:
        return copy.deepcopy(inherited)
    return {"type": PLATFORM_KEY}


def _premium_tier(size_gb: int) -> str:
    for limit, tier in PREMIUM_TIERS:
        if size_gb <= limit:
            return tier
    return "P80"


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
