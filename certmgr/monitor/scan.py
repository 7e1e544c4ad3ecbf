"""Scan: every certificate in the Certificates service (all subscribed regions), on the listed load
balancers, and certmgr's own in Vault, on a bounded thread pool; a read that fails is an UNKNOWN item.

Certificates-service expiries come from list summaries (Resource Search finds the compartments, one
ListCertificates per compartment gives each CURRENT version's validity); only a certificate inside the
warning window has its bundle read, for what the digest shows of it (names, issuer)."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

import oci.resource_search

from .. import pki
from ..cloud.certificates import generation
from ..cloud.clients import Clients, all_items
from ..settings.config import Config
from ..errors import CertmgrError, LoadBalancerError, VaultError
from ..cloud.load_balancer import LoadBalancer
from ..cloud.vault import VaultStore
from .model import API_ERRORS, Item, MonitorResult, classify, region_of, why

log = logging.getLogger("certmgr.monitor")
SEARCH_QUERY = "query certificate resources where lifecycleState = 'ACTIVE'"
SEARCH_PAGE = 1000


def _widen_pool(client, size: int) -> None:
    """Let `size` threads share one client: urllib3 keeps 10 connections per host by default and drops the
    rest. Same adapter class, larger pool (as the SDK's own UploadManager does)."""
    session = client.base_client.session
    for prefix in ("http://", "https://"):
        current = session.adapters.get(prefix)
        if current is not None and getattr(current, "_pool_maxsize", 0) < size:
            session.mount(prefix, type(current)(pool_connections=10, pool_maxsize=size,
                                                max_retries=current.max_retries))


class Scan:
    """Reads every certificate; each read that fails yields an UNKNOWN item instead of an exception."""

    def __init__(self, config: Config, clients: Clients, now: dt.datetime,
                 warnings: list[str]):
        self.config, self.settings, self.clients, self.now = config, config.monitor, clients, now
        self.warnings = warnings

    def item(self, base: dict, cert_info: pki.CertInfo | None, not_after: dt.datetime | None = None) -> Item:
        not_after = not_after or cert_info.not_after
        severity, days = classify(not_after, self.now, self.settings.warning_days, self.settings.critical_days)
        extra = dict(issuer=cert_info.issuer, serial=cert_info.serial, names=cert_info.names) if cert_info else {}
        return Item(severity, not_after=not_after, days_left=days, **extra, **base)

    @staticmethod
    def parse(pem: str | bytes, what: str) -> pki.CertInfo:
        return pki.info(pki.load_ca_bundle(pem, what=what)[0])

    def regions(self, unknown: list[Item]) -> list[str]:
        try:
            found = self.clients.identity().list_region_subscriptions(self.clients.tenancy_id).data
        except API_ERRORS as exc:
            unknown.append(Item("UNKNOWN", "subscribed regions", self.clients.region, "certificates", None,
                                reason=f"listing the region subscriptions failed ({why(exc)}); only "
                                       f"{self.clients.region} was scanned"))
            return [self.clients.region]
        return sorted(r.region_name for r in found if r.status == "READY")

    def search(self, region: str) -> list:
        details = oci.resource_search.models.StructuredSearchDetails(type="Structured", query=SEARCH_QUERY,
                                                                     matching_context_type="NONE")
        return all_items(self.clients.search(region).search_resources, details, limit=SEARCH_PAGE)

    def compartment(self, region: str, compartment_id: str, found: dict) -> tuple[list[Item], list]:
        """The certificates `found` (by OCID) in one compartment, from one listing of their summaries: items
        for those outside the warning window, and the search results of those inside it, whose bundles the
        digest needs (names, issuer)."""
        try:
            summaries = all_items(self.clients.certificates_management(region).list_certificates,
                                  compartment_id=compartment_id, lifecycle_state="ACTIVE", limit=SEARCH_PAGE)
        except API_ERRORS as exc:
            return [Item("UNKNOWN", f"certificates in {compartment_id}", region, "certificates", None,
                         compartment_id, reason=f"listing the compartment's certificates failed: {why(exc)}")], []
        items, to_read = [], []
        for summary in summaries:
            if summary.id not in found:
                continue  # created since the search: the next scan sees it
            current = summary.current_version_summary
            not_after = current and current.validity and current.validity.time_of_validity_not_after
            if not_after is None or classify(not_after, self.now, self.settings.warning_days,
                                             self.settings.critical_days)[0] != "OK":
                to_read.append(found[summary.id])
                continue
            item = self.item(dict(name=summary.name, region=region, source="certificates", id=summary.id,
                                  compartment_id=compartment_id), None, not_after)
            item.serial = (current.serial_number or "").replace(" ", "").replace(":", "").lower() or None
            items.append(item)
        return items, to_read

    def certificate(self, region: str, found) -> Item:
        base = dict(name=found.display_name, region=region, source="certificates", id=found.identifier,
                    compartment_id=found.compartment_id)
        try:
            bundle = self.clients.certificates(region).get_certificate_bundle(
                found.identifier).data
        except API_ERRORS as exc:
            return Item("UNKNOWN", reason=f"reading its certificate bundle failed: {why(exc)}", **base)
        base["name"] = bundle.certificate_name or found.display_name
        try:
            info = self.parse(bundle.certificate_pem, f"certificate {found.identifier}")
        except CertmgrError:  # the service's own validity still tells the expiry
            info = None
        item = self.item(base, info, bundle.validity.time_of_validity_not_after)
        item.serial = item.serial or (bundle.serial_number or "").replace(" ", "").replace(":", "").lower() or None
        return item

    def load_balancer(self, lb_id: str) -> list[Item]:
        region = region_of(lb_id, self.clients.region)
        adapter = LoadBalancer(self.clients.load_balancer(region), lb_id)
        try:
            lb = adapter.get()
            bundles = (lb.certificates or {}).values()  # GetLoadBalancer carries them, as in the renewer
        except (LoadBalancerError, *API_ERRORS) as exc:
            return [Item("UNKNOWN", f"load balancer {lb_id}", region, "load-balancer", lb_id,
                         reason=f"reading its certificates failed: {why(exc)}")]
        users: dict[str, list[str]] = {}
        for listener in (lb.listeners or {}).values():
            if listener.ssl_configuration and listener.ssl_configuration.certificate_name:
                users.setdefault(listener.ssl_configuration.certificate_name, []).append(listener.name)
        items = []
        for bundle in bundles:
            base = dict(name=f"{lb.display_name}/{bundle.certificate_name}", region=region, source="load-balancer",
                        id=lb_id, compartment_id=lb.compartment_id)
            listeners = sorted(users.get(bundle.certificate_name, []))
            base["detail"] = (f"served by listener{'s' if len(listeners) > 1 else ''} {', '.join(listeners)}"
                              if listeners else "on the load balancer, used by no listener")
            pem = bundle.public_certificate or bundle.ca_certificate
            try:
                items.append(self.item(base, self.parse(pem, f"LB certificate {bundle.certificate_name}")))
            except (CertmgrError, TypeError) as exc:
                items.append(Item("UNKNOWN", reason=f"its PEM cannot be read: {why(exc)}", **base))
        return items

    def vault_certificate(self) -> list[Item]:
        name, vault_id = self.config.secret_names["certificate"], self.config.vault_id
        region = region_of(vault_id, self.clients.region)
        base = dict(name=name, region=region, source="vault", id=None, compartment_id=self.config.compartment_id,
                    detail=f"certmgr's certificate in vault {vault_id}")
        store = VaultStore(self.clients.vaults(region), self.clients.secrets(region), vault_id=vault_id,
                           key_id=self.config.vault_key_id, compartment_id=self.config.compartment_id)
        try:
            found = store.read_by_name(name)
        except (VaultError, *API_ERRORS) as exc:
            return [Item("UNKNOWN", reason=f"reading the secret failed: {why(exc)}", **base)]
        if found is None:
            self.warnings.append(f"vault: no secret {name!r} in vault {vault_id}: certmgr has stored no "
                                 f"certificate there yet (or CERTMGR_NAME_PREFIX differs)")
            return []
        pem, base["id"] = found
        try:
            return [self.item(base, self.parse(pem, f"secret {name}"))]
        except (CertmgrError, ValueError) as exc:
            return [Item("UNKNOWN", reason=f"its content is not a certificate: {why(exc)}", **base)]

    def compartment_names(self) -> dict[str, str]:
        identity, tenancy = self.clients.identity(), self.clients.tenancy_id
        try:
            names = {tenancy: identity.get_tenancy(tenancy).data.name}
            for c in all_items(identity.list_compartments, tenancy, compartment_id_in_subtree=True, access_level="ANY"):
                names[c.id] = c.name
        except API_ERRORS as exc:
            self.warnings.append(f"identity: compartment names unavailable ({why(exc)}); OCIDs are shown")
            return {}
        return names

    def run(self, result: MonitorResult) -> list[Item]:
        items: list[Item] = []
        size = self.settings.concurrency
        with ThreadPoolExecutor(size, thread_name_prefix="certmgr-monitor") as pool:
            names = pool.submit(self.compartment_names)
            regions = result.regions = self.regions(items)
            for region in regions:  # made here, once, before the threads share them
                _widen_pool(self.clients.certificates(region), size)
                self.clients.certificates_management(region)
                self.clients.search(region)
            home = self.clients.region
            tasks = [pool.submit(guard(Item("UNKNOWN", f"load balancer {lb_id}", region_of(lb_id, home),
                                             "load-balancer", lb_id), self.load_balancer, lb_id))
                     for lb_id in self.settings.lb_ids]
            if self.config.vault_id:
                tasks.append(pool.submit(guard(Item("UNKNOWN", self.config.secret_names["certificate"],
                                                     region_of(self.config.vault_id, home), "vault", None),
                                                self.vault_certificate)))
            searches = {pool.submit(self.search, region): region for region in regions}
            listings = {}
            for done in as_completed(searches):
                region = searches[done]
                try:
                    found = done.result()
                except API_ERRORS as exc:
                    items.append(Item("UNKNOWN", f"certificates in {region}", region, "certificates", None,
                                      reason=f"searching the region failed: {why(exc)}"))
                    continue
                log.info("%s: %d active certificates", region, len(found))
                by_compartment: dict[str, dict] = {}
                for s in found:
                    by_compartment.setdefault(s.compartment_id, {})[s.identifier] = s
                listings.update({pool.submit(self.compartment, region, compartment, these): region
                                 for compartment, these in by_compartment.items()})
            for done in as_completed(listings):
                try:
                    listed, to_read = done.result()
                except Exception as exc:  # noqa: BLE001 - one compartment never stops the scan of the others
                    log.exception("monitor: listing certificates in %s failed", listings[done])
                    items.append(Item("UNKNOWN", f"certificates in {listings[done]}", listings[done], "certificates",
                                      None, reason=f"listing certificates failed: {why(exc)}"))
                    continue
                items += listed
                tasks += [pool.submit(guard(Item("UNKNOWN", s.display_name, listings[done], "certificates",
                                                 s.identifier, s.compartment_id), self.certificate, listings[done], s))
                          for s in to_read]
            for task in tasks:
                items.extend(task.result())
            compartments = names.result()
        for item in items:
            item.compartment = compartments.get(item.compartment_id)
        return self.once(items)

    def once(self, items: list[Item]) -> list[Item]:
        """certmgr's certificate once: with the Certificates-service target, its Vault copy is the same
        certificate as the one the service holds (same serial), so only the service's is listed."""
        name = self.config.certificate_name
        stored = [i for i in items if i.source == "vault" and i.serial]
        if not name or not stored:
            return items
        twins = [i for i in items if i.source == "certificates" and generation(name, i.name)
                 and pki.same_serial(i.serial, stored[0].serial)]
        for twin in twins:
            twin.detail = f"certmgr's certificate, kept in vault {self.config.vault_id} as {stored[0].name}"
        return [i for i in items if not (twins and i is stored[0])]


def guard(unknown: Item, read: Callable, *args) -> Callable[[], list[Item]]:
    """`read(*args)` as a list of items. An unexpected error (the readers catch API errors themselves) yields
    `unknown` with the reason: one certificate never stops the scan of the others."""
    def task() -> list[Item]:
        try:
            found = read(*args)
        except Exception as exc:  # noqa: BLE001
            log.exception("monitor: reading %s failed", unknown.name)
            unknown.reason = why(exc)
            return [unknown]
        return found if isinstance(found, list) else [found]
    return task
