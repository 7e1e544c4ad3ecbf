"""Scan: every certificate in the tenancy's subscribed regions, on a bounded thread pool; a read that fails is
an UNKNOWN item.

- One Resource Search per region finds the compartments holding Certificates-service certificates and load
  balancers (a query names one or more resource types: OCI's "Search Language Syntax"; its results are
  eventually consistent, "Querying Resources": what was created minutes ago is seen by the next scan).
- The Certificates service: one ListCertificates per such compartment gives each CURRENT version's validity,
  names and serial (no bundle is read, so the issuer is not shown for them).
- Load balancers: ListLoadBalancers per such compartment, or every compartment of a region whose search failed
  (each LoadBalancer carries its bundles, listeners and backend sets); CERTMGR_MONITOR_LB_IDS no listing found.
- API Gateway certificates: ListCertificates in every compartment (the summaries carry names and expiry).
- certmgr's own certificate in Vault, and what CERTMGR_MONITOR_ENDPOINTS serve (sources.py).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

import oci.resource_search

from .. import pki
from ..cloud.certificates import DEPLOYMENT_TAG, generation
from ..cloud.clients import Clients, all_items
from ..cloud.load_balancer import LoadBalancer
from ..cloud.vault import VaultStore
from ..errors import CertmgrError, LoadBalancerError
from ..settings.config import Config
from . import sources
from .model import API_ERRORS, Item, MonitorResult, classify, merged, region_of, why

log = logging.getLogger("certmgr.monitor")
SEARCH_QUERY = "query certificate, loadbalancer resources where lifecycleState = 'ACTIVE'"
SEARCH_PAGE = 1000
ENDPOINT_TIMEOUT = 10.0  # seconds for one TLS handshake


def _widen_pool(client, size: int) -> None:
    """Let `size` threads share one client: urllib3 keeps 10 connections per host by default and drops the
    rest. Same adapter class, larger pool (as the SDK's own UploadManager does)."""
    session = client.base_client.session
    for prefix in ("http://", "https://"):
        current = session.adapters.get(prefix)
        if current is not None and getattr(current, "_pool_maxsize", 0) < size:
            session.mount(prefix, type(current)(pool_connections=10, pool_maxsize=size,
                                                max_retries=current.max_retries))


def _serial(text: str | None) -> str | None:
    return (text or "").replace(" ", "").replace(":", "").lower() or None


class Scan:
    """Reads every certificate; each read that fails yields an UNKNOWN item instead of an exception."""

    def __init__(self, config: Config, clients: Clients, now: dt.datetime, warnings: list[str]):
        self.config, self.settings, self.clients, self.now = config, config.monitor, clients, now
        self.warnings = warnings
        self.lb_ids: set[str] = set()                  # load balancers a listing read
        self.service_users: dict[str, list[str]] = {}  # Certificates-service OCID -> the listeners using it

    def item(self, base: dict, cert_info: pki.CertInfo | None, not_after: dt.datetime | None = None) -> Item:
        not_after = not_after or cert_info.not_after
        severity, days = classify(not_after, self.now, self.settings.warning_days, self.settings.critical_days)
        extra = dict(issuer=cert_info.issuer, serial=cert_info.serial, names=cert_info.names) if cert_info else {}
        return Item(severity, not_after=not_after, days_left=days, checked_at=self.now, **{**base, **extra})

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
        """The certificates `found` (by OCID) in one compartment, from one listing of their summaries, which carry
        what the digest shows (the CURRENT version's validity, names and serial; the deployment's tag); and the
        search results of any whose summary lacks a validity, whose bundles are read instead."""
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
            if not_after is None:
                to_read.append(found[summary.id])
                continue
            names = tuple(san.value for san in current.subject_alternative_names or () if san.value)
            item = self.item(dict(name=summary.name, region=region, source="certificates", id=summary.id,
                                  compartment_id=compartment_id, names=names, serial=_serial(current.serial_number),
                                  deployment=(summary.freeform_tags or {}).get(DEPLOYMENT_TAG)), None, not_after)
            items.append(item)
        return items, to_read

    def certificate(self, region: str, found) -> Item:
        base = dict(name=found.display_name, region=region, source="certificates", id=found.identifier,
                    compartment_id=found.compartment_id,
                    deployment=(found.freeform_tags or {}).get(DEPLOYMENT_TAG))
        try:
            bundle = self.clients.certificates(region).get_certificate_bundle(found.identifier).data
        except API_ERRORS as exc:
            return Item("UNKNOWN", reason=f"reading its certificate bundle failed: {why(exc)}", **base)
        base["name"] = bundle.certificate_name or found.display_name
        try:
            info = sources.parse(bundle.certificate_pem, f"certificate {found.identifier}")
        except CertmgrError:  # the service's own validity still tells the expiry
            info = None
        item = self.item(base, info, bundle.validity.time_of_validity_not_after)
        item.serial = item.serial or _serial(bundle.serial_number)
        return item

    def load_balancers(self, region: str, compartment_id: str) -> list[Item]:
        """Every load balancer of one compartment, each with its certificates, from one listing."""
        try:
            found = all_items(self.clients.load_balancer(region).list_load_balancers, compartment_id,
                              lifecycle_state="ACTIVE", detail="full")
        except API_ERRORS as exc:
            return [Item("UNKNOWN", "load balancers", region, "load-balancer", None, compartment_id,
                         reason=f"listing them failed: {why(exc)}")]
        items = []
        for lb in found:
            self.lb_ids.add(lb.id)
            for certificate_id, users in sources.service_users(lb).items():
                self.service_users.setdefault(certificate_id, []).extend(users)
            items += sources.load_balancer(lb, region, self.item)
        return items

    def load_balancer(self, lb_id: str) -> list[Item]:
        """A load balancer of CERTMGR_MONITOR_LB_IDS that no listing found."""
        region = region_of(lb_id, self.clients.region)
        try:
            lb = LoadBalancer(self.clients.load_balancer(region), lb_id).get()
        except (LoadBalancerError, *API_ERRORS) as exc:
            return [Item("UNKNOWN", f"load balancer {lb_id}", region, "load-balancer", lb_id,
                         reason=f"reading its certificates failed: {why(exc)}")]
        return sources.load_balancer(lb, region, self.item)

    def api_gateways(self, region: str, compartment_id: str) -> list[Item]:
        try:
            found = all_items(self.clients.apigateway(region).list_certificates, compartment_id,
                              lifecycle_state="ACTIVE")
        except API_ERRORS as exc:
            return [Item("UNKNOWN", "API Gateway certificates", region, "api-gateway", None, compartment_id,
                         reason=f"listing them failed: {why(exc)}")]
        return [sources.api_gateway(summary, region, self.item) for summary in found]

    def vault_certificate(self) -> list[Item]:
        region = region_of(self.config.vault_id, self.clients.region)
        store = VaultStore(self.clients.vaults(region), self.clients.secrets(region), vault_id=self.config.vault_id,
                           key_id=self.config.vault_key_id, compartment_id=self.config.compartment_id)
        return sources.vault_certificate(self.config, store, region, self.item, self.warnings)

    def compartments(self) -> dict[str, str]:
        """Every ACTIVE compartment of the tenancy by OCID, with its name; the root's name is read (`root_name`)
        only when something lives there."""
        identity, tenancy = self.clients.identity(), self.clients.tenancy_id
        names = {tenancy: None}
        try:
            names.update((c.id, c.name) for c in all_items(identity.list_compartments, tenancy, access_level="ANY",
                                                           compartment_id_in_subtree=True, lifecycle_state="ACTIVE"))
        except API_ERRORS as exc:
            self.warnings.append(f"identity: the compartments cannot be listed ({why(exc)}): load balancers and "
                                 f"API Gateway certificates were looked for in the tenancy's root compartment "
                                 f"only, and OCIDs are shown")
        return names

    def root_name(self) -> str | None:
        try:
            return self.clients.identity().get_tenancy(self.clients.tenancy_id).data.name
        except API_ERRORS:
            return None  # the OCID is shown

    def run(self, result: MonitorResult) -> list[Item]:
        items: list[Item] = []
        size, home = self.settings.concurrency, self.clients.region
        with ThreadPoolExecutor(size, thread_name_prefix="certmgr-monitor") as pool:
            listed = pool.submit(self.compartments)
            regions = result.regions = self.regions(items)
            for region in regions:  # made here, once, before the threads share them
                for client in (self.clients.certificates(region), self.clients.load_balancer(region),
                               self.clients.apigateway(region)):
                    _widen_pool(client, size)
                self.clients.certificates_management(region)
                self.clients.search(region)
            tasks = [pool.submit(guard(Item("UNKNOWN", f"{host}:{port}", "-", "endpoint", f"{host}:{port}"),
                                       sources.endpoint, host, port, ENDPOINT_TIMEOUT, self.item))
                     for host, port in self.settings.endpoints]
            if self.config.vault_id:
                tasks.append(pool.submit(guard(Item("UNKNOWN", self.config.secret_names["certificate"],
                                                     region_of(self.config.vault_id, home), "vault", None),
                                                self.vault_certificate)))
            compartments = listed.result()
            listings = [self.listing(pool, "API Gateway certificates", region, compartment)
                        for region in regions for compartment in compartments]
            items += self.searched(pool, regions, list(compartments))
            for listing in listings:
                items += listing.result()
            tasks += [pool.submit(guard(Item("UNKNOWN", f"load balancer {lb_id}", region_of(lb_id, home),
                                             "load-balancer", lb_id), self.load_balancer, lb_id))
                      for lb_id in self.settings.lb_ids if lb_id not in self.lb_ids]
            for task in tasks:
                items.extend(task.result())
        if any(i.compartment_id == self.clients.tenancy_id for i in items):
            compartments[self.clients.tenancy_id] = self.root_name()
        for item in items:
            item.compartment = compartments.get(item.compartment_id)
            if item.source == "certificates" and item.id in self.service_users:
                item.detail = "; ".join(filter(None, [item.detail, *sorted(self.service_users[item.id])]))
        unlisted = {id(i): i for i in items if i.severity == "UNKNOWN" and i.id is None
                    and i.source in ("load-balancer", "api-gateway")}
        return self.once([i for i in items if id(i) not in unlisted] + merged(list(unlisted.values())))

    def listing(self, pool: ThreadPoolExecutor, what: str, region: str, compartment: str):
        read, source = (self.load_balancers, "load-balancer") if what == "load balancers" else \
            (self.api_gateways, "api-gateway")
        return pool.submit(guard(Item("UNKNOWN", what, region, source, None, compartment), read, region, compartment))

    def searched(self, pool: ThreadPoolExecutor, regions: list[str], compartments: list[str]) -> list[Item]:
        """What the searches of `regions` find: the Certificates service's certificates (one listing per
        compartment, then the bundles of any whose summary lacks a validity) and the load balancers (one listing
        per compartment; in every compartment where a search failed)."""
        items, reads, lb_listings = [], [], []
        searches = {pool.submit(self.search, region): region for region in regions}
        listings = {}
        for done in as_completed(searches):
            region = searches[done]
            try:
                found = done.result()
            except API_ERRORS as exc:
                items.append(Item("UNKNOWN", f"certificates in {region}", region, "certificates", None,
                                  reason=f"searching the region failed: {why(exc)}"))
                lb_listings += [self.listing(pool, "load balancers", region, c) for c in compartments]
                continue
            by_compartment: dict[str, dict] = {}
            for s in found:
                if s.resource_type == "Certificate":
                    by_compartment.setdefault(s.compartment_id, {})[s.identifier] = s
            log.info("%s: %d active certificates", region, sum(map(len, by_compartment.values())))
            listings.update({pool.submit(self.compartment, region, compartment, these): region
                             for compartment, these in by_compartment.items()})
            lb_listings += [self.listing(pool, "load balancers", region, c)
                            for c in sorted({s.compartment_id for s in found if s.resource_type == "LoadBalancer"})]
        for done in as_completed(listings):
            region = listings[done]
            try:
                listed, to_read = done.result()
            except Exception as exc:  # noqa: BLE001 - one compartment never stops the scan of the others
                log.exception("monitor: listing certificates in %s failed", region)
                items.append(Item("UNKNOWN", f"certificates in {region}", region, "certificates", None,
                                  reason=f"listing certificates failed: {why(exc)}"))
                continue
            items += listed
            reads += [pool.submit(guard(Item("UNKNOWN", s.display_name, region, "certificates", s.identifier,
                                             s.compartment_id), self.certificate, region, s)) for s in to_read]
        for read in reads + lb_listings:
            items += read.result()
        return items

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
