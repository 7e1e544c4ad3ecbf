"""Static checks of terraform/: nothing here can plan against OCI, so the tests read the HCL and hold it to
what certmgr needs: declared variables, the environment certmgr reads, a timeout OCI accepts, and an example
that fills every input (the module evaluated: test_terraform_seed, _fleet and _iam; the evaluator: _eval).

Variable validations are run for real by the terraform binary when it is installed (a configuration of
variables only needs no provider and no network)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest
from hcl2.utils import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULE = TERRAFORM / "modules" / "certmgr"
EXAMPLE = TERRAFORM / "examples" / "basic"
FLEET = TERRAFORM / "examples" / "fleet"

# The environment certmgr reads, by where the module sets it. Adding a key means adding it to certmgr.
COMMON_KEYS = {"CERTMGR_COMPARTMENT_ID", "CERTMGR_VAULT_ID", "CERTMGR_VAULT_KEY_ID", "CERTMGR_METRICS"}
RENEWER_KEYS = {
    "CERTMGR_MODE", "CERTMGR_NAME_PREFIX", "CERTMGR_DOMAIN", "CERTMGR_DNS_ZONE_ID", "CERTMGR_ACME_EMAIL",
    "CERTMGR_ACME_DIRECTORY", "CERTMGR_ACME_PROFILE", "CERTMGR_RENEWAL_DAYS", "CERTMGR_KEY_TYPE", "CERTMGR_LB_ID",
    "CERTMGR_LB_LISTENERS", "CERTMGR_PROPAGATION_TIMEOUT", "CERTMGR_RUN_BUDGET", "CERTMGR_VERIFY_ENDPOINTS",
    "CERTMGR_CERTIFICATE_NAME", "CERTMGR_ACME_FALLBACK_DIRECTORY", "CERTMGR_FLEET_PREFIX",
}
MONITOR_KEYS = {
    "CERTMGR_MODE", "CERTMGR_NAME_PREFIX", "CERTMGR_CERTIFICATE_NAME", "CERTMGR_MONITOR_WARNING_DAYS", "CERTMGR_MONITOR_CRITICAL_DAYS", "CERTMGR_MONITOR_LB_IDS",
    "CERTMGR_MONITOR_TOPIC_ID", "CERTMGR_MONITOR_LOG_ID", "CERTMGR_MONITOR_LOG_GROUP_ID", "CERTMGR_MONITOR_SMTP_HOST", "CERTMGR_MONITOR_EMAIL_FROM",
    "CERTMGR_MONITOR_EMAIL_TO", "CERTMGR_MONITOR_ENDPOINTS", "CERTMGR_MONITOR_SMTP_USERNAME_SECRET", "CERTMGR_MONITOR_SMTP_PASSWORD_SECRET",
}
OCI_MAX_SYNC_TIMEOUT = 300

PARSE = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
TF_ENV = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}


def load(directory: Path) -> dict[str, list]:
    """Every top-level block of a directory's .tf files, merged by block type."""
    merged: dict[str, list] = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as f:
            for kind, items in hcl2.load(f, serialization_options=PARSE).items():
                merged.setdefault(kind, []).extend(items)
    return merged


def named(config: dict, kind: str) -> dict[str, dict]:
    """Blocks with one label (variable, output, module) by name."""
    return {name: body for item in config.get(kind, []) for name, body in item.items()}


def resources(config: dict) -> dict[str, dict]:
    """Resources by "type.name"."""
    return {f"{rtype}.{name}": body for item in config.get("resource", [])
            for rtype, by_name in item.items() for name, body in by_name.items()}


def local_values(config: dict) -> dict:
    return {k: v for item in config.get("locals", []) for k, v in item.items()}


def text(directory: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(directory.glob("*.tf")))


def object_keys(expr: str) -> set[str]:
    """The CERTMGR_* keys an object (or a for expression building objects) sets."""
    return set(re.findall(r"\b(CERTMGR_[A-Z0-9_]+) =", expr))


@pytest.fixture(scope="module")
def module():
    return load(MODULE)


@pytest.fixture(scope="module")
def example():
    return load(EXAMPLE)


@pytest.mark.parametrize("path", sorted(TERRAFORM.rglob("*.tf")), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_file_parses(path):
    with path.open() as f:
        assert hcl2.load(f, serialization_options=PARSE)


@pytest.mark.parametrize("directory", [MODULE, EXAMPLE, FLEET], ids=["module", "example", "fleet"])
def test_variables_and_locals_used_are_declared_and_declared_are_used(directory):
    config, source = load(directory), text(directory)
    declared = set(named(config, "variable"))
    used = set(re.findall(r"\bvar\.([a-z_][a-z0-9_]*)", source))
    assert used - declared == set(), "used but not declared"
    assert declared - used == set(), "declared but never used"
    defined = set(local_values(config))
    assert set(re.findall(r"\blocal\.([a-z_][a-z0-9_]*)", source)) - defined == set()


def test_function_environment_is_what_certmgr_reads(module):
    values = local_values(module)
    assert set(values["common_settings"]) == COMMON_KEYS
    assert object_keys(values["renewer_settings"]) == RENEWER_KEYS
    assert set(values["monitor_settings"]) == MONITOR_KEYS
    assert 'CERTMGR_MODE = "renew"' in values["renewer_settings"]
    assert values["monitor_settings"]["CERTMGR_MODE"] == "monitor"
    # No CERTMGR_* name anywhere else in the module that certmgr would not know.
    assert set(re.findall(r"CERTMGR_[A-Z0-9_]+", text(MODULE))) <= COMMON_KEYS | RENEWER_KEYS | MONITOR_KEYS


def test_functions_and_application_get_their_own_settings(module):
    res = resources(module)
    assert res["oci_functions_application.this"]["config"] == "${local.common_config}"
    assert res["oci_functions_function.renewer"]["config"] == "${local.renewer_config[each.key]}"
    assert res["oci_functions_function.monitor"]["config"] == "${local.monitor_config}"


def test_certmgr_reads_every_key():
    """Every key the module sets appears in certmgr's code (monitor keys once the monitor exists)."""
    source = "\n".join(p.read_text() for p in (ROOT / "certmgr").rglob("*.py"))
    unread = {k for k in COMMON_KEYS | RENEWER_KEYS | MONITOR_KEYS
              if k not in source and k.removeprefix("CERTMGR_MONITOR_") not in source}
    assert {k for k in unread if not k.startswith("CERTMGR_MONITOR_")} == set()
    if unread and not (ROOT / "certmgr" / "monitor").exists():
        pytest.skip("certmgr/monitor/ is not written yet")
    assert unread == set()


def test_module_accepts_what_certmgr_accepts(module):
    """The module's choices and ranges are certmgr's own, so terraform rejects what certmgr would."""
    config, certs = pytest.importorskip("certmgr.settings.renewer_variables"), pytest.importorskip("certmgr.pki")
    assert local_values(module)["acme_directories"] == config.ACME_DIRECTORIES
    variables = named(module, "variable")
    [key_types] = re.findall(r"contains\(\[([^]]+)\]", variables["key_type"]["validation"][0]["condition"])
    assert re.findall(r'"([^"]+)"', key_types) == list(certs.KEY_TYPES)
    low, high = config.RENEWAL_DAYS_RANGE
    assert f">= {low}" in variables["certificate_renewal_days"]["validation"][0]["condition"]
    assert f"<= {high}" in variables["certificate_renewal_days"]["validation"][0]["condition"]
    assert variables["certificate_renewal_days"]["default"] == config.DEFAULT_RENEWAL_DAYS
    assert variables["name_prefix"]["default"] == config.DEFAULT_NAME_PREFIX


@pytest.mark.parametrize("name", ["certificate_renewal_days", "function_memory_mb", "function_timeout_seconds",
                                  "acme_directory", "domain_names", "key_type", "schedule_recurrence_type"])
def test_variable_has_validation(module, name):
    assert named(module, "variable")[name].get("validation"), f"{name} has no validation block"


def test_timeout_fits_a_synchronous_invoke(module):
    variables = named(module, "variable")
    assert variables["function_timeout_seconds"]["default"] == OCI_MAX_SYNC_TIMEOUT
    res = resources(module)
    for function in ("oci_functions_function.renewer", "oci_functions_function.monitor"):
        assert res[function]["timeout_in_seconds"] == "${var.function_timeout_seconds}"


def test_provider_is_recent_enough_for_function_schedules(module):
    [oci] = [p["oci"] for block in module["terraform"] for p in block["required_providers"]]
    assert (oci["source"], oci["version"]) == ("oracle/oci", ">= 6.37.0")


@pytest.mark.parametrize("directory", [EXAMPLE, FLEET], ids=["example", "fleet"])
def test_example_passes_every_required_module_variable(module, directory):
    variables = named(module, "variable")
    required = {name for name, body in variables.items() if "default" not in body}
    calls = named(load(directory), "module")
    assert list(calls) == ["certificates"]  # `terraform output -module=certificates invoke_command`
    arguments = set(calls["certificates"]) - {"source", "providers"}
    assert required - arguments == set(), "required but not passed"
    assert arguments - set(variables) == set(), "passed but not a module variable"


@pytest.mark.parametrize("directory", [EXAMPLE, FLEET], ids=["example", "fleet"])
def test_tfvars_example_sets_every_required_example_variable(directory):
    with (directory / "terraform.tfvars.example").open() as f:
        values = hcl2.load(f, serialization_options=PARSE)
    variables = named(load(directory), "variable")
    required = {name for name, body in variables.items() if "default" not in body}
    assert required <= set(values) <= set(variables)


# ------------------------------------------------------------------------------------------------------
# With the terraform binary: formatting, and the module's variable validations evaluated for real.
# ------------------------------------------------------------------------------------------------------

needs_terraform = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")

VALID_INPUTS = {
    "tenancy_ocid": "ocid1.tenancy.oc1..aaaa", "compartment_id": "ocid1.compartment.oc1..aaaa",
    "subnet_id": "ocid1.subnet.oc1.iad.aaaa", "certmgr_image_url": "iad.ocir.io/ns/certmgr:0.1.0",
    "domain_names": ["example.com", "*.example.com"], "dns_zone_id": "ocid1.dns-zone.oc1..aaaa",
    "acme_contact_email": "admin@example.com", "load_balancer_id": "ocid1.loadbalancer.oc1.iad.aaaa",
    "vault_id": "ocid1.vault.oc1.iad.aaaa", "vault_key_id": "ocid1.key.oc1.iad.aaaa",
}


FLEET_ENTRY = {"domain_names": ["api.example.com"], "dns_zone_id": "ocid1.dns-zone.oc1..bbbb",
               "load_balancer_id": "ocid1.loadbalancer.oc1.iad.bbbb"}


def plan_variables(tmp_path: Path, inputs: dict) -> subprocess.CompletedProcess:
    """`terraform plan` of the module's variables alone: runs every validation, needs no provider."""
    for path in MODULE.glob("variables*.tf"):
        shutil.copy(path, tmp_path)
    (tmp_path / "inputs.tfvars.json").write_text(json.dumps(inputs))
    return subprocess.run(["terraform", "plan", "-input=false", "-no-color", "-var-file=inputs.tfvars.json"],
                          cwd=tmp_path, env=TF_ENV, capture_output=True, text=True, timeout=60)


@needs_terraform
def test_terraform_fmt_is_clean():
    run = subprocess.run(["terraform", "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
                         env=TF_ENV, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout


@needs_terraform
@pytest.mark.parametrize("override, accepted", [
    ({}, True),
    ({"certificate_renewal_days": 7}, True), ({"certificate_renewal_days": 60}, True),
    ({"certificate_renewal_days": 6}, False), ({"certificate_renewal_days": 61}, False),
    ({"certificate_renewal_days": 30.5}, False),
    ({"function_memory_mb": 1024}, True), ({"function_memory_mb": 300}, False),
    ({"function_timeout_seconds": 300}, True), ({"function_timeout_seconds": 301}, False),
    ({"function_timeout_seconds": 29}, False),
    ({"acme_directory": "production"}, True), ({"acme_directory": "https://acme.example/directory"}, True),
    ({"acme_directory": "prod"}, False), ({"acme_directory": "http://acme.example/directory"}, False),
    ({"acme_fallback_directory": "production"}, True), ({"acme_fallback_directory": "https://ca.example/dir"}, True),
    ({"acme_fallback_directory": "http://ca.example/dir"}, False),
    ({"key_type": "ecdsa-p384"}, True), ({"key_type": "rsa-1024"}, False),
    ({"acme_profile": "tlsserver"}, True), ({"acme_profile": "two words"}, False),
    ({"dns_propagation_timeout_seconds": 240}, True), ({"dns_propagation_timeout_seconds": 241}, False),
    ({"domain_names": ["Example.com"]}, False), ({"certificates": {"a-b": FLEET_ENTRY}}, False),
    ({"certificates": {"api": FLEET_ENTRY, "www": FLEET_ENTRY}}, True), ({"certificates": {"monitor": FLEET_ENTRY}}, False),
    ({"certificates": {"api": {**FLEET_ENTRY, "renewal_days": 61}}}, False),
    ({"certmgr_image_url": "certmgr"}, False), ({"log_retention_days": 45}, False),
    ({"application_shape": "GENERIC_ARM"}, True), ({"application_shape": "GENERIC_X86_ARM"}, True),
    ({"application_shape": "ARM64"}, False),
    ({"certmgr_image_digest": "sha256:" + "0" * 64}, True), ({"certmgr_image_digest": "latest"}, False),
], ids=lambda v: json.dumps(v) if isinstance(v, dict) else str(v))
def test_variable_validation(tmp_path, override, accepted):
    run = plan_variables(tmp_path, {**VALID_INPUTS, **override})
    assert (run.returncode == 0) == accepted, run.stdout + run.stderr
    if not accepted:
        assert "Invalid value for variable" in run.stdout + run.stderr


@needs_terraform
def test_example_values_pass_module_validation(tmp_path, example):
    """The placeholders in terraform.tfvars.example, passed through the example, satisfy the module."""
    with (EXAMPLE / "terraform.tfvars.example").open() as f:
        values = hcl2.load(f, serialization_options=PARSE)
    call = named(example, "module")["certificates"]
    passed = {arg: values[m.group(1)] for arg, expr in call.items()
              if (m := re.fullmatch(r"\$\{var\.(\w+)\}", str(expr))) and m.group(1) in values}
    run = plan_variables(tmp_path, passed)
    assert run.returncode == 0, run.stdout + run.stderr


def checkov() -> str | None:
    """checkov as `make test` installs it (CHECKOV, a venv of its own: .cache/checkov), else on PATH."""
    made = os.environ.get("CHECKOV") or str(ROOT / ".cache" / "checkov" / "bin" / "checkov")
    return made if Path(made).exists() else shutil.which("checkov")


@pytest.mark.skipif(checkov() is None and not os.environ.get("CHECKOV") and not os.environ.get("CI"),
                    reason="checkov is not installed: `make test` installs it into .cache/checkov")
def test_checkov_finds_nothing():
    assert checkov(), "CHECKOV is set (or this is CI) but checkov is not installed"
    run = subprocess.run([checkov(), "-d", str(TERRAFORM), "--framework", "terraform", "--skip-download",
                          "--output", "json", "--quiet"], capture_output=True, text=True, timeout=300)
    report = json.loads(run.stdout)
    for result in report if isinstance(report, list) else [report]:
        summary = result["summary"]
        assert summary["failed"] == 0 and summary["parsing_errors"] == 0, run.stdout
