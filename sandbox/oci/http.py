"""The pieces every service module uses: a parsed request, a reply, a route, paging and wire shapes.

Service modules are thin: a route table (`ROUTES`) of `Route(method, pattern, operation, handler)` and a
`Backend(world, region)` holding that service's state for one region. A handler takes the `Request` and
returns a `Reply` or raises an `OciError`.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import importlib
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import oci

from .errors import InvalidParameter


@functools.cache
def _serializer(models_package: str):
    """The SDK's own (de)serializer, knowing one package's models (packages reuse names like `Certificate`)."""
    models = importlib.import_module(models_package)
    mapping = next(v for k, v in vars(models).items() if k.endswith("_type_mapping"))
    sdk = oci.base_client.BaseClient.__new__(oci.base_client.BaseClient)
    sdk.complex_type_mappings = mapping
    sdk.type_mappings = oci.base_client.merge_type_mappings(sdk.primitive_type_map, mapping)
    sdk.skip_deserialization, sdk._allow_control_chars = False, None
    sdk.logger = logging.getLogger(__name__)
    return sdk


def parse(data: Any, type_name: str, models) -> Any:
    """Request JSON read into the SDK model an operation takes, as every service here reads its bodies:
    names from the model's attribute map (unknown keys dropped), subtypes by their discriminator, types
    checked. `models` is the SDK's models package (`oci.vault.models`); a malformed body is a 400."""
    return _read(data, type_name, models)[0]


def _read(data: Any, type_name: str, models) -> tuple[Any, Any]:
    """(the model, its wire form) for `parse` and `Request.details`."""
    try:
        model = _serializer(models.__name__).deserialize_response_data(json.dumps(data).encode(), type_name)
        wired = wire(model)  # raises TypeError for a value of the wrong type
        problem = _shape_problem(data, wired, "body")
    except Exception as exc:  # noqa: BLE001 - any malformed body is the caller's error
        problem = str(exc).replace("must be None or one of", "must be one of")  # the SDK's text, without a repr
    if problem:
        raise InvalidParameter(f"Invalid {type_name}: {problem}")
    return model, wired


def _shape_problem(sent: Any, read: Any, where: str) -> str | None:
    """Where the body sent is not the shape the model read (the SDK reads a string as a list of its
    characters, for one): a list must have been a list, an object an object."""
    if isinstance(read, list):
        if not isinstance(sent, list):
            return f"{where} must be a list"
        return next(filter(None, (_shape_problem(s, r, f"{where}[{i}]")
                                  for i, (s, r) in enumerate(zip(sent, read)))), None)
    if isinstance(read, dict):
        if not isinstance(sent, dict):
            return f"{where} must be an object"
        return next(filter(None, (_shape_problem(sent.get(k), v, f"{where}.{k}") for k, v in read.items())), None)
    return None


def wire(model: Any) -> Any:
    """Serialise an `oci` SDK model (or a list of them) to the camelCase JSON the SDK expects.

    Building replies from the SDK's own model classes keeps the emulator's shapes honest: a field the
    model does not know cannot be sent, and names come from the model's `attribute_map`.
    """
    sample = model[0] if isinstance(model, (list, tuple)) and model else model
    module = type(sample).__module__
    if ".models" not in module:
        return model
    return _serializer(module.split(".models")[0] + ".models").sanitize_for_serialization(model)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]          # lower-case names
    body: bytes
    world: Any
    region: str
    params: dict[str, str] = field(default_factory=dict)
    principal: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def int_arg(self, name: str, default: int | None = None) -> int | None:
        value = self.arg(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise InvalidParameter(f"{name} must be an integer, got {value!r}") from None

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise InvalidParameter(f"Request body is not valid JSON: {exc}") from None

    def model(self, type_name: str, models) -> Any:
        """The body as the SDK model `type_name` of `models` (see `parse`)."""
        return parse(self.json(), type_name, models)

    def details(self, type_name: str, models) -> dict:
        """The body read through its SDK model and written back in camelCase: for backends that keep
        JSON-shaped state, the same names, types and subtypes the model allows, nothing else."""
        return _read(self.json(), type_name, models)[1] or {}

    def backend(self, module) -> Any:
        """The state of `module`'s service in this request's region."""
        return self.world.backend(module, self.region)


@dataclass
class Reply:
    status: int = 200
    body: Any = None                 # JSON-able, bytes, or None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Route:
    method: str
    pattern: str                     # "/20180115/zones/{zone}/records"; "{name+}" matches slashes too
    operation: str                   # "dns.get_zone_records": fault and call-log key
    handler: Callable[[Request], Reply]
    regex: re.Pattern = field(init=False)

    def __post_init__(self):
        parts = re.split(r"(\{\w+\+?\})", self.pattern)
        rx = ""
        for part in parts:
            if part.startswith("{"):
                name = part.strip("{}+")
                rx += f"(?P<{name}>.+)" if part.endswith("+}") else f"(?P<{name}>[^/]+)"
            else:
                rx += re.escape(part)
        self.regex = re.compile(rx + "$")


def page(req: Request, items: list, default_limit: int = 100, max_limit: int = 1000) -> tuple[list, dict]:
    """OCI list paging: `limit` and an opaque `page` token in, `opc-next-page` out."""
    limit = req.int_arg("limit", default_limit)
    if limit is None or limit < 1 or limit > max_limit:
        raise InvalidParameter(f"limit must be between 1 and {max_limit}")
    token = req.arg("page")
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:"))
        except ValueError:
            raise InvalidParameter(f"Invalid page token {token!r}") from None
    chunk = items[start:start + limit]
    headers = {}
    if start + limit < len(items):
        headers["opc-next-page"] = base64.urlsafe_b64encode(f"offset:{start + limit}".encode()).decode()
    return chunk, headers


def sort_items(req: Request, items: list, fields: dict[str, Callable[[Any], Any]], default: str) -> list:
    """Apply `sortBy` / `sortOrder` (ASC or DESC) with the given key functions."""
    by = req.arg("sortBy", default)
    if by not in fields:
        raise InvalidParameter(f"sortBy must be one of {sorted(fields)}")
    order = (req.arg("sortOrder") or "ASC").upper()
    if order not in ("ASC", "DESC"):
        raise InvalidParameter("sortOrder must be ASC or DESC")
    return sorted(items, key=fields[by], reverse=order == "DESC")
