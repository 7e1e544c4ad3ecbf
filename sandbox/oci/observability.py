"""The small OCI services around certmgr's expiry monitor.

- Notifications data plane (`/20181201`): publish to a topic; messages are recorded per topic.
- Logging ingestion (`/20200831`): push log entries to a custom log; entries are recorded per log.
- Identity (`/20160918`): region subscriptions, the tenancy and compartments, from the `World`.
- Resource Search (`/20180409`): structured queries over the certificates and load balancers of the same region.

Topics and logs are regional resources and live in this module's Backend for their region; Identity is
global and reads the `World`. Tests seed topics and logs with `add_topic` / `add_log` and read back what
was delivered with `messages` / `entries` (or `GET /_control/state`).
"""
from __future__ import annotations

import datetime as dt
import json
import re
import sys
import uuid

import oci

from . import certificates, loadbalancer
from .errors import InvalidParameter, MissingParameter, NotAuthorizedOrNotFound, shown
from .http import Reply, Request, Route, now, page, wire
from .world import Resettable, ocid

ONS, LOGGING = "/20181201", "/20200831"
IDENTITY, SEARCH = "/20160918", "/20180409"
MESSAGE_LIMIT = 64 * 1024   # bytes of title + body OCI accepts in one message


class Backend(Resettable):
    """Topics, logs, and what was published or pushed to them, in one region."""

    def __init__(self, world, region):
        self.world, self.region = world, region
        self.topics: dict[str, dict] = {}
        self.logs: dict[str, dict] = {}
        self.compartment_times: dict[str, dt.datetime] = {}   # used in the home region only

    def add_topic(self, compartment_id: str, name: str) -> str:
        with self.world.lock:
            self.world.check_compartment(compartment_id)
            topic_id = ocid("onstopic", self.region)
            self.topics[topic_id] = {"id": topic_id, "name": name, "compartmentId": compartment_id, "messages": []}
            return topic_id

    def add_log(self, compartment_id: str, name: str) -> str:
        with self.world.lock:
            self.world.check_compartment(compartment_id)
            log_id = ocid("log", self.region)
            self.logs[log_id] = {"id": log_id, "name": name, "compartmentId": compartment_id, "entries": []}
            return log_id

    def messages(self, topic_id: str) -> list[dict]:
        with self.world.lock:
            return list(self._find(self.topics, topic_id, "Topic")["messages"])

    def entries(self, log_id: str) -> list[dict]:
        with self.world.lock:
            return list(self._find(self.logs, log_id, "Log")["entries"])

    @staticmethod
    def _find(table: dict, resource_id: str, kind: str) -> dict:
        if resource_id not in table:
            raise NotAuthorizedOrNotFound(f"{kind} {resource_id} not found or not authorized")
        return table[resource_id]

    def snapshot(self) -> dict:
        return {"topics": list(self.topics.values()), "logs": list(self.logs.values())}


def _backend(req: Request, region: str | None = None) -> Backend:
    return req.world.backend(sys.modules[__name__], region or req.region)


def _parse_time(value, field: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise InvalidParameter(f"{field} must be an RFC 3339 time, got {value!r}") from None


# ----------------------------------------------------------------------------------- Notifications

def publish_message(req: Request) -> Reply:
    topic = Backend._find(_backend(req).topics, req.params["topicId"], "Topic")
    body = req.details("MessageDetails", oci.ons.models)
    title, text = body.get("title"), body.get("body")
    if not isinstance(text, str):
        raise MissingParameter("body is required")
    if len((title or "").encode()) + len(text.encode()) > MESSAGE_LIMIT:
        raise InvalidParameter(f"Message is larger than the {MESSAGE_LIMIT // 1024} KB limit")
    message_type = req.headers.get("messagetype", "RAW_TEXT")
    if message_type not in ("JSON", "RAW_TEXT"):
        raise InvalidParameter(f"messageType must be JSON or RAW_TEXT, got {message_type!r}")
    if message_type == "JSON":
        try:
            if "default" not in json.loads(text):
                raise ValueError
        except (ValueError, TypeError):
            raise InvalidParameter('A JSON message body must be an object with a "default" key') from None
    result = oci.ons.models.PublishResult(message_id=str(uuid.uuid4()), time_stamp=now())
    topic["messages"].append({"messageId": result.message_id, "title": title, "body": text,
                              "messageType": message_type, "timeStamp": result.time_stamp.isoformat()})
    return Reply(200, wire(result))


# ------------------------------------------------------------------------------- Logging ingestion

def put_logs(req: Request) -> Reply:
    log = Backend._find(_backend(req).logs, req.params["logId"], "Log")
    body = req.details("PutLogsDetails", oci.loggingingestion.models)
    if body.get("specversion") != "1.0":
        raise InvalidParameter(f"specversion must be \"1.0\", got {shown(body.get('specversion'))}")
    batches = body.get("logEntryBatches")
    if not isinstance(batches, list) or not batches:
        raise InvalidParameter("logEntryBatches must be a non-empty list")
    received = []
    for i, batch in enumerate(batches):
        where = f"logEntryBatches[{i}]"
        if not isinstance(batch, dict):
            raise InvalidParameter(f"{where} must be an object")
        for name in ("source", "type", "defaultlogentrytime"):
            if not batch.get(name):
                raise MissingParameter(f"{where}.{name} is required")
        default_time = _parse_time(batch["defaultlogentrytime"], f"{where}.defaultlogentrytime")
        if not isinstance(batch.get("entries"), list) or not batch["entries"]:
            raise InvalidParameter(f"{where}.entries must be a non-empty list")
        for j, entry in enumerate(batch["entries"]):
            if not isinstance(entry, dict) or not isinstance(entry.get("data"), str) or not entry.get("id"):
                raise MissingParameter(f"{where}.entries[{j}] needs data and id")
            time = (_parse_time(entry["time"], f"{where}.entries[{j}].time") if entry.get("time")
                    else default_time)
            received.append({"id": entry["id"], "data": entry["data"], "time": time.isoformat(),
                             "source": batch["source"], "type": batch["type"], "subject": batch.get("subject")})
    log["entries"].extend(received)   # all or nothing: nothing is kept from a rejected request
    return Reply(200, None)


# ---------------------------------------------------------------------------------------- Identity

def _check_tenancy(req: Request) -> None:
    if req.params["tenancyId"] != req.world.tenancy_id:
        raise NotAuthorizedOrNotFound(f"Tenancy {req.params['tenancyId']} not found or not authorized")


def _region_key(region: str) -> str:
    short = {name: key for key, name in oci.regions.REGIONS_SHORT_NAMES.items()}
    return short.get(region, region).upper()


def list_region_subscriptions(req: Request) -> Reply:
    _check_tenancy(req)
    world = req.world
    return Reply(200, wire([oci.identity.models.RegionSubscription(
        region_key=_region_key(r), region_name=r, status="READY", is_home_region=r == world.home_region)
        for r in world.regions]))


def get_tenancy(req: Request) -> Reply:
    _check_tenancy(req)
    world = req.world
    return Reply(200, wire(oci.identity.models.Tenancy(
        id=world.tenancy_id, name=world.compartments[world.tenancy_id]["name"], description="Sandbox tenancy",
        home_region_key=_region_key(world.home_region), freeform_tags={}, defined_tags={})))


def _compartment(req: Request, compartment_id: str):
    """A `Compartment` model; creation times are fixed when a compartment is first shown."""
    record = req.world.compartments[compartment_id]
    times = _backend(req, req.world.home_region).compartment_times
    return oci.identity.models.Compartment(
        id=record["id"], compartment_id=record["parent"], name=record["name"],
        description=record.get("description", record["name"]),
        time_created=times.setdefault(compartment_id, now()), lifecycle_state="ACTIVE", is_accessible=True,
        freeform_tags={}, defined_tags={})


def get_compartment(req: Request) -> Reply:
    compartment_id = req.world.check_compartment(req.params["compartmentId"])
    return Reply(200, wire(_compartment(req, compartment_id)))


def list_compartments(req: Request) -> Reply:
    """Children of `compartmentId`, or (tenancy + `compartmentIdInSubtree=true`) every compartment below it."""
    world = req.world
    parent = req.arg("compartmentId")
    if not parent:
        raise MissingParameter("compartmentId is required")
    world.check_compartment(parent)
    subtree = (req.arg("compartmentIdInSubtree") or "false").lower() == "true"
    if subtree and parent != world.tenancy_id:
        raise InvalidParameter("compartmentIdInSubtree can only be true when compartmentId is the tenancy")
    if req.arg("accessLevel", "ANY") not in ("ANY", "ACCESSIBLE"):
        raise InvalidParameter("accessLevel must be ANY or ACCESSIBLE")
    found = [_compartment(req, cid) for cid, c in world.compartments.items()
             if cid != world.tenancy_id and (subtree or c["parent"] == parent)]
    found = [c for c in found if req.arg("name") in (None, c.name)
             and req.arg("lifecycleState") in (None, c.lifecycle_state)]
    keys = {"NAME": lambda c: c.name.lower(), "TIMECREATED": lambda c: c.time_created}
    by = req.arg("sortBy", "TIMECREATED")
    if by not in keys:
        raise InvalidParameter("sortBy must be TIMECREATED or NAME")
    order = req.arg("sortOrder", "DESC" if by == "TIMECREATED" else "ASC")
    chunk, headers = page(req, sorted(found, key=keys[by], reverse=order == "DESC"))
    return Reply(200, wire(chunk), headers)


# ---------------------------------------------------------------------------------- Resource Search

QUERY_RX = re.compile(
    r"^\s*query\s+(?P<types>\w+(?:\s*,\s*\w+)*)\s+resources"
    r"(?:\s+return\s+allAdditionalFields)?"
    r"(?:\s+where\s+(?P<where>.+?))?"
    r"(?:\s+sorted\s+by\s+(?P<sort>\w+)(?:\s+(?P<order>asc|desc))?)?\s*$", re.IGNORECASE | re.DOTALL)
CONDITION_RX = re.compile(r"^\s*(?P<field>\w+)\s*(?P<op>!=|=)\s*'(?P<value>[^']*)'\s*$")
SEARCHABLE = {"certificate": "Certificate", "loadbalancer": "LoadBalancer"}
FIELDS = {"lifecyclestate": "lifecycle_state", "displayname": "display_name",
          "compartmentid": "compartment_id", "identifier": "identifier"}


def _resources(req: Request, types=frozenset(SEARCHABLE)) -> list:
    """The region's resources of the searchable `types`, as ResourceSummary."""
    found = []
    if "certificate" in types:
        found += [(c, "Certificate", c.name, c.lifecycle_state(), c.freeform_tags, c.defined_tags)
                  for c in req.world.backend(certificates, req.region).all()]
    if "loadbalancer" in types:
        found += [(lb, "LoadBalancer", lb.display_name, "ACTIVE", {}, {})
                  for lb in req.world.backend(loadbalancer, req.region).load_balancers.values()]
    return [oci.resource_search.models.ResourceSummary(
        resource_type=kind, identifier=r.id, compartment_id=r.compartment_id, time_created=r.time_created,
        display_name=name, lifecycle_state=state, freeform_tags=freeform, defined_tags=defined, system_tags={},
        identity_context={}, additional_details={}) for r, kind, name, state, freeform, defined in found]


def _structured(req: Request, query: str) -> list:
    """Run the supported subset of the query language: types, `where` with =/!= joined by &&, `sorted by`."""
    unsupported = InvalidParameter(f"Unsupported or invalid search query: {query!r}")
    match = QUERY_RX.match(query or "")
    if not match:
        raise unsupported
    types = {t.strip().lower() for t in match["types"].split(",")}
    if not (types == {"all"} or types <= set(SEARCHABLE)):
        raise unsupported
    items = _resources(req, set(SEARCHABLE) if types == {"all"} else types)
    for clause in re.split(r"\s*&&\s*", match["where"]) if match["where"] else []:
        cond = CONDITION_RX.match(clause)
        if not cond or cond["field"].lower() not in FIELDS:
            raise unsupported
        attr, wanted = FIELDS[cond["field"].lower()], cond["value"].lower()
        items = [r for r in items if ((getattr(r, attr) or "").lower() == wanted) == (cond["op"] == "=")]
    if match["sort"]:
        key = {"timecreated": "time_created", "displayname": "display_name"}.get(match["sort"].lower())
        if key is None:
            raise unsupported
        items.sort(key=lambda r: getattr(r, key), reverse=(match["order"] or "asc").lower() == "desc")
    return items


def search_resources(req: Request) -> Reply:
    body = req.details("SearchDetails", oci.resource_search.models)
    kind = body.get("type")
    if kind == "Structured":
        items = _structured(req, body.get("query"))
    elif kind == "FreeText":
        text = (body.get("text") or "").lower()
        items = [r for r in _resources(req) if text in r.display_name.lower() or text == r.identifier]
    else:
        raise InvalidParameter(f"type must be Structured or FreeText, got {shown(kind)}")
    if body.get("matchingContextType", "NONE") not in ("NONE", "HIGHLIGHTS"):
        raise InvalidParameter("matchingContextType must be NONE or HIGHLIGHTS")
    chunk, headers = page(req, items)
    return Reply(200, wire(oci.resource_search.models.ResourceSummaryCollection(items=chunk)), headers)


ROUTES = [
    Route("POST", f"{ONS}/topics/{{topicId}}/messages", "ons.publish_message", publish_message),
    Route("POST", f"{LOGGING}/logs/{{logId}}/actions/push", "loggingingestion.put_logs", put_logs),
    Route("GET", f"{IDENTITY}/tenancies/{{tenancyId}}/regionSubscriptions", "identity.list_region_subscriptions",
          list_region_subscriptions),
    Route("GET", f"{IDENTITY}/tenancies/{{tenancyId}}", "identity.get_tenancy", get_tenancy),
    Route("GET", f"{IDENTITY}/compartments/{{compartmentId}}", "identity.get_compartment", get_compartment),
    Route("GET", f"{IDENTITY}/compartments", "identity.list_compartments", list_compartments),
    Route("POST", f"{SEARCH}/resources", "resource_search.search_resources", search_resources),
]
CONTROL_ROUTES = []
