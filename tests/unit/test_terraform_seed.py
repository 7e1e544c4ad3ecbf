"""The module against its users: the seed guide's variables and tfvars, the fleet form, the monitor's needs.

Nothing here can plan against OCI, so the module's own expressions for the functions' configuration, the
certificate entries and the policy statements are evaluated here, with the values a `terraform.tfvars`
gives, by a small evaluator of the HCL subset they use (it refuses anything else, so it cannot quietly
evaluate something else than the module says).
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import hcl2
import pytest

from certmgr.settings.config import ACME_DIRECTORIES, Config
from test_terraform import EXAMPLE, MODULE, PARSE, load, local_values, named, resources

# The seed guide's variable tables: name -> (type, default); REQUIRED has no default. The per-certificate
# ones (domain_name, dns_zone_id, load_balancer_id) are required there; here they default to null because
# the fleet form (`certificates`) replaces them, and a precondition asks for them when it is not used.
REQUIRED = object()
SEED = {
    "enable_certificate_automation": ("bool", False), "domain_name": ("string", None),
    "dns_zone_id": ("string", None), "acme_contact_email": ("string", REQUIRED),
    "acme_directory": ("string", "staging"), "certificate_renewal_days": ("number", 30),
    "certmgr_image_url": ("string", REQUIRED), "compartment_id": ("string", REQUIRED),
    "tenancy_ocid": ("string", REQUIRED), "name_prefix": ("string", "tmi"), "subnet_id": ("string", REQUIRED),
    "load_balancer_id": ("string", None), "vault_id": ("string", REQUIRED), "vault_key_id": ("string", REQUIRED),
    "function_memory_mb": ("number", 256), "function_timeout_seconds": ("number", 300),
    "create_dynamic_group": ("bool", True), "existing_dynamic_group_name": ("string", None),
    "tags": ("map(string)", {}),
}
GUIDE_TFVARS = '''
enable_certificate_automation = true
domain_name = "tmi.example.com"
dns_zone_id = "ocid1.dns-zone.oc1..aaaazone"
acme_contact_email = "admin@example.com"
acme_directory = "staging"
certmgr_image_url = "us-ashburn-1.ocir.io/namespace/certmgr:latest"
compartment_id = "ocid1.compartment.oc1..aaaacomp"
tenancy_ocid = "ocid1.tenancy.oc1..aaaatenancy"
subnet_id = "ocid1.subnet.oc1.iad.aaaasubnet"
load_balancer_id = "ocid1.loadbalancer.oc1.iad.aaaalb"
vault_id = "ocid1.vault.oc1.iad.aaaavault"
vault_key_id = "ocid1.key.oc1.iad.aaaakey"
'''


@pytest.fixture(scope="module")
def module():
    return load(MODULE)


def variables_with(module, tfvars: dict) -> dict:
    """Every module variable: the tfvars value, else its default."""
    declared = named(module, "variable")
    missing = {n for n, body in declared.items() if "default" not in body and n not in tfvars}
    assert not missing, f"required but not set: {missing}"
    return {n: tfvars.get(n, body.get("default")) for n, body in declared.items()}


# -- a small evaluator for the module's expressions ---------------------------------------------------------

FUNCTIONS = {
    "join": lambda sep, items: sep.join(items), "tostring": lambda v: str(v),
    "lookup": lambda m, k, default: m.get(k, default), "coalesce": lambda *v: next(x for x in v if x is not None),
    "length": len, "compact": lambda items: [i for i in items if i], "flatten": lambda items: [x for i in items for x in i],
    "concat": lambda *lists: [x for l in lists for x in l], "keys": lambda m: sorted(m), "values": lambda m: [m[k] for k in sorted(m)],
    "distinct": lambda items: list(dict.fromkeys(items)), "str": str,
}


def _scan(text: str, start: int = 0):
    """(index, bracket depth after it) of each character from `start` outside string literals."""
    depth, i = 0, start
    while i < len(text):
        if text[i] == '"':
            i = _string_end(text, i)
            continue
        depth += (text[i] in "([{") - (text[i] in ")]}")
        yield i, depth
        i += 1


def _matching(text: str, start: int) -> int:
    """Index of the bracket closing the one at `start` (strings skipped)."""
    closed = next((i for i, depth in _scan(text, start) if depth == 0), None)
    if closed is None:
        raise ValueError(f"unbalanced: {text}")
    return closed


def _hoist(expr: str, scope: dict) -> tuple[str, dict]:
    """Evaluate the for expressions nested in `expr` first, standing in names for them."""
    found = {}
    while (start := expr.find("[for ", 1)) > 0 or (start := expr.find("{for ", 1)) > 0:
        end = _matching(expr, start)
        name = f"_for{len(found)}"
        found[name] = _for(expr[start:end + 1], scope)
        expr = expr[:start] + name + expr[end + 1:]
    return expr, found


def _string_end(text: str, i: int) -> int:
    """Index just past the string literal opening at `i` (its ${...} may hold quotes of their own)."""
    i += 1
    while text[i] != '"':
        if text[i] == "\\":
            i += 2
        elif text.startswith("${", i):
            i = _matching(text, i + 1) + 1
        else:
            i += 1
    return i + 1


def _split(text: str, sep: str) -> list[str]:
    """`text` split at `sep` outside brackets and strings (no separator starts with a bracket)."""
    parts, start = [], 0
    for i, depth in _scan(text):
        if i >= start and depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
    return parts + [text[start:]]


KEYWORDS = {"null": None, "true": True, "false": False}


def evaluate(expr: str, scope: dict):
    """Evaluate an HCL expression of the module (interpolations unwrapped) in `scope`."""
    if isinstance(expr, dict):  # hcl2 already parsed a literal object: evaluate its values
        return {k: evaluate(v, scope) for k, v in expr.items()}
    if isinstance(expr, list):
        return [evaluate(v, scope) for v in expr]
    if not isinstance(expr, str):
        return expr
    expr = expr.strip()
    if expr in scope:
        return scope[expr]
    if expr in KEYWORDS:  # a conditional's branch: `c ? null : x`
        return KEYWORDS[expr]
    if re.fullmatch(r'"[^"$]*"', expr):
        return expr[1:-1]
    head = re.match(r"!?([a-z_][a-z0-9_]*)", expr)
    if "${" not in expr and not (head and (head[1] in scope or head[1] in FUNCTIONS or head[1] in ("var", "local", "each"))) \
            and not re.match(r"[\[{(\"]", expr):
        return expr  # a plain string value, as hcl2 gives a literal (quotes stripped)
    wrapped = expr.startswith("${") and _matching(expr, 1) == len(expr) - 1
    if "${" in expr and not wrapped and not re.search(r'[\s"]', re.sub(r"\$\{[^}]*\}", "", expr)):
        return evaluate(f'"{expr}"', scope)  # a template, as hcl2 gives it (quotes stripped)
    if wrapped:
        expr = expr[2:-1].strip()
    if expr.startswith("{for ") or expr.startswith("[for "):
        return _for(expr, scope)
    if expr.startswith("{") and expr.endswith("}"):
        return {_key(k.strip(), scope): evaluate(v, scope)
                for k, v in (_split(item, " = ") for item in _split(expr[1:-1], ", ") if item.strip())}
    call = re.match(r"([a-z]+)\(", expr)
    if call and call[1] in FUNCTIONS and _matching(expr, len(call[1])) == len(expr) - 1:
        return FUNCTIONS[call[1]](*(evaluate(a, scope) for a in _split(expr[len(call[1]) + 1:-1], ", ") if a.strip()))
    if expr.startswith("[") and _matching(expr, 0) == len(expr) - 1 and not expr.startswith("[for "):
        return [evaluate(a, scope) for a in _split(expr[1:-1], ", ") if a.strip()]
    parts = _split(expr, " ? ")
    if len(parts) > 1:  # cond ? then : otherwise, where otherwise may be another conditional
        branches = _split(" ? ".join(parts[1:]), " : ")
        then, otherwise = branches[0], " : ".join(branches[1:])
        return evaluate(then, scope) if evaluate(parts[0], scope) else evaluate(otherwise, scope)
    expr, hoisted = _hoist(expr, scope)
    python = _python(expr, {**scope, **hoisted})  # a template's ${...} may hold a hoisted for expression
    return eval(python, {"__builtins__": {}}, {**FUNCTIONS, **scope, **hoisted})  # noqa: S307 - the module's own text


def _key(text: str, scope: dict) -> str:
    if text.startswith("(") and text.endswith(")"):
        return evaluate(text[1:-1], scope)
    return evaluate(text, scope) if text.startswith('"') else text


def _for(expr: str, scope: dict):
    body = expr[1:-1].strip()[len("for "):]
    head, _, rest = body.partition(" : ")
    names, _, source = head.partition(" in ")
    names = [n.strip() for n in names.split(",")]
    collection = evaluate(source, scope)
    if isinstance(collection, SimpleNamespace):
        collection = vars(collection)
    items = collection.items() if isinstance(collection, dict) else enumerate(collection)
    if expr.startswith("{"):
        key_expr, _, value_expr = rest.partition(" => ")
        value_expr, _, condition = (_split(value_expr, " if ") + [""])[:2] and value_expr.partition(" if ") \
            if len(_split(value_expr, " if ")) > 1 else (value_expr, "", "")
        out = {}
        for key, value in items:
            inner = {**scope, **dict(zip(names, (key, namespace(value)) if len(names) == 2 else (namespace(value),)))}
            if not condition or evaluate(condition, inner):
                out[evaluate(key_expr, inner)] = evaluate(value_expr, inner)
        return out
    return [evaluate(rest, {**scope, **dict(zip(names, (k, namespace(v)) if len(names) == 2 else (namespace(v),)))})
            for k, v in items]


def _template(literal: str, scope: dict) -> str:
    """A string literal with ${...} interpolations, evaluated, as a Python string literal."""
    out, i = [], 0
    while (start := literal.find("${", i)) >= 0:
        end = _matching(literal, start + 1)
        out += [literal[i:start], str(evaluate(literal[start + 2:end], scope))]
        i = end + 1
    return repr("".join(out) + literal[i:])


def _python(expr: str, scope: dict) -> str:
    literals: list[str] = []

    def stash(match):  # string literals out of the way of the operator rewriting below
        literals.append(_template(match[1], scope) if "${" in match[1] else match[0])
        return f"__LIT{len(literals) - 1}__"
    out, i = [], 0
    while (start := expr.find('"', i)) >= 0:
        end = _string_end(expr, start)
        out += [expr[i:start], stash(re.match(r'"(.*)"', expr[start:end], re.S))]
        i = end
    expr = "".join(out) + expr[i:]
    if not re.fullmatch(r"[\w.,\[\]()\s:*!=<>&|+-]*", expr):
        raise ValueError(f"outside the evaluator's HCL subset: {expr}")
    expr = expr.replace("&&", " and ").replace("||", " or ").replace("!", " not ").replace(" not =", "!=")
    expr = re.sub(r"\b(true|false|null)\b", lambda m: {"true": "True", "false": "False", "null": "None"}[m[1]], expr)
    return re.sub(r"__LIT(\d+)__", lambda m: literals[int(m[1])], expr)


def namespace(value):
    if isinstance(value, dict):
        return SimpleNamespace(**{k: namespace(v) for k, v in value.items()}) if all(
            isinstance(k, str) and k.isidentifier() for k in value) else value
    return value


class Scope(dict):
    """`var`, `local` (evaluated on first use) and `each` for the module's expressions."""


def scope_for(module, tfvars: dict) -> dict:
    var = variables_with(module, tfvars)
    raw = local_values(module)
    scope: dict = {"var": SimpleNamespace(**{k: v for k, v in var.items()})}

    class Locals:
        def __getattr__(self, name):
            value = evaluate(raw[name], scope)
            setattr(self, name, value)
            return value
    scope["local"] = Locals()
    return scope


def tfvars(text: str) -> dict:
    import io
    return hcl2.load(io.StringIO(text), serialization_options=PARSE)


def attr(obj, name):
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


# -- the tests ------------------------------------------------------------------------------------------------

def test_the_seed_guides_variables_exist_with_its_types_defaults_and_ranges(module):
    declared = named(module, "variable")
    for name, (kind, default) in SEED.items():
        assert name in declared, name
        assert declared[name]["type"].removeprefix("${").removesuffix("}") == kind, (name, declared[name]["type"])
        if default is REQUIRED:
            assert "default" not in declared[name], name
        else:
            assert declared[name]["default"] == default, name
    conditions = {n: " ".join(v["condition"] for v in declared[n].get("validation", [])) for n in declared}
    assert ">= 7" in conditions["certificate_renewal_days"] and "<= 60" in conditions["certificate_renewal_days"]
    assert "[128, 256, 512, 1024]" in conditions["function_memory_mb"]
    assert ">= 30" in conditions["function_timeout_seconds"] and "<= 300" in conditions["function_timeout_seconds"]


def test_the_guides_tfvars_give_a_renewer_that_certmgr_accepts_as_it_was_meant(module):
    scope = scope_for(module, tfvars(GUIDE_TFVARS))
    entries = scope["local"].entries
    assert list(entries) == ["tmi"]
    common, renewer = scope["local"].common_config, scope["local"].renewer_config["tmi"]
    env = {**common, **renewer, "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"}
    config = Config.from_env(env)
    assert config.domains == ("tmi.example.com",) and config.dns_zone_id == "ocid1.dns-zone.oc1..aaaazone"
    assert config.acme_directory == ACME_DIRECTORIES["staging"] and config.renewal_days == 30
    assert config.lb_id == "ocid1.loadbalancer.oc1.iad.aaaalb" and config.name_prefix == "tmi"
    assert config.run_budget == 280 and config.vault_id == "ocid1.vault.oc1.iad.aaaavault"
    assert config.warnings == () and evaluate('"${each.value.function_name}"', {
        **scope, "each": SimpleNamespace(value=SimpleNamespace(**entries["tmi"]))}) == "certmgr"


def test_nothing_is_created_until_automation_is_enabled(module):
    off = {k: v for k, v in tfvars(GUIDE_TFVARS).items() if k != "enable_certificate_automation"}
    scope = scope_for(module, off)
    assert scope["local"].entries == {} and scope["local"].enabled is False
    for address, body in resources(module).items():
        guard = str(body.get("count", body.get("for_each", "")))
        assert "local.enabled" in guard or "local.entries" in guard or "local.monitor_enabled" in guard or \
            "local.schedules" in guard or "var.create_monitor_topic" in guard and "local.monitor_enabled" in guard, address


def test_a_two_entry_fleet_gives_two_renewers_with_disjoint_secrets_and_grants(module):
    fleet = {**{k: v for k, v in tfvars(GUIDE_TFVARS).items() if k not in ("domain_name", "dns_zone_id", "load_balancer_id")},
             "certificates": {
                 "api": {"domain_names": ["api.example.com"], "dns_zone_id": "ocid1.dns-zone.oc1..zone1",
                         "load_balancer_id": "ocid1.loadbalancer.oc1.iad.lb1", "listeners": [], "renewal_days": None,
                         "certificate_name": None},
                 "www": {"domain_names": ["example.com", "*.example.com"], "dns_zone_id": "ocid1.dns-zone.oc1..zone2",
                         "load_balancer_id": "ocid1.loadbalancer.oc1.iad.lb2", "listeners": ["https"], "renewal_days": 21,
                         "certificate_name": "www-tls"}}}
    scope = scope_for(module, fleet)
    entries = scope["local"].entries
    assert sorted(entries) == ["tmi-api", "tmi-www"]
    assert {e["function_name"] for e in entries.values()} == {"certmgr-api", "certmgr-www"}
    for prefix in entries:
        config = Config.from_env({**scope["local"].common_config, **scope["local"].renewer_config[prefix],
                                  "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"})
        assert config.name_prefix == prefix
    assert Config.from_env({**scope["local"].common_config, **scope["local"].renewer_config["tmi-www"],
                            "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"}).renewal_days == 21
    res = resources(module)
    for address in ("oci_functions_function.renewer", "oci_identity_dynamic_group.renewer", "oci_identity_policy.renewer"):
        assert "local.entries" in res[address]["for_each"], address
    assert "oci_functions_function.renewer" in local_values(module)["schedules"]  # a schedule per renewer
    names = {p: {f"{p}-{role}" for role in scope["local"].secret_roles} for p in entries}
    assert not names["tmi-api"] & names["tmi-www"]
    grants = {p: scope["local"].renewer_statements[p] for p in entries}
    for prefix, own in grants.items():
        other = next(p for p in entries if p != prefix)
        text = "\n".join(own)
        assert all(f"'{name}'" in text for name in names[prefix]) and not any(n in text for n in names[other])
        assert entries[prefix]["dns_zone_id"] in text and entries[other]["dns_zone_id"] not in text
        assert f"dynamic-group {prefix}-certmgr-renewer " in text and f"{other}-certmgr-renewer" not in text
    # Only the entry that deploys through the Certificates service is granted it, and told its name.
    assert [p for p, own in grants.items() if any("leaf-certificates" in s for s in own)] == ["tmi-www"]
    assert scope["local"].renewer_config["tmi-www"]["CERTMGR_CERTIFICATE_NAME"] == "www-tls"
    assert "CERTMGR_CERTIFICATE_NAME" not in scope["local"].renewer_config["tmi-api"]


def test_the_monitor_is_configured_and_allowed_to_keep_its_memory_in_vault(module):
    scope = scope_for(module, {**tfvars(GUIDE_TFVARS), "monitor_log_id": "ocid1.log.oc1.iad.aaaalog"})
    env = {**scope["local"].common_config, **scope["local"].monitor_config, "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"}
    assert {"CERTMGR_VAULT_ID", "CERTMGR_VAULT_KEY_ID", "CERTMGR_COMPARTMENT_ID"} <= set(env)
    config = Config.from_env(env)
    assert config.mode == "monitor" and config.vault_id and config.name_prefix == "tmi"
    grants = "\n".join(scope["local"].monitor_statements)
    assert "target.secret.name = 'tmi-monitor-state'" in grants and "target.secret.name = 'tmi-certificate'" in grants
    assert "ocid1.loadbalancer.oc1.iad.aaaalb" in env["CERTMGR_MONITOR_LB_IDS"]


def test_the_example_passes_the_guides_variables_straight_through():
    call = named(load(EXAMPLE), "module")["certificates"]
    for name in SEED:
        assert call.get(name) == "${var." + name + "}", name


def test_the_seed_switch_off_creates_no_dynamic_group_and_no_policy_and_the_monitor_uses_the_named_group():
    """The guide's `create_dynamic_group = false` (its switch covers the IAM policies too, which the example
    passes on as create_policies) with only `existing_dynamic_group_name`: the monitor shares that group."""
    module = load(MODULE)
    example = named(load(EXAMPLE), "module")["certificates"]
    assert example["create_policies"] == "${var.create_dynamic_group}"
    values = {**tfvars(GUIDE_TFVARS), "create_dynamic_group": False, "create_policies": False,
              "existing_dynamic_group_name": "ops-functions"}
    scope = scope_for(module, values)
    identity = {name: body for name, body in resources(module).items() if name.startswith("oci_identity_")}
    for name, body in identity.items():
        created = evaluate(body.get("count", body.get("for_each")), scope)
        assert created in (0, "0", {}), f"{name} is created: {created}"
    assert scope["local"].monitor_group == "ops-functions"
    assert all("ops-functions" in s for s in scope["local"].monitor_statements)
