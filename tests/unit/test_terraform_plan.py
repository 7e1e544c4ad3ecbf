"""A plan of the module without Terraform or OCI: the resources it would create (counts and for_each evaluated),
with stand-in OCIDs as long as OCI's for what OCI would name, and every precondition of its resources and outputs
evaluated, so tests read what `terraform plan` would refuse."""
from __future__ import annotations

import hashlib
import re
from types import SimpleNamespace

from test_terraform import MODULE, load, named, resources
from test_terraform_eval import evaluate, namespace, scope_for, tfvars

# The resources whose OCIDs other expressions read, in the order they can be known, with their OCID's type.
CREATED = [("oci_functions_application.this", "fnapp"), ("oci_functions_function.renewer", "fnfunc"),
           ("oci_functions_function.monitor", "fnfunc"), ("oci_ons_notification_topic.monitor", "onstopic"),
           ("oci_logging_log_group.this", "loggroup"), ("oci_logging_log.monitor", "log"),
           ("oci_resource_scheduler_schedule.this", "resourceschedule")]


def ocid(kind: str, name: str) -> str:
    """A stand-in OCID as long as OCI's: ocid1.<type>.oc1.<region>.<60 characters>."""
    return f"ocid1.{kind}.oc1.iad.aaaaaaaa{hashlib.sha256(name.encode()).hexdigest()[:52]}"


def instances(body: dict, scope: dict):
    """A resource's instances: a list (count), a dict by key (for_each), or one (neither)."""
    if "count" in body:
        return list(range(int(evaluate(body["count"], scope))))
    if "for_each" in body:
        each = evaluate(body["for_each"], scope)
        return dict(each) if isinstance(each, dict) else {k: k for k in each}
    return [0]


def planned(module, tfvars: dict) -> dict:
    """The scope after a plan: `var`, `local`, and each resource of CREATED with stand-in OCIDs."""
    scope, bodies = scope_for(module, tfvars), resources(module)
    for address, kind in CREATED:
        rtype, name = address.split(".")
        made = instances(bodies[address], scope)
        ids = {k: SimpleNamespace(id=ocid(kind, f"{address}[{k}]")) for k in made} if isinstance(made, dict) else \
            [SimpleNamespace(id=ocid(kind, f"{address}[{i}]")) for i in made]
        scope.setdefault(rtype, SimpleNamespace()).__dict__[name] = ids
    return scope


def each_instance(body: dict, scope: dict):
    """(scope with `each`, key) for each instance of a resource."""
    made = instances(body, scope)
    if isinstance(made, dict):
        return [({**scope, "each": SimpleNamespace(key=k, value=namespace(v))}, k) for k, v in made.items()]
    return [({**scope, "count": SimpleNamespace(index=i)}, i) for i in made]


def failed_preconditions(module, scope: dict) -> list[str]:
    """The error message of every precondition that fails, on any resource instance or output."""
    checks = [(each, rule) for body in resources(module).values() for each, _ in each_instance(body, scope)
              for rule in body.get("lifecycle", [{}])[0].get("precondition", [])]
    checks += [(scope, rule) for body in named(module, "output").values() for rule in body.get("precondition", [])]
    return [evaluate(rule["error_message"], each) for each, rule in checks if not evaluate(rule["condition"], each)]


def guide() -> dict:
    from test_terraform_seed import GUIDE_TFVARS  # the seed's tests plan with these helpers
    return tfvars(GUIDE_TFVARS)


def test_a_plan_gives_each_created_resource_an_ocid_as_long_as_ocis():
    scope = planned(load(MODULE), guide())
    [renewer] = scope["oci_functions_function"].renewer.values()
    assert re.fullmatch(r"ocid1\.fnfunc\.oc1\.iad\.[a-z0-9]{60}", renewer.id)
    assert sorted(scope["oci_resource_scheduler_schedule"].this) == ["monitor", "renew-1"]


def test_a_plan_reads_what_terraform_would_refuse():
    module = load(MODULE)
    assert failed_preconditions(module, planned(module, guide())) == []
    both = planned(module, {**guide(), "domain_names": ["a.example.com", "b.example.com"]})
    assert failed_preconditions(module, both) == ["Set domain_name (one name) or domain_names (several), not both."]
