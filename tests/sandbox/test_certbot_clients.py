"""Clients this project did not write, issuing through the sandbox: certbot with the PyPI plugins
certbot-dns-oraclecloud (apex + wildcard: one ADD and one REMOVE per value, scope=GLOBAL) and certbot-dns-oci
(one name: it replaces the whole `_acme-challenge` RRSet, so two values at one name cannot coexist, on OCI
too). Each completes a DNS-01 issuance against the sandbox's Pebble, answered by the sandbox's DNS server.

Neither plugin takes an endpoint: the test wraps the `oci.dns.DnsClient` each one builds so that it talks to
the sandbox (a shim around the client, not a change to the sandbox). certbot runs in this process."""
import functools
import logging
import sys
import time

import oci
import pytest
from acme import client as acme_client
from certbot._internal import auth_handler, main as certbot_main
from cryptography import x509

from _fixtures import fresh_zone, service_backend
from sandbox.oci import dns

zones = service_backend(dns, scope="module")


zone = fresh_zone("zones", "cb")


@pytest.fixture
def shim(sandbox, monkeypatch):
    """Point a plugin module's `oci.dns.DnsClient` at the sandbox: `shim(module, attribute)`."""
    def wrap(module, attribute: str) -> None:
        monkeypatch.setattr(module, attribute, functools.partial(oci.dns.DnsClient, service_endpoint=sandbox.endpoint))
    return wrap


@pytest.fixture(autouse=True)
def certbot_leaves_this_process_as_it_was(monkeypatch):
    """certbot sets up the root logger (DEBUG, its own handlers) and sys.excepthook for a process of its own:
    put them back. Its waits for the CA, a fixed second before the first look at the authorizations and at the
    order, are cut to 50 ms: Pebble validates and issues at once here."""
    handlers, level = list(logging.root.handlers), logging.root.level
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    clock = type("Clock", (), {"sleep": staticmethod(lambda seconds: time.sleep(min(seconds, 0.05)))})
    for module in (auth_handler, acme_client):
        monkeypatch.setattr(module, "time", clock)
    yield
    for handler in set(logging.root.handlers) - set(handlers):
        logging.root.removeHandler(handler)
        handler.close()
    logging.root.setLevel(level)


def certbot(sandbox, tmp_path, monkeypatch, plugin: str, *names: str) -> list[str]:
    """`certbot certonly --quiet` with `plugin` for `names`; the DNS names of the certificate it saved."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.env["CERTMGR_ACME_CA_BUNDLE"])   # Pebble's HTTPS
    dirs = [f"--{kind}-dir={tmp_path / kind}" for kind in ("config", "work", "logs")]
    domains = [arg for name in names for arg in ("-d", name)]
    certbot_main.main(["certonly", "--quiet", "--non-interactive", "--agree-tos", "--register-unsafely-without-email",
                       "--server", sandbox.env["CERTMGR_ACME_DIRECTORY"], *dirs, "--max-log-backups=0",
                       "-a", plugin, f"--{plugin}-credentials={sandbox.env['OCI_CONFIG_FILE']}",
                       f"--{plugin}-propagation-seconds=0", "--cert-name=conformance", *domains])
    pem = (tmp_path / "config" / "live" / "conformance" / "cert.pem").read_bytes()
    san = x509.load_pem_x509_certificate(pem).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return sorted(san.value.get_values_for_type(x509.DNSName))


def leftover_txt(zones, zone: str) -> list[str]:
    return [r.rdata for r in zones.zone(zone).records if r.rtype == "TXT"]


def test_certbot_dns_oraclecloud_issues_apex_and_wildcard(sandbox, zones, zone, shim, tmp_path, monkeypatch):
    from certbot_dns_oraclecloud._internal import protocols
    shim(protocols, "_dns_client_factory")
    assert certbot(sandbox, tmp_path, monkeypatch, "dns-oraclecloud", zone, f"*.{zone}") == sorted([zone, f"*.{zone}"])
    assert leftover_txt(zones, zone) == []
    patches = [c for c in sandbox.world.calls if c["operation"] == "dns.patch_zone_records" and zone in c["path"]]
    assert [c["status"] for c in patches] == [200] * 4   # an ADD and a REMOVE for each of the two values


def test_certbot_dns_oci_issues_one_name(sandbox, zones, zone, shim, tmp_path, monkeypatch):
    from certbot_dns_oci._internal import dns_oci
    shim(dns_oci, "DnsClient")
    assert certbot(sandbox, tmp_path, monkeypatch, "dns-oci", zone) == [zone]
    assert leftover_txt(zones, zone) == []
    used = {c["operation"] for c in sandbox.world.calls if zone in c["path"]}
    assert {"dns.get_zone", "dns.update_rr_set", "dns.get_rr_set", "dns.delete_rr_set"} <= used
