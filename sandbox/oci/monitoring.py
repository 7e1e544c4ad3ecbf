"""Monitoring (`/20180401`): custom metrics posted (PostMetricData, which real OCI serves on its
telemetry-ingestion host) and summarized back (SummarizeMetricsData, on its telemetry host). One sandbox URL
serves both paths, so a client of `CERTMGR_OCI_ENDPOINT` reaches either.

Limits enforced, as the API reference states them for PostMetricData and MetricDataDetails: at most 50 unique
metric streams per request; a namespace of lower-case letters, digits and underscores that does not begin
with `oci_` or `oracle_`; 1 to 20 dimensions per stream; datapoint timestamps no older than 2 hours and no
more than 10 minutes ahead. A stream that breaks a rule is a failed metric of a NON_ATOMIC request (the
default) and fails the whole request of an ATOMIC one. The MQL subset of SummarizeMetricsData:
`name[interval]{dim = "value", ...}.stat()` with an interval of 1m to 60m, 1h to 24h or 1d (the MQL
reference's ranges) and stat min/max/mean/sum/count,
one result per stream (dimension set), datapoints aggregated per interval.
"""
from __future__ import annotations

import datetime as dt
import re
import sys

import oci

from .errors import InvalidParameter, MissingParameter
from .http import Reply, Request, Route, now, wire
from .world import Resettable

API = "/20180401"
STREAMS_PER_CALL = 50
NAMESPACE = re.compile(r"[a-z][a-z0-9_]*[a-z0-9]")
METRIC_NAME = re.compile(r"[A-Za-z0-9_.\-$]{1,255}")
OLDEST, NEWEST = dt.timedelta(hours=2), dt.timedelta(minutes=10)
UNITS = {"m": (60, 60), "h": (3600, 24), "d": (86400, 1)}  # seconds, and the largest count MQL allows of each
STATS = {"min": min, "max": max, "sum": sum, "count": len, "mean": lambda values: sum(values) / len(values)}
QUERY = re.compile(r'\s*(?P<name>[A-Za-z0-9_.\-$]+)\[(?P<interval>\d+[mhd])\]'
                   r'(?:\{(?P<filter>[^}]*)\})?\.(?P<stat>[a-z]+)\(\)\s*')


class Backend(Resettable):
    """The datapoints posted in one region, by stream: (compartment, namespace, name, dimensions)."""

    def __init__(self, world, region):
        self.world, self.region = world, region
        self.streams: dict[tuple, list[tuple[dt.datetime, float]]] = {}

    def snapshot(self) -> dict:
        return {"streams": [{"compartmentId": c, "namespace": ns, "name": n, "dimensions": dict(d),
                             "datapoints": len(points)} for (c, ns, n, d), points in self.streams.items()]}


def _backend(req: Request) -> Backend:
    return req.world.backend(sys.modules[__name__], req.region)


def _time(value, field: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(f"{field} must be an RFC 3339 time, got {value!r}") from None


def _problem(metric: dict, at: dt.datetime) -> str | None:
    """Why one MetricDataDetails cannot be stored, or None."""
    namespace, name, dimensions = metric.get("namespace") or "", metric.get("name") or "", metric.get("dimensions")
    if not NAMESPACE.fullmatch(namespace) or namespace.startswith(("oci_", "oracle_")):
        return f"Invalid namespace {namespace!r}: lower-case letters, digits and underscores, not oci_ or oracle_"
    if not METRIC_NAME.fullmatch(name):
        return f"Invalid metric name {name!r}"
    if not isinstance(dimensions, dict) or not 1 <= len(dimensions) <= 20 or \
            not all(isinstance(v, str) and 1 <= len(v) <= 512 for v in dimensions.values()):
        return "dimensions must hold 1 to 20 entries, each value 1 to 512 characters"
    if not metric.get("compartmentId"):
        return "compartmentId is required"
    points = metric.get("datapoints")
    if not isinstance(points, list) or not points:
        return "datapoints must be a non-empty list"
    for point in points:
        stamp = _time(point.get("timestamp"), "datapoints.timestamp")
        if not at - OLDEST <= stamp <= at + NEWEST:
            return f"Timestamp {point.get('timestamp')} is more than 2 hours past or 10 minutes ahead"
        if not isinstance(point.get("value"), (int, float)):
            return "datapoints.value must be a number"
    return None


def post_metric_data(req: Request) -> Reply:
    body = req.details("PostMetricDataDetails", oci.monitoring.models)
    metrics = body.get("metricData")
    if not isinstance(metrics, list) or not metrics:
        raise MissingParameter("metricData is required")
    streams = {(m.get("namespace"), m.get("name"), tuple(sorted((m.get("dimensions") or {}).items())))
               for m in metrics}
    if len(streams) > STREAMS_PER_CALL:
        raise InvalidParameter(f"A request may post at most {STREAMS_PER_CALL} unique metric streams, got "
                               f"{len(streams)}")
    at, backend = now(), _backend(req)
    failed = [(m, problem) for m in metrics if (problem := _problem(m, at))]
    if failed and body.get("batchAtomicity") == "ATOMIC":
        raise InvalidParameter(failed[0][1])
    with req.world.lock:
        for metric in metrics:
            if any(metric is f for f, _ in failed):
                continue
            key = (metric["compartmentId"], metric["namespace"], metric["name"],
                   tuple(sorted(metric["dimensions"].items())))
            backend.streams.setdefault(key, []).extend(
                (_time(p["timestamp"], "timestamp"), float(p["value"])) for p in metric["datapoints"])
    models = oci.monitoring.models
    return Reply(200, wire(models.PostMetricDataResponseDetails(
        failed_metrics_count=len(failed),
        failed_metrics=[models.FailedMetricRecord(message=problem, metric_data=models.MetricDataDetails(
            namespace=m.get("namespace"), compartment_id=m.get("compartmentId"), name=m.get("name"),
            dimensions=m.get("dimensions"), datapoints=[])) for m, problem in failed])))


def _filter(text: str | None) -> dict[str, str]:
    found = {}
    for clause in filter(None, (c.strip() for c in (text or "").split(","))):
        match = re.fullmatch(r'([A-Za-z0-9_.\-]+)\s*=\s*"([^"]*)"', clause)
        if not match:
            raise InvalidParameter(f"Unsupported dimension filter {clause!r} (this emulator takes name = \"value\")")
        found[match[1]] = match[2]
    return found


def summarize_metrics_data(req: Request) -> Reply:
    compartment = req.arg("compartmentId")
    if not compartment:
        raise MissingParameter("compartmentId is required")
    body = req.details("SummarizeMetricsDataDetails", oci.monitoring.models)
    query = QUERY.fullmatch(body.get("query") or "")
    count, unit = (int(query["interval"][:-1]), query["interval"][-1]) if query else (0, "m")
    if not query or not 1 <= count <= UNITS[unit][1] or query["stat"] not in STATS:
        raise InvalidParameter(f"Unsupported query {body.get('query')!r}: this emulator takes "
                               'name[1m..60m|1h..24h|1d]{dim = "value"}.min|max|mean|sum|count()')
    start = _time(body["startTime"], "startTime") if body.get("startTime") else now() - dt.timedelta(hours=1)
    end = _time(body["endTime"], "endTime") if body.get("endTime") else now()
    wanted, seconds, stat = _filter(query["filter"]), count * UNITS[unit][0], STATS[query["stat"]]
    models, found = oci.monitoring.models, []
    with req.world.lock:
        streams = list(_backend(req).streams.items())
    for (c, namespace, name, dimensions), points in streams:
        dims = dict(dimensions)
        if c != compartment or namespace != body.get("namespace") or name != query["name"] or \
                any(dims.get(k) != v for k, v in wanted.items()):
            continue
        buckets: dict[int, list[float]] = {}
        for stamp, value in points:
            if start <= stamp <= end:
                buckets.setdefault(int(stamp.timestamp()) // seconds * seconds, []).append(value)
        if buckets:
            found.append(models.MetricData(
                namespace=namespace, compartment_id=c, name=name, dimensions=dims, metadata={},
                aggregated_datapoints=[models.AggregatedDatapoint(
                    timestamp=dt.datetime.fromtimestamp(b, dt.timezone.utc), value=float(stat(v)))
                    for b, v in sorted(buckets.items())]))
    return Reply(200, wire(found))


ROUTES = [
    Route("POST", f"{API}/metrics", "monitoring.post_metric_data", post_metric_data),
    Route("POST", f"{API}/metrics/actions/summarizeMetricsData", "monitoring.summarize_metrics_data",
          summarize_metrics_data),
]
CONTROL_ROUTES = []
