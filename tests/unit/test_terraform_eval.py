"""A small evaluator of the module's HCL, so tests can evaluate the module without Terraform or OCI, with the
values a `terraform.tfvars` gives (test_terraform_plan adds what OCI would create).

It knows the HCL subset the module uses and refuses anything else, so it cannot quietly evaluate something else
than the module says; the tests at the end hold it to Terraform's semantics, and to `terraform console`."""
from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from types import SimpleNamespace

import hcl2
import pytest

from test_terraform import PARSE, TF_ENV, local_values, named

FUNCTIONS = {
    "join": lambda sep, items: sep.join(items), "tostring": lambda v: str(v),
    "lookup": lambda m, k, default: m.get(k, default), "coalesce": lambda *v: next(x for x in v if x is not None),
    "length": len, "compact": lambda items: [i for i in items if i], "flatten": lambda items: [x for i in items for x in i],
    "concat": lambda *lists: [x for l in lists for x in l], "keys": lambda m: sorted(m), "values": lambda m: [m[k] for k in sorted(m)],
    "distinct": lambda items: list(dict.fromkeys(items)), "str": str,
    "merge": lambda *maps: {k: v for m in maps for k, v in m.items()},
    "chunklist": lambda items, size: [items[i:i + size] for i in range(0, len(items), size)],
    "slice": lambda items, start, end: items[start:end], "setintersection": lambda *sets: set.intersection(*map(set, sets)),
    "base64encode": lambda text: base64.b64encode(text.encode()).decode(), "regexall": lambda pattern, text: re.findall(pattern, text),
    "anytrue": any, "alltrue": all, "toset": lambda items: set(items), "max": max, "sum": sum, "split": lambda sep, text: text.split(sep),
    "substr": lambda text, offset, length: text[offset:offset + length], "coalescelist": lambda *lists: next(l for l in lists if l),
    "one": lambda items: None if not items else items[0] if len(items) == 1 else 1 / 0,
}


def variables_with(module, tfvars: dict) -> dict:
    """Every module variable: the tfvars value, else its default."""
    declared = named(module, "variable")
    missing = {n for n, body in declared.items() if "default" not in body and n not in tfvars}
    assert not missing, f"required but not set: {missing}"
    return {n: tfvars.get(n, body.get("default")) for n, body in declared.items()}


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


def _whole(expr: str, opening: int = 0) -> bool:
    return _matching(expr, opening) == len(expr) - 1


def evaluate(expr, scope: dict):
    """Evaluate a value as hcl2 gives it: a literal, `${expression}`, or a template (its quotes stripped)."""
    if isinstance(expr, dict):  # hcl2 already parsed a literal object: evaluate its values
        return {k: evaluate(v, scope) for k, v in expr.items()}
    if isinstance(expr, list):
        return [evaluate(v, scope) for v in expr]
    if not isinstance(expr, str):
        return expr
    expr = expr.strip()
    if expr.startswith("${") and _whole(expr, 1):
        return _expr(expr[2:-1], scope)
    if expr.startswith('"'):
        return _expr(expr, scope)
    return _interpolate(expr, scope) if "${" in expr else expr


def _expr(expr: str, scope: dict):
    """Evaluate an HCL expression of the module in `scope`."""
    expr = expr.strip()
    if expr in scope:
        return scope[expr]
    if expr.startswith('"') and _string_end(expr, 0) == len(expr):
        return _interpolate(expr[1:-1], scope)
    if re.fullmatch(r"-?\d+", expr):
        return int(expr)
    if (expr.startswith("{for ") or expr.startswith("[for ")) and _whole(expr):
        return _for(expr, scope)
    if expr.startswith("(") and _whole(expr):
        return _expr(expr[1:-1], scope)
    if expr.startswith("{") and _whole(expr):
        return {_key(k.strip(), scope): _expr(v, scope)
                for k, v in (_split(item, " = ") for item in _split(expr[1:-1], ", ") if item.strip())}
    call = re.match(r"([a-z0-9]+)\(", expr)
    if call and call[1] in FUNCTIONS and _whole(expr, len(call[1])):
        args = [a for a in _split(expr[len(call[1]) + 1:-1], ", ") if a.strip()]
        if args and args[-1].endswith("..."):  # f(a, list...): the list's items are the last arguments
            return FUNCTIONS[call[1]](*(_expr(a, scope) for a in args[:-1]), *_expr(args[-1][:-3], scope))
        return FUNCTIONS[call[1]](*(_expr(a, scope) for a in args))
    if expr.startswith("[") and _whole(expr):
        return [_expr(a, scope) for a in _split(expr[1:-1], ", ") if a.strip()]
    parts = _split(expr, " ? ")
    if len(parts) > 1:  # cond ? then : otherwise, where otherwise may be another conditional
        branches = _split(" ? ".join(parts[1:]), " : ")
        then, otherwise = branches[0], " : ".join(branches[1:])
        return _expr(then, scope) if _expr(parts[0], scope) else _expr(otherwise, scope)
    expr, hoisted = _hoist(expr, scope)
    python = _python(expr, {**scope, **hoisted})  # a template's ${...} may hold a hoisted for expression
    return eval(python, {"__builtins__": {}}, {**FUNCTIONS, **scope, **hoisted})  # noqa: S307 - the module's own text


def _key(text: str, scope: dict) -> str:
    return _expr(text, scope) if text[0] in '("' else text


def _for(expr: str, scope: dict):
    """[for a, b in x : value if condition] and {for a, b in x : key => value if condition}."""
    head, *rest = _split(expr[1:-1].strip()[len("for "):], " : ")
    rest = " : ".join(rest)
    names, _, source = head.partition(" in ")
    names = [n.strip() for n in names.split(",")]
    collection = _expr(source, scope)
    if isinstance(collection, SimpleNamespace):
        collection = vars(collection)
    items = sorted(collection.items()) if isinstance(collection, dict) else enumerate(sorted(collection) if isinstance(collection, set) else collection)
    key_expr, value_expr = rest.split(" => ", 1) if expr.startswith("{") else (None, rest)
    value_expr, *condition = _split(value_expr, " if ")
    grouping = value_expr.endswith("...")  # {for ... : key => value...}: the values of one key in a list
    value_expr = value_expr.removesuffix("...")
    out = {} if key_expr else []
    for key, value in items:
        inner = {**scope, **dict(zip(names, (key, namespace(value)) if len(names) == 2 else (namespace(value),)))}
        if condition and not _expr(" if ".join(condition), inner):
            continue
        if not key_expr:
            out.append(_expr(value_expr, inner))
        elif grouping:
            out.setdefault(_expr(key_expr, inner), []).append(_expr(value_expr, inner))
        else:
            out[_expr(key_expr, inner)] = _expr(value_expr, inner)
    return out


def _interpolate(literal: str, scope: dict) -> str:
    """A string literal's text with its ${...} interpolations evaluated."""
    out, i = [], 0
    while (start := literal.find("${", i)) >= 0:
        end = _matching(literal, start + 1)
        out += [literal[i:start], str(_expr(literal[start + 2:end], scope))]
        i = end + 1
    return "".join(out) + literal[i:]


def _python(expr: str, scope: dict) -> str:
    literals: list[str] = []

    def stash(match):  # string literals out of the way of the operator rewriting below
        literals.append(repr(_interpolate(match[1], scope)) if "${" in match[1] else match[0])
        return f"__LIT{len(literals) - 1}__"
    out, i = [], 0
    while (start := expr.find('"', i)) >= 0:
        end = _string_end(expr, start)
        out += [expr[i:start], stash(re.match(r'"(.*)"', expr[start:end], re.S))]
        i = end
    expr = "".join(out) + expr[i:]
    if not re.fullmatch(r"[\w.,\[\]()\s:*/!=<>&|+-]*", expr):
        raise ValueError(f"outside the evaluator's HCL subset: {expr}")
    expr = re.sub(r"([A-Za-z_][\w.]*)\[\*\]\.(\w+)", r"[_s.\2 for _s in \1]", expr)  # splat: x[*].id
    expr = expr.replace("&&", " and ").replace("||", " or ").replace("!", " not ").replace(" not =", "!=")
    expr = re.sub(r"\b(true|false|null)\b", lambda m: {"true": "True", "false": "False", "null": "None"}[m[1]], expr)
    return re.sub(r"__LIT(\d+)__", lambda m: literals[int(m[1])], expr)


class Obj(dict):
    """An HCL object or map: `o.key` and `o["key"]` alike."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def namespace(value):
    if isinstance(value, dict):
        return Obj({k: namespace(v) for k, v in value.items()})
    return [namespace(v) for v in value] if isinstance(value, list) else value


def tfvars(text: str) -> dict:
    return hcl2.load(io.StringIO(text), serialization_options=PARSE)


def scope_for(module, tfvars: dict) -> dict:
    """`var` and `local` (each evaluated on first use) for the module's expressions."""
    var = variables_with(module, tfvars)
    raw = local_values(module)
    scope: dict = {"var": SimpleNamespace(**var)}

    class Locals:
        def __getattr__(self, name):
            value = namespace(evaluate(raw[name], scope))
            setattr(self, name, value)
            return value
    scope["local"] = Locals()
    return scope


# -- the evaluator against Terraform's semantics ------------------------------------------------------------------

SEMANTICS = [
    ('${[for x in [3, 1, 2] : x * 2 if x != 1]}', [6, 4]),
    ('${{for k, v in {b = 1, a = 2} : k => v + 1 if v > 1}}', {"a": 3}),
    ('${max(0, [4, 9, 2] ...)}', 9),
    ('${chunklist(["a", "b", "c"], 2)}', [["a", "b"], ["c"]]),
    ('${(1 == 2 ? "x" : "y")}', "y"),
    ('${length(base64encode("é")) / 4 * 3 - length(regexall("=", base64encode("é")))}', 2),  # UTF-8 bytes
    ('${slice(["a", "b", "c"], 1, 3)}', ["b", "c"]),
    ('${merge({a = 1}, {b = 2})}', {"a": 1, "b": 2}),
    ('${{for x in ["a1", "b1", "a2"] : substr(x, 0, 1) => x...}}', {"a": ["a1", "a2"], "b": ["b1"]}),
]


@pytest.mark.parametrize("expr, expected", SEMANTICS)
def test_the_evaluator_follows_terraform(expr, expected):
    assert evaluate(expr, {}) == expected


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_terraform_gives_the_same_answers(tmp_path):
    """`terraform console` (which needs no provider for expressions) on the same cases, as one tuple."""
    tuple_ = "jsonencode([" + ", ".join(expr[2:-1] for expr, _ in SEMANTICS) + "])"
    run = subprocess.run(["terraform", "console"], input=tuple_, cwd=tmp_path, env=TF_ENV, capture_output=True,
                         text=True, timeout=60)
    assert json.loads(json.loads(run.stdout)) == [expected for _, expected in SEMANTICS], run.stderr


def test_the_evaluator_refuses_what_it_does_not_know():
    with pytest.raises(ValueError, match="outside the evaluator's HCL subset"):
        evaluate("${var.a % 2}", {"var": SimpleNamespace(a=3)})
