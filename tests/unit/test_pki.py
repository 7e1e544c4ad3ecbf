"""certs: PEM chains, keys and CSRs, with certificates made on the spot by a small CA."""
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from certmgr import pki
from certmgr.errors import CertificateError

NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.timezone.utc)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(subject, key, issuer, issuer_key, *, ca, names=(), days=90, serial=None):
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(serial or x509.random_serial_number())
               .not_valid_before(NOW).not_valid_after(NOW + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_chain(names=("example.com", "*.example.com"), *, key_type="ecdsa-p256", serial=None):
    """leaf, intermediate, root certificates and the leaf's key."""
    root_key, mid_key, leaf_key = pki.generate_key(), pki.generate_key(), pki.generate_key(key_type)
    root = _issue("Test Root", root_key, "Test Root", root_key, ca=True, days=3650)
    mid = _issue("Test Intermediate", mid_key, "Test Root", root_key, ca=True, days=1825)
    leaf = _issue(names[0] if names else "no-san", leaf_key, "Test Intermediate", mid_key, ca=False, names=names,
                  serial=serial)
    return leaf, mid, root, leaf_key


@pytest.fixture(scope="module")
def chain():
    return make_chain()


def pem(*items):
    return "".join(pki.cert_to_pem(c) for c in items)


def test_parse_chain_returns_leaf_first(chain):
    leaf, mid, root, _ = chain
    parsed = pki.parse_chain(pem(leaf, mid, root))
    assert [c.serial_number for c in parsed] == [leaf.serial_number, mid.serial_number, root.serial_number]


def test_parse_chain_accepts_bytes_and_surrounding_whitespace(chain):
    leaf, mid, _, _ = chain
    assert len(pki.parse_chain(("\n\n" + pem(leaf) + "\n\n" + pem(mid) + "\n").encode())) == 2


@pytest.mark.parametrize("text, expected", [
    ("", "is empty"),
    ("   \n", "is empty"),
    ("hello world", "is not PEM"),
    ("-----BEGIN CERTIFICATE-----\nMIIB\n", "without its matching -----END"),
    ("-----BEGIN CERTIFICATE-----\n!!!!not base64!!!!\n-----END CERTIFICATE-----\n", "certificate 1 cannot be parsed"),
    ("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n", "CERTIFICATE REQUEST block"),
])
def test_parse_chain_rejects(text, expected):
    with pytest.raises(CertificateError, match=expected) as info:
        pki.parse_chain(text)
    assert str(info.value).startswith("certificate: ")


@pytest.mark.parametrize("layout, expected", [
    ("junk\n{leaf}{mid}", "before the first certificate"),
    ("{leaf}junk\n{mid}", "between certificates 1 and 2"),
    ("{leaf}{mid}junk", "after the last certificate"),
    ("{mid}{leaf}", "not in order"),
    ("{leaf}{root}", "not in order"),
    ("{leaf}-----BEGIN CERTIFICATE-----\nMIIB\n{mid}", "without its matching -----END"),
])
def test_parse_chain_rejects_layout(chain, layout, expected):
    leaf, mid, root, _ = chain
    with pytest.raises(CertificateError, match=expected):
        pki.parse_chain(layout.format(leaf=pem(leaf), mid=pem(mid), root=pem(root)))


def test_parse_chain_names_the_input(chain):
    with pytest.raises(CertificateError, match="^certificate: secret tmi-chain is empty"):
        pki.parse_chain("", what="secret tmi-chain")


def test_private_key_in_chain_is_refused_without_quoting_it(chain):
    leaf, _, _, key = chain
    key_pem = pki.key_to_pem(key)
    with pytest.raises(CertificateError, match="contains a private key") as info:
        pki.parse_chain(pem(leaf) + key_pem)
    body = key_pem.splitlines()[1]
    assert body not in str(info.value)


def test_ca_bundle_tolerates_comments(chain):
    _, mid, root, _ = chain
    bundle = "# Issuer: Test Root\n" + pem(root) + "\n# another\n" + pem(mid)
    assert len(pki.load_ca_bundle(bundle)) == 2
    with pytest.raises(CertificateError, match="no readable PEM certificate"):
        pki.load_ca_bundle("# nothing here\n")


def test_inspection(chain):
    leaf, _, _, _ = chain
    assert pki.names(leaf) == ["example.com", "*.example.com"]
    assert pki.not_after(leaf) == NOW + dt.timedelta(days=90)
    assert pki.not_before(leaf) == NOW
    assert int(pki.serial_hex(leaf), 16) == leaf.serial_number
    assert len(pki.fingerprint(leaf)) == 64
    info = pki.info(leaf)
    assert info.names == ("example.com", "*.example.com")
    assert info.issuer == "CN=Test Intermediate"
    assert info.lifetime == dt.timedelta(days=90)
    assert info.key_type == "ecdsa-p256"


def test_names_without_san_is_empty():
    leaf, *_ = make_chain(names=())
    assert pki.names(leaf) == []


@pytest.mark.parametrize("serial, expected", [(0x1, "01"), (0xABC, "0abc"), (0x1234, "1234")])
def test_serial_hex_is_whole_bytes_lower_case(serial, expected):
    leaf, *_ = make_chain(serial=serial)
    assert pki.serial_hex(leaf) == expected


def test_key_matches(chain):
    leaf, mid, _, key = chain
    assert pki.key_matches(leaf, key)
    assert pki.key_matches(leaf, pki.key_to_pem(key))
    assert pki.key_matches(leaf, pki.key_to_pem(key).encode())
    assert not pki.key_matches(leaf, pki.generate_key())
    assert not pki.key_matches(mid, key)


@pytest.mark.parametrize("mangle, expected", [
    (lambda text: "", "is empty"),
    (lambda text: text.replace("A", "B", 5), "cannot be parsed"),
    (lambda text: text.splitlines()[1], "cannot be parsed"),
])
def test_bad_private_key_never_quoted(chain, mangle, expected):
    leaf, _, _, key = chain
    text = mangle(pki.key_to_pem(key))
    with pytest.raises(CertificateError, match=expected) as info:
        pki.key_matches(leaf, text)
    for line in pki.key_to_pem(key).splitlines()[1:-1] + text.splitlines()[1:-1]:
        assert line not in str(info.value)
    assert info.value.__context__ is None or info.value.__suppress_context__  # no parser error chained on


@pytest.mark.parametrize("kind", pki.KEY_TYPES)
def test_generate_key_and_csr(kind):
    key = pki.generate_key(kind)
    assert pki.key_type(key) == kind
    csr = x509.load_pem_x509_csr(pki.make_csr(key, ["example.com", "*.example.com"]))
    assert csr.is_signature_valid
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["example.com", "*.example.com"]
    assert pki.key_type(pki.load_private_key(pki.key_to_pem(key))) == kind


def test_generate_key_rejects_unknown_type():
    with pytest.raises(ValueError, match="ecdsa-p256"):
        pki.generate_key("dsa-1024")


def test_chain_round_trip(chain):
    leaf, mid, _, _ = chain
    assert pki.parse_chain(pki.chain_to_pem([leaf, mid])) == [leaf, mid]


@pytest.mark.parametrize("a, b, same", [
    ("0a1b", "A1B", True), ("0a:1b", "0A1B", True), ("01", "1", True), ("0a1b", "0a1c", False),
    ("untrusted (self-signed)", "0a1b", False), (None, "0a1b", False),
])
def test_same_serial_compares_numbers_not_spellings(a, b, same):
    assert pki.same_serial(a, b) is same
