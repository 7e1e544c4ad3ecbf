"""The monitor's alerts as a person meets them, on a sandbox of its own: the digest e-mailed through the
Email Delivery API (read back from the mail sink), its HTML part rendered by a headless browser, what every
certificate needs said in one line, load balancers and API Gateway certificates found without being listed,
and the figures posted to OCI Monitoring read back through the SDK's SummarizeMetricsData."""
import base64
import datetime as dt
import itertools
import shutil
import socket
import subprocess
import unicodedata
from urllib.parse import parse_qs

import oci
import pytest
import pypdf
import trustme

from certmgr import monitor
from certmgr.app import config_for
from sandbox.oci import apigateway, email, loadbalancer, vault
from sandbox.oci.faults import Fault
from sandbox.stack import Sandbox

CA = trustme.CA(organization_name="Alerts Test CA")
NOW = dt.datetime.now(dt.timezone.utc)
SENDER, FLEET = "alerts@example.com", "fleet-api"
BUNDLE = f"{FLEET}-0a1b2c3d4e5f6071-20260101"  # certmgr's name form for an LB bundle of deployment fleet-api
_prefixes = itertools.count()


def issue(name: str, left: dt.timedelta) -> tuple[str, str]:
    """(certificate, key) PEMs of a leaf for name and *.name, expiring `left` from now."""
    leaf = CA.issue_cert(name, f"*.{name}", not_before=NOW - dt.timedelta(days=60), not_after=NOW + left)
    return leaf.cert_chain_pems[0].bytes().decode(), leaf.private_key_pem.bytes().decode()


def bundle(name: str, left: dt.timedelta) -> dict:
    cert, key = issue(name, left)
    return {"publicCertificate": cert, "privateKey": key}


def https(certificate: str, port: int) -> dict:
    return {"defaultBackendSetName": "app", "port": port, "protocol": "HTTP",
            "sslConfiguration": {"certificateName": certificate, "verifyPeerCertificate": False}}


@pytest.fixture(scope="module")
def box():
    with Sandbox(pebble=False) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def seeded(box):
    apps, edge = box.world.add_compartment("alerts-apps"), box.world.add_compartment("alerts-edge")
    lb_id = box.backend(loadbalancer, "eu-frankfurt-1").add_load_balancer(
        edge, "alerts-lb", certificates={"web": bundle("web.example.com", dt.timedelta(days=20, hours=5)),
                                         "spare": bundle("spare.example.com", dt.timedelta(days=3)),
                                         BUNDLE: bundle("api.example.com", dt.timedelta(days=3, hours=23))},
        listeners={"https": https("web", 443), "api": https(BUNDLE, 8443)})
    cert, _ = issue("gw.example.com", dt.timedelta(days=10))
    gateway_id = box.backend(apigateway, "ap-seoul-1").add_certificate(apps, "gw-cert", cert, CA.cert_pem.bytes().decode())
    failing_since = (NOW - dt.timedelta(days=26)).timestamp()
    box.backend(vault).create_secret({  # what a failing renewer of deployment fleet-api leaves in its lock secret
        "compartmentId": box.ids["compartment"], "vaultId": box.ids["vault"], "keyId": box.ids["key"],
        "secretName": f"{FLEET}-lock", "secretContent": {"contentType": "BASE64",
                                                          "content": base64.b64encode(b"lock").decode()},
        "metadata": {"acme_failures": "3", "acme_failing_since": str(failing_since),
                     "acme_error": "acme: the CA refused the order: CAA record forbids letsencrypt.org"}})
    box.backend(email).add_approved_sender(box.ids["compartment"], SENDER)
    return {"lb": lb_id, "gateway": gateway_id}


@pytest.fixture
def env(box, seeded):
    """A monitor with every channel but SMTP: e-mail through the API, no CERTMGR_MONITOR_LB_IDS, metrics on; a
    prefix of its own, so its alert memory starts empty."""
    keep = ("CERTMGR_OCI_ENDPOINT", "CERTMGR_VAULT_ID", "CERTMGR_VAULT_KEY_ID", "CERTMGR_COMPARTMENT_ID",
            "OCI_CONFIG_FILE")
    env = {k: v for k, v in box.env.items() if k in keep}
    env.update(CERTMGR_MODE="monitor", CERTMGR_NAME_PREFIX=f"alerts{next(_prefixes)}", CERTMGR_METRICS="true",
               CERTMGR_MONITOR_EMAIL_FROM=SENDER, CERTMGR_MONITOR_EMAIL_TO="platform@example.com")
    box.smtp.clear()
    yield env
    box.world.faults.clear()


def run(env):
    return monitor.run(config_for(env, "monitor"))


def parts(message) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()}


def test_the_digest_says_where_each_certificate_lives_and_what_to_do(box, env, seeded):
    result = run(env)
    assert result.status == "ok" and result.channels == ["email"], result.render()
    by_name = {i.name: i for i in result.items}
    assert by_name["alerts-lb/spare"].severity == "INFO"  # used by no listener: never pages
    assert by_name[f"alerts-lb/{BUNDLE}"].deployment == FLEET
    assert by_name["gw-cert"].source == "api-gateway" and by_name["gw-cert"].region == "ap-seoul-1"

    (mail,) = box.smtp.messages
    assert mail.mail_from == SENDER and mail.rcpt_tos == ["platform@example.com"]
    assert mail.message["Subject"] == "certmgr: 1 new CRITICAL, 3 new WARNING; 1 CRITICAL, 3 WARNING"
    text = parts(mail.message)["text/plain"]
    assert text.startswith("Since the last digest: 1 new CRITICAL, 3 new WARNING.")
    assert f"CRITICAL  api.example.com, *.api.example.com (alerts-lb/{BUNDLE})\n          expires " in text
    assert "(in 3 days 22 h)" in text or "(in 3 days 23 h)" in text  # seeded a moment ago: 3 days 23 h left
    assert "load balancer alerts-lb, listener api; region eu-frankfurt-1; compartment alerts-edge" in text
    assert (f"do: certmgr deployment {FLEET} renews it, and its renewer is failing since "
            f"{NOW - dt.timedelta(days=26):%Y-%m-%d %H:%M} UTC (3 failed orders in a row): acme: the CA refused the "
            "order: CAA record forbids letsencrypt.org") in text
    assert "gw.example.com, *.gw.example.com (gw-cert)" in text and "compartment alerts-apps" in text
    assert "do: renew it with its issuer and update this API Gateway certificate" in text
    assert "INFO      spare.example.com" in text and "used by no listener or backend set" in text
    assert "ocid1.compartment" not in text
    assert text.index("api.example.com") < text.index("gw.example.com") < text.index("spare.example.com")


@pytest.mark.skipif(not shutil.which("chromium"), reason="no headless browser installed (CI installs chromium)")
def test_a_browser_shows_the_html_digest_with_every_name(box, env, tmp_path):
    run(env)
    (mail,) = box.smtp.messages
    page = tmp_path / "digest.html"
    page.write_text(parts(mail.message)["text/html"])
    pdf = tmp_path / "digest.pdf"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()], check=True, capture_output=True, timeout=60)
    laid_out = unicodedata.normalize("NFKC", "".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages))
    shown = " ".join(laid_out.split()).replace("- ", "-")  # words as read, whatever the line breaks
    for name in ("api.example.com", "gw.example.com", "web.example.com", "spare.example.com"):
        assert name in shown, shown
    assert "alerts-edge" in shown and "failing since" in shown


def test_a_sender_email_delivery_does_not_know_fails_email_only(box, env):
    result = run(dict(env, CERTMGR_MONITOR_EMAIL_FROM="stranger@example.com"))
    assert result.status == "failed" and box.smtp.messages == []
    (failure,) = result.failures
    assert "stranger@example.com" in failure and "approved sender" in failure


def test_the_monitor_posts_days_to_expiry_per_certificate(box, env):
    result = run(env)
    assert not [w for w in result.warnings if w.startswith("metrics")], result.warnings
    client = box.client(oci.monitoring.MonitoringClient)
    details = oci.monitoring.models.SummarizeMetricsDataDetails(
        namespace="certmgr", query='days_to_expiry[1m]{source = "api-gateway"}.min()',
        start_time=NOW - dt.timedelta(minutes=5), end_time=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1))
    (stream,) = client.summarize_metrics_data(box.ids["compartment"], details).data
    assert stream.dimensions["name"] == "gw-cert" and stream.dimensions["region"] == "ap-seoul-1"
    assert 9.9 < stream.aggregated_datapoints[-1].value <= 10.0


def test_what_an_endpoint_serves_is_checked_by_a_handshake(box, env):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    served = box.env["SANDBOX_LB_HTTPS"]
    result = run(dict(env, CERTMGR_MONITOR_ENDPOINTS=f"{served},{closed}"))
    by_name = {i.name: i for i in result.items if i.source == "endpoint"}
    assert by_name[served].names == ("example.com",) and by_name[served].severity == "WARNING"  # the bootstrap one
    assert by_name[served].detail == f"served at {served}"
    assert by_name[closed].severity == "UNKNOWN" and by_name[closed].reason.startswith("no TLS handshake")


def test_a_listing_refused_everywhere_is_one_entry_not_one_per_compartment(box, env):
    """A grant the function lacks (here: every ListCertificates of API Gateway refused) fails each compartment of
    each region alike: one could-not-check entry says so, and the rest of the scan goes on."""
    box.world.faults.add(Fault(operation="apigateway.list_certificates", status=404))
    result = run(env)
    (refused,) = [i for i in result.items if i.source == "api-gateway"]
    compartments = len(box.world.compartments)  # the tenancy's root among them
    assert refused.severity == "UNKNOWN" and refused.name == f"API Gateway certificates in {compartments} compartments"
    assert refused.region == "ap-seoul-1, eu-frankfurt-1, us-ashburn-1"
    assert refused.reason.startswith("listing them failed: 404 NotAuthorizedOrNotFound")
    assert any(i.source == "load-balancer" and i.severity != "UNKNOWN" for i in result.items)


def test_load_balancers_are_listed_where_the_search_finds_them_and_everywhere_when_it_fails(box, env):
    """The search of each region says which compartments hold load balancers: only those are listed. A region
    whose search fails has every compartment listed instead, so its load balancers are still checked."""
    since = len(box.world.calls)
    assert run(env).status == "ok"
    listed = {(c["region"], parse_qs(c["query"])["compartmentId"][0]) for c in box.world.calls[since:]
              if c["operation"] == "lb.list_load_balancers"}
    holding = {(region, lb.compartment_id) for region in box.world.regions
               for lb in box.backend(loadbalancer, region).load_balancers.values()}
    assert listed == holding and len(holding) < len(box.world.regions) * len(box.world.compartments)

    box.world.faults.add(Fault(operation="resource_search.search_resources", status=500, region="eu-frankfurt-1"))
    since = len(box.world.calls)
    result = run(env)
    frankfurt = {parse_qs(c["query"])["compartmentId"][0] for c in box.world.calls[since:]
                 if c["operation"] == "lb.list_load_balancers" and c["region"] == "eu-frankfurt-1"}
    assert frankfurt == set(box.world.compartments)
    assert {i.name for i in result.items if i.source == "load-balancer"} >= {"alerts-lb/web", f"alerts-lb/{BUNDLE}"}
    assert any(i.name == "certificates in eu-frankfurt-1" and i.severity == "UNKNOWN" for i in result.items)
