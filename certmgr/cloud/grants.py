"""The IAM grants behind each OCI call certmgr makes, named for this deployment, so that a refusal says what to add.

`permissions.json` (beside this file, so the function's image carries it) lists each operation certmgr calls
with the grants it needs, and each statement of the policy terraform/modules/certmgr writes with the grants it
gives and the deployment's names as `${placeholders}`. `Grants(config)` fills those in from the function's own
settings (the names Terraform gives: the dynamic group `<prefix>-certmgr-renewer`, the compartments of
CERTMGR_COMPARTMENT_ID), so `policy()` is the deployment's policy and `statements(operation)` what a refused
call needs. `explain(exc, region)` is what an OCI answer means in this deployment: OCI answers 404
NotAuthorizedOrNotFound alike for a resource that is not there, one the function may not see, and one in
another region (an OCID's fourth field names its region), and 401 for a clock that is off (its Date header
says by how much).
"""
from __future__ import annotations

import email.utils
import json
import re
import time
from pathlib import Path
from string import Template

import oci

TABLE = json.loads(Path(__file__).with_name("permissions.json").read_text())
# The SDK clients' service names (BaseClient's first argument), as the table names services.
SERVICES = {"vaults": "vault", "load_balancer": "lb", "notification_data_plane": "ons", "logging": "loggingingestion",
            "kms_vault": "kms", "kms_management": "kms"}
OCID = re.compile(r"ocid1\.([a-z0-9-]+)\.[a-z0-9-]+\.([a-z0-9-]*)(?:\.[a-z0-9-]*)?\.[A-Za-z0-9_-]+")
CLOCK_TOLERANCE = 60.0  # seconds: Date headers are whole seconds, and OCI refuses requests 5 minutes off
KINDS = {"vault": "vault", "key": "key", "loadbalancer": "load balancer", "vaultsecret": "secret",
         "dns-zone": "zone", "certificate": "certificate", "onstopic": "topic", "log": "log"}


def region_of(ocid: str | None) -> str | None:
    """The region an OCID names (`ocid1.vault.oc1.iad.…` is us-ashburn-1), or None for a global one."""
    found = OCID.fullmatch(ocid or "")
    if not found or not found.group(2):
        return None
    short = found.group(2)
    return oci.regions.REGIONS_SHORT_NAMES.get(short, short)


def operation(exc: oci.exceptions.ServiceError) -> str:
    """The failed call as the table names it: `dns.patch_zone_records`."""
    service = exc.target_service or "oci"
    return f"{SERVICES.get(service, service)}.{exc.operation_name}"


def skew(headers) -> float | None:
    """Seconds this machine's clock is ahead of the server's (behind: negative), from a reply's Date header."""
    value = (headers or {}).get("date") or (headers or {}).get("Date")
    try:
        return time.time() - email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def span(seconds: float) -> str:
    seconds = abs(seconds)
    return f"{seconds / 3600:.1f} h" if seconds >= 3000 else f"{seconds / 60:.0f} min" if seconds >= 90 \
        else f"{seconds:.0f} s"


def clock_off(seconds: float | None, whose: str) -> str | None:
    """`this machine's clock is 1.0 h behind OCI's`; None when it is within CLOCK_TOLERANCE (or unknown)."""
    if seconds is None or abs(seconds) <= CLOCK_TOLERANCE:
        return None
    return f"this machine's clock is {span(seconds)} {'ahead of' if seconds > 0 else 'behind'} {whose}"


class Grants:
    """This deployment's policy statements, and which of them each operation needs."""

    def __init__(self, config):
        self.roles = (["monitor"] if config.mode == "monitor" else
                      ["renewer"] + (["renewer-certificates-service"] if config.certificate_name else []))
        prefix, compartment, monitor = config.name_prefix, config.compartment_id, config.monitor
        smtp = [s for s in (monitor.smtp_username_secret, monitor.smtp_password_secret) if s] if monitor else []
        # A fleet's renewers share their policies: named by the module's prefix, with the secrets as a pattern.
        fleet = config.fleet_prefix
        self.names = {
            "group": f"{fleet or prefix}-certmgr-{'monitor' if monitor else 'renewer'}", "compartment_id": compartment,
            "dns_zone_compartment_id": compartment, "vault_compartment_id": compartment,
            "lb_compartment_id": compartment, "dns_zone_id": config.dns_zone_id, "vault_id": config.vault_id,
            "vault_key_id": config.vault_key_id, "monitor_scope": "tenancy",
            "state_secret": f"{prefix}-monitor-state", "certificate_secret": f"{prefix}-certificate",
            "smtp_secrets": ", ".join(f"target.secret.id = '{s}'" for s in smtp),
            "email_from": monitor.email_from if monitor else None,
            "log_group_condition": (f" where target.loggroup.id = '{monitor.log_group_id}'"
                                    if monitor and monitor.log_group_id else "")}
        self.secret_names = (f"/{fleet}-*/",) if fleet else tuple(f"'{name}'" for name in config.kept_secrets)
        self.fleet = fleet
        # The regional resources each service's calls concern, beyond the OCIDs in a request's URL (a secret's
        # vault is in the body of its creation).
        self.regional = {"vault": (config.vault_id, config.vault_key_id), "secrets": (config.vault_id,),
                         "kms": (config.vault_id, config.vault_key_id), "lb": (config.lb_id,)}
        self.present = {"smtp_secret_ids": bool(smtp), "topic_id": bool(monitor and monitor.topic_id),
                        "log_id": bool(monitor and monitor.log_id), "metrics": config.metrics,
                        "email_api": bool(monitor and monitor.email_api)}

    def _entries(self):
        return [e for role in self.roles for e in TABLE["statements"][role]
                if self.present.get(e.get("when"), True)]

    def _fill(self, entry: dict, **names) -> list[str]:
        template = Template(entry["statement"])
        if "secret_name" in names:  # as a policy names it: quoted, or the fleet's pattern
            names["secret_name"] = self.secret_names[0] if self.fleet else f"'{names['secret_name']}'"
        if entry.get("each") and entry["each"] not in names:
            return [template.safe_substitute(self.names, **names, **{entry["each"]: n}) for n in self.secret_names]
        return [template.safe_substitute(self.names, **names)]

    def policy(self) -> list[str]:
        """Every statement of this deployment's policy, as Terraform writes it."""
        return [s for entry in self._entries() for s in self._fill(entry)]

    def statements(self, operation: str, **names) -> list[str]:
        """The statements that give `operation` (none for a call the table does not know). `names` fill in what
        the call names (e.g. `secret_name`, `dns_zone_id`); a secret left unnamed gets a statement per secret."""
        needed = {g for role in self.roles for g in TABLE[role].get(operation, [])}
        return list(dict.fromkeys(s for e in self._entries() if needed & set(e["grants"])
                                  for s in self._fill(e, **names)))

    def explain(self, exc: oci.exceptions.ServiceError, region: str, **names) -> str | None:
        """What OCI's refusal means here, with the fix; None when the status says it all. `names` are what the
        caller knows of the call's subject (`secret_name`)."""
        if exc.status == 401:
            off = clock_off(skew(exc.headers), "OCI's")
            return off and f"{off} (OCI refuses requests signed 5 minutes off its time): set the clock right (NTP)"
        if exc.status != 404:
            return None
        named = {m.group(0): m.group(1) for m in OCID.finditer(exc.request_endpoint or "")}
        concerned = self.regional.get(operation(exc).split(".")[0], ())
        named.update((m.group(0), m.group(1)) for m in map(OCID.fullmatch, filter(None, concerned)) if m)
        for ocid, kind in named.items():
            where = region_of(ocid)
            if where not in (None, region):
                return (f"{KINDS.get(kind, kind)} {ocid} is in region {where}, and the function calls {region}: OCI "
                        f"answers for it only in {where}; keep it in the function's region, or run the function there")
        zone = next((ocid for ocid, kind in named.items() if kind == "dns-zone"), None)
        found = self.statements(operation(exc), **{**({"dns_zone_id": zone} if zone else {}), **names})
        if not found:
            return None
        return ("if it exists, the function lacks " + ("this grant: " if len(found) == 1 else "these grants: ")
                + "; ".join(found))
