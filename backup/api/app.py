"""The router of the ARM surface: every endpoint module's route table, in one place."""

from __future__ import annotations

from functools import cache

from backup.api import operations
from backup.api.endpoints import (
    actions,
    instance_operations,
    instances,
    job_export,
    jobs,
    overview,
    policies,
    provider,
    recovery_points,
    resource_guards,
    role_assignments,
    vault_limits,
    vaults,
)
from backup.api.router import Router


@cache
def build_router() -> Router:
    """Built once per process; pure (no I/O)."""
    return Router(
        [
            actions.routes,
            instances.routes,
            vaults.routes,
            policies.routes,
            jobs.routes,
            recovery_points.routes,
            operations.routes,
            overview.routes,
            instance_operations.routes,
            provider.routes,
            job_export.routes,
            resource_guards.routes,
            role_assignments.routes,
            vault_limits.routes,
        ]
    )
