"""`check` in renew mode: everything a renewal needs, proven one item at a time, changing nothing a user sees.

Reads prove the read grants; the DNS write grant is proven by a PATCH whose one item is a PROHIBIT precondition
on a random TXT value (it changes nothing, yet needs the grant writing does), and Vault's write grant by taking
and releasing the run lock (metadata only, no version). What only a change proves (an LB upload, a listener
switch, an import into the Certificates service) is listed as such, with the statement it rests on.
"""
from __future__ import annotations

import secrets

from .. import pki
from ..ca.directory import profiles, read_directory
from ..cloud.dns import TxtRecord, challenge_name
from ..cloud.load_balancer import select_listeners
from ..cloud.lock import LockBusy, RunLock
from ..errors import VaultError, failing_as
from ..renewal.adapters import Services
from ..monitor.model import count
from .checklist import FAILED, SKIPPED, UNPROVEN, Stop
from .common import Check


class RenewerCheck(Check):
    routed = False  # every name's challenge lands in a zone that was read: its nameservers can be asked (CAA)

    def run(self) -> None:
        self.services = Services(self.config, self.clients, self.policy, self.deadline)
        signed = self.identity(lambda: self.clients.dns().get_zone(self.config.dns_zone_ids[0]))
        if signed:
            self.zones()
            self.vault()
            self.load_balancer()
            if self.config.certificate_name:
                self.certificates_service()
        else:
            self.checks.add("OCI", SKIPPED, "not checked: OCI accepts no request with this identity (see above)")
        self.ca(signed)
        self.clock()

    # -- DNS ---------------------------------------------------------------------------------------------------

    def zones(self) -> None:
        dns, failed = self.services.dns, False
        for zone_id in self.config.dns_zone_ids:
            with self.checks.item(f"zone {zone_id}") as item:
                model = dns.add(zone_id)
                item.name, item.detail = f"zone {model.name}", f"{zone_id}: readable, public (GLOBAL)"
            failed |= item.status == FAILED
        if failed:
            self.checks.add("names", SKIPPED, "not checked: a zone above cannot be read")
            return
        writes: dict[str, list[str]] = {}
        with self.checks.item("names") as item:
            found = []
            for name in self.config.domains:
                challenge = challenge_name(name)
                if dns.zone_of(challenge) is None:
                    item.detail = f"{name} is in no zone of CERTMGR_DNS_ZONE_ID ({', '.join(dns.models)})"
                    item.fix = "list only names inside the zones, or add the zone holding it to CERTMGR_DNS_ZONE_ID"
                    raise Stop
                target = dns.target(challenge)
                writes.setdefault(dns.zone_of(target), []).append(target)
                found.append(f"{name} in {dns.zone_of(challenge)}" + (f" (challenge at {target})"
                                                                      if target != challenge else ""))
            item.detail = "; ".join(found)
        self.routed = item.status != FAILED
        for zone, names in writes.items():
            self.nameservers(zone)
            with self.checks.item(f"dns write {zone}") as item:
                dns.by_name[zone].prohibit(TxtRecord(names[0], secrets.token_urlsafe(24)))
                item.detail = (f"PATCH of {names[0]} accepted: a PROHIBIT precondition on a random TXT value, "
                               "which changes nothing")

    def nameservers(self, zone: str) -> None:
        from ..ca.propagation import authoritative, unanswered  # dnspython only here and in a run that orders
        with self.checks.item(f"nameservers {zone}") as item:
            servers = authoritative(self.services.dns, zone, self.config.dns_nameservers)
            problems = {f"{host}:{port}": unanswered((host, port), zone, self.policy.dns_timeout)
                        for host, port in servers}
            failing = {address: found for address, found in problems.items() if found}
            if failing:
                item.detail = "; ".join(f"{address} {', '.join(found)}" for address, found in failing.items())
                item.fix = ("the propagation check asks each of these from here: open UDP and TCP 53 from the "
                            "function's subnet to them (a NAT gateway for a private subnet), or set "
                            "CERTMGR_DNS_NAMESERVERS to servers it reaches")
                raise Stop
            item.detail = f"{', '.join(problems)} answer over UDP and TCP"

    # -- Vault -------------------------------------------------------------------------------------------------

    def vault(self) -> None:
        config, store, vault = self.config, self.services.vault.store, None
        with self.checks.item("vault") as item:
            self.same_region(item, "vault", config.vault_id, "CERTMGR_VAULT_ID")
            with failing_as(VaultError, f"vault: cannot read vault {config.vault_id}", "check CERTMGR_VAULT_ID"):
                vault = self.clients.kms_vaults().get_vault(config.vault_id).data
            if vault.lifecycle_state != "ACTIVE":
                item.detail = f"vault {vault.display_name} is {vault.lifecycle_state}"
                item.fix = "set CERTMGR_VAULT_ID to an ACTIVE vault"
                raise Stop
            item.detail = f"{vault.display_name} ({config.vault_id}): ACTIVE"
        if vault is None:
            self.checks.add("key", SKIPPED, "not checked: a key is read at its vault's endpoint (see the vault)")
        else:
            self.key(vault)
        with self.checks.item("secrets") as item:
            found = []
            for name in config.kept_secrets[:-1]:  # the run lock is the next item's
                stored = store.read(name)
                if stored is None:  # read by name: missing, or refused (as a run tells them apart)
                    store.confirm_absent(name)
                found.append(f"{name} ({stored[1] or 'CURRENT'})" if stored else f"{name} (none: a run creates it)")
            item.detail = "readable: " + ", ".join(found)
        with self.checks.item("run lock") as item:
            existed = store.secret_id(config.lock_name) is not None
            try:
                with RunLock(store, config.lock_name, seconds=self.policy.lease_margin,
                             clock=self.policy.wall_clock):
                    pass
            except LockBusy as exc:
                item.status = UNPROVEN
                item.detail = f"{exc.message}: writing secrets is not proven; check again later"
                return
            item.detail = (f"{config.lock_name} taken and released: secrets can be written (metadata only, no new "
                           "version)" if existed else f"{config.lock_name} created and released: secrets can be "
                           "written (the first run creates this secret too)")

    def key(self, vault) -> None:
        config = self.config
        with self.checks.item("key") as item:
            self.same_region(item, "key", config.vault_key_id, "CERTMGR_VAULT_KEY_ID")
            with failing_as(VaultError, f"vault: cannot read key {config.vault_key_id}",
                            "check CERTMGR_VAULT_KEY_ID"):
                key = self.clients.kms_keys(vault.management_endpoint).get_key(config.vault_key_id).data
            if key.lifecycle_state != "ENABLED":
                item.detail = f"key {key.display_name} ({config.vault_key_id}) is {key.lifecycle_state}"
                item.fix = "enable it (Vault > Master Encryption Keys > Enable): no secret is read or written without"
                raise Stop
            item.detail = f"{key.display_name} ({config.vault_key_id}): ENABLED"

    # -- the load balancer and the Certificates service ----------------------------------------------------------

    def load_balancer(self) -> None:
        lbs, config = self.services.lb, self.config
        with self.checks.item("load balancer") as item:
            self.same_region(item, "load balancer", config.lb_id, "CERTMGR_LB_ID")
            balancer = lbs.get()
            bundles = balancer.certificates or {}
            item.detail = f"{balancer.display_name} ({config.lb_id}): {count(len(bundles), 'certificate bundle')}"
        if item.status == FAILED:
            return
        with self.checks.item("listeners") as item:
            chosen = select_listeners(balancer, config.lb_listeners)
            item.detail = ", ".join(f"{l.name} (port {l.port}, serves {serving(l)})" for l in chosen)
        self.unproven("lb changes", "lb.update_listener", "uploading a certificate bundle and switching listeners "
                      "change the load balancer: the first renewal proves them")
        if self.config.metrics:
            self.unproven("metrics", "monitoring.post_metric_data", "posting to namespace certmgr is a change: "
                          "the first run proves it")

    def certificates_service(self) -> None:
        name = self.config.certificate_name
        with self.checks.item(f"certificate {name}") as item:
            owned, _ = self.services.certificates.listing()
            item.detail = (f"{owned[-1].name} holds serial {owned[-1].serial} as CURRENT" if owned else
                           f"none yet in {self.config.compartment_id}: the first run imports it")
        self.unproven("certificates changes", "certificates_management.create_certificate",
                      f"importing a version into {name} is a change: the first renewal proves it")

    # -- the CA --------------------------------------------------------------------------------------------------

    def ca(self, signed: bool) -> None:
        """The directory, the profile, and (when OCI answers: its key is in Vault) the account."""
        config, headers = self.config, {}
        with self.checks.item("acme directory") as item:
            directory = read_directory(config.acme_directory, ca_bundle=config.acme_ca_bundle,
                                       timeout=self.policy.ca_timeout, headers=headers)
            self.dates["the CA's"] = headers.get("date")
            meta = directory.get("meta") or {}
            ari = "renewal information (ARI)" if "renewalInfo" in directory else "no renewal information"
            item.detail = f"{config.acme_directory}: reachable, {ari}"
            if meta.get("externalAccountRequired") and not config.acme_eab_kid:
                item.detail = f"{config.acme_directory} requires external account binding"
                item.fix = "set CERTMGR_ACME_EAB_KID and CERTMGR_ACME_EAB_HMAC_KEY from your CA"
                raise Stop
        if item.status == FAILED:
            return
        if config.acme_profile:
            with self.checks.item("acme profile") as item:
                offered = ", ".join(profiles(directory)) or "none"
                item.detail = f"{config.acme_profile!r} offered (the CA offers {offered})"
                if config.acme_profile not in profiles(directory):
                    item.detail, item.fix = (f"{config.acme_profile!r} is not offered (the CA offers {offered})",
                                             "set CERTMGR_ACME_PROFILE to one it offers, or leave it empty")
                    raise Stop
        if not signed:
            self.checks.add("acme account", SKIPPED, "not checked: its key is in Vault (see the identity)")
            return
        if self.routed:
            self.caa(tuple(meta.get("caaIdentities") or ()))
        with self.checks.item("acme account") as item:
            self.account(item)

    def caa(self, identities: tuple[str, ...]) -> None:
        from ..ca.caa import check_caa
        config = self.config
        with self.checks.item("caa") as item:
            if not identities:
                item.detail = "the CA publishes no CAA identities (meta.caaIdentities): nothing to check"
                return
            check_caa(config.domains, self.services.dns, config.dns_nameservers, identities, self.policy.dns_timeout)
            item.detail = f"no CAA record at the names or above them forbids {' or '.join(identities)}"

    def account(self, item) -> None:
        from ..ca.client import connect, known_account  # the ACME client only here and in a run that orders
        pem = self.services.vault.read_account_key()
        if pem is None:
            item.detail = "no account key in Vault yet: the first run creates one and registers it"
            return
        key = pki.load_private_key(pem, what="the ACME account key in Vault")
        acme = connect(self.config.acme_directory, key, ca_bundle=self.config.acme_ca_bundle, policy=self.policy)
        found = known_account(acme)
        item.detail = (f"the CA knows the account of the key in Vault: {found}" if found else
                       "the CA has no account for the key in Vault: the first run registers one (none was created)")


def serving(listener) -> str:
    """What a listener serves: its LB bundle's name, or the Certificates-service certificate's OCID."""
    ssl = listener.ssl_configuration
    return ssl.certificate_name or (ssl.certificate_ids or ["nothing"])[0]
