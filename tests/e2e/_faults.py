"""Shared by the fault, crash and CA-fault modules: in-process runs by the fast policy, a tenant that has
issued once, the fixture that puts faults, latency and the run lock back, and the operations a forced
renewal calls. Each module that uses `tenant` gets its own (named by its LABEL)."""
from __future__ import annotations

import dataclasses
import time

import oci
import pytest

from _slice import fast_policy, secret_path
from certmgr.renewal import runner
from certmgr.settings.config import Config
from sandbox.oci import dns as dns_service

# A killed run's lease outlives it; the run after it looks from a clock that is past that lease.
AFTER_THE_LEASE = 1000.0


def run(env: dict, *, budget: int | None = None, **options) -> runner.Result:
    config = Config.from_env(env)
    if budget is not None:  # below the variable's range: tests wait seconds, not minutes
        config = dataclasses.replace(config, run_budget=budget)
    return runner.run(config, **{"policy": fast_policy(), **options})


def later_policy():
    return fast_policy(wall_clock=lambda: time.time() + AFTER_THE_LEASE)


def calls_since(tenant, count: int) -> list[dict]:
    return tenant.control("GET", "/calls")[count:]


@pytest.fixture(scope="module")
def tenant(make_tenant, request):
    t = make_tenant(request.module.LABEL)
    first = run(t.env)
    assert first.status == "ok", first.render()
    return t


def end_lease(tenant) -> None:
    """Free the tenant's run lock, keeping its record, as time would once a killed run's lease expired."""
    vaults = tenant._client(oci.vault.VaultsClient)
    lock_id = secret_path(tenant, f"{tenant.prefix}-lock").rsplit("/", 1)[1]
    metadata = dict(vaults.get_secret(lock_id).data.metadata, holder="", until="0")
    vaults.update_secret(lock_id, oci.vault.models.UpdateSecretDetails(metadata=metadata))


@pytest.fixture
def restore(tenant):
    """Faults, LB latency, DNS propagation and the run lock back to normal after the test."""
    yield
    tenant.sandbox.world.faults.clear()
    tenant.control("POST", "/options", {"work_request_delay": tenant.sandbox.work_request_delay})
    tenant.sandbox.backend(dns_service).set_propagation_delay(tenant.zone_id, None)
    tenant.settle()
    end_lease(tenant)


@pytest.fixture(scope="module")
def operations(tenant):
    """Every OCI operation a forced renewal calls, from the sandbox's call log of one."""
    before = len(tenant.control("GET", "/calls"))
    result = run(tenant.env, force=True)
    assert result.status == "ok", result.render()
    tenant.settle()
    ops = sorted({c["operation"] for c in calls_since(tenant, before)})
    assert {"dns.patch_zone_records", "vault.update_secret", "lb.create_certificate", "lb.update_listener",
            "lb.get_work_request", "lb.delete_certificate"} <= set(ops), ops
    return ops


