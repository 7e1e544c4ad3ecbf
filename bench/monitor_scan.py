"""Benchmark: the monitor's scan of 5 000 certificates in 3 regions against a per-call-cost baseline.

Every OCI call gets 20 ms of added latency (a fault on "*"), roughly a call to a nearby OCI region. Seeded:
the Certificates-service certificates, and besides them load balancers (5 bundles each) and API Gateway
certificates in the same compartments, which the monitor finds by listing every compartment. Measured in
one run, on one fresh sandbox:
  (a) certmgr's monitor run (scan + classify + its metrics posted to Monitoring; no other channel)
  (b) the seed's approach: one by one, a new CertificatesClient per certificate and its get_certificate_bundle.
(b) is timed on a sample and extrapolated linearly to every certificate: at 5 000 it would take minutes.

    python -m bench monitor [--certificates 5000] [--lbs 20] [--gateways 100] [--sample 300]

Exit status 0 unless the benchmark breaks (a certificate not checked); a missed target prints MISSED.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import oci  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from certmgr import monitor  # noqa: E402
from certmgr.app import config_for  # noqa: E402
from sandbox.oci import apigateway, certificates, loadbalancer  # noqa: E402
from sandbox.oci.faults import Fault  # noqa: E402
from sandbox.stack import Sandbox  # noqa: E402

LATENCY = 0.02       # seconds added to every API call
DISTINCT_PAIRS = 40  # certificates generated; reused under different names to keep seeding fast
TARGET = 0.05       # the monitor run's time over the baseline's
SCAN_CALLS = 60     # the scan's calls (not the metrics it posts)
MONITOR_VARS = ("CERTMGR_OCI_ENDPOINT", "OCI_CONFIG_FILE", "CERTMGR_COMPARTMENT_ID")  # no channels, no Vault
BUNDLES_PER_LB = 5


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pairs(count: int) -> tuple[str, list[tuple[str, str]]]:
    """(CA PEM, [(leaf PEM, key PEM)]) with expiry dates spread from 7 days ago to 400 days ahead."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Bench CA")).issuer_name(_name("Bench CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=500)).not_valid_after(now + dt.timedelta(days=1000))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    pairs = []
    for i in range(count):
        key = ec.generate_private_key(ec.SECP256R1())
        not_after = now + dt.timedelta(days=-7 + i * 410 // count)  # -7, 3, 13, 23, 34, ...
        leaf = (x509.CertificateBuilder().subject_name(_name(f"bench{i}.example.com")).issuer_name(ca.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(not_after - dt.timedelta(days=90)).not_valid_after(not_after)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"bench{i}.example.com")]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        pairs.append((leaf.public_bytes(serialization.Encoding.PEM).decode(),
                      key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()))
    return ca.public_bytes(serialization.Encoding.PEM).decode(), pairs


def seed(box: Sandbox, total: int, lbs: int, gateways: int) -> list[tuple[str, str]]:
    """`total` Certificates-service certificates over every region and 5 compartments, `lbs` load balancers of
    5 bundles each and `gateways` API Gateway certificates among them; returns (region, certificate id) of
    the first."""
    chain, pairs = make_pairs(DISTINCT_PAIRS)
    compartments = [box.world.add_compartment(f"bench-{i}") for i in range(5)]
    regions = box.world.regions
    seeded = []
    for i in range(total):
        region = regions[i % len(regions)]
        cert_pem, key_pem = pairs[i % len(pairs)]
        backend = box.world.backend(certificates, region)
        seeded.append((region, backend.import_certificate(compartments[i % len(compartments)], f"bench-{i:05d}",
                                                          cert_pem, chain, key_pem)))
    for i in range(lbs):
        bundles = {f"b{j}": {"publicCertificate": pairs[(i + j) % len(pairs)][0],
                             "privateKey": pairs[(i + j) % len(pairs)][1]} for j in range(BUNDLES_PER_LB)}
        box.world.backend(loadbalancer, regions[i % len(regions)]).add_load_balancer(
            compartments[i % len(compartments)], f"bench-lb-{i}", certificates=bundles,
            listeners={f"l{j}": {"defaultBackendSetName": "app", "port": 8000 + j, "protocol": "HTTP",
                                 "sslConfiguration": {"certificateName": f"b{j}", "verifyPeerCertificate": False}}
                       for j in range(BUNDLES_PER_LB)})
    for i in range(gateways):
        box.world.backend(apigateway, regions[i % len(regions)]).add_certificate(
            compartments[i % len(compartments)], f"bench-gw-{i}", pairs[i % len(pairs)][0], chain)
    return seeded


def time_monitor(box: Sandbox) -> tuple[float, monitor.MonitorResult]:
    env = {name: box.env[name] for name in MONITOR_VARS} | {"CERTMGR_MODE": "monitor", "CERTMGR_METRICS": "true"}
    start = time.monotonic()
    result = monitor.run(config_for(env, "monitor"))
    return time.monotonic() - start, result


def time_baseline(box: Sandbox, sample: list[tuple[str, str]]) -> float:
    """The seed's loop: a new client for every certificate, one call at a time."""
    start = time.monotonic()
    for region, certificate_id in sample:
        client = oci.certificates.CertificatesClient(box.oci_config, service_endpoint=box.region_endpoint(region))
        client.get_certificate_bundle(certificate_id).data.validity.time_of_validity_not_after
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench monitor", description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=5000)
    parser.add_argument("--lbs", type=int, default=20, help="load balancers, 5 certificate bundles each")
    parser.add_argument("--gateways", type=int, default=100, help="API Gateway certificates")
    parser.add_argument("--sample", type=int, default=300, help="certificates the baseline is timed on")
    args = parser.parse_args([] if argv is None else argv)
    with Sandbox(pebble=False) as box:
        start = time.monotonic()
        seeded = seed(box, args.certificates, args.lbs, args.gateways)
        expected = args.certificates + args.lbs * BUNDLES_PER_LB + args.gateways
        print(f"seeded {expected} certificates ({args.certificates} in the Certificates service, {args.lbs} load "
              f"balancers of {BUNDLES_PER_LB}, {args.gateways} API Gateway) in {len(box.world.regions)} regions in "
              f"{time.monotonic() - start:.1f} s; every API call now has {LATENCY * 1000:.0f} ms added latency")
        box.world.faults.add(Fault(operation="*", latency=LATENCY))

        calls = len(box.world.calls)
        scan_seconds, result = time_monitor(box)
        made = box.world.calls[calls:]
        calls, posts = len(made), sum(c["operation"] == "monitoring.post_metric_data" for c in made)
        by_operation = Counter(c["operation"] for c in made if c["operation"] != "monitoring.post_metric_data")
        checked = len(result.items)
        print(f"monitor: {checked} certificates in {calls} OCI calls ({posts} PostMetricData of at most 50 "
              f"streams), status {result.status}, "
              + ", ".join(f"{n} {s}" for s, n in result.counts.items() if n)
              + f"; timings {result.timings}")
        scanned = sum(by_operation.values())
        print(f"scan: {scanned} calls (target <= {SCAN_CALLS}: {'met' if scanned <= SCAN_CALLS else 'MISSED'}): "
              + ", ".join(f"{n} {op}" for op, n in by_operation.most_common()))
        if result.status != "ok" or result.counts["UNKNOWN"]:
            print(result.render()[:3000], file=sys.stderr)

        sample = seeded[::max(1, len(seeded) // args.sample)][:args.sample]
        sample_seconds = time_baseline(box, sample)
        baseline = sample_seconds / len(sample) * expected
        print(f"baseline: {len(sample)} certificates in {sample_seconds:.1f} s "
              f"({sample_seconds / len(sample) * 1000:.1f} ms each); extrapolated linearly to {expected}")
    unposted = [w for w in result.warnings if w.startswith("metrics")]
    if checked < expected or result.counts["UNKNOWN"] or unposted:  # the sandbox's own LB is found too
        print(f"broken: {checked} of {expected} certificates checked, {result.counts['UNKNOWN']} could not be; "
              f"{unposted}", file=sys.stderr)
        return 1
    ratio = scan_seconds / baseline
    print(f"monitor scan: {checked} certs in {scan_seconds:.1f} s; baseline (sequential, new client per cert): "
          f"{baseline:.1f} s (extrapolated from {len(sample)}); monitor / baseline {ratio:.3f} (target <= {TARGET}: "
          f"{'met' if ratio <= TARGET else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
