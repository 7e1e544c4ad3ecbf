"""certmgr's figures as OCI Monitoring custom metrics (namespace `certmgr`), for Alarms.

The renewer posts `days_to_expiry` and `renewal_success` (1 or 0) per deployment; the monitor posts
`days_to_expiry` per certificate. Within PostMetricData's documented limits (Monitoring API reference,
PostMetricData and MetricDataDetails): at most 50 metric streams per call, 1 to 20 dimensions per stream,
datapoints at most 2 hours old and 10 minutes ahead, a custom namespace that does not begin with `oci_` or
`oracle_`. The call goes to the ingestion endpoint, `telemetry-ingestion.<region>` (the SDK's client defaults
to `telemetry.<region>`, which answers queries). Posting needs `use metrics` in the compartment, which the
policy scopes with `target.metrics.namespace` (Monitoring policy reference).

A metric that cannot be posted is a warning of the run, never its failure: the certificate work is done.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import oci

from ..errors import oci_reason

NAMESPACE = "certmgr"
STREAMS_PER_CALL = 50
DIMENSION_VALUE_LIMIT = 512  # characters (MetricDataDetails.dimensions)


@dataclass(frozen=True)
class Figure:
    """One datapoint of one stream: the metric's name, its value, and the dimensions naming the stream."""

    name: str
    value: float
    dimensions: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, metric: str, value: float, **dimensions: str | None) -> "Figure":
        return cls(metric, float(value), tuple((k, v[:DIMENSION_VALUE_LIMIT]) for k, v in dimensions.items() if v))


def post(client, compartment_id: str, figures: list[Figure], at: dt.datetime) -> list[str]:
    """Post `figures` as datapoints at `at`, 50 streams per call; returns warnings (what was not posted)."""
    models = oci.monitoring.models
    problems, posted = [], 0
    for start in range(0, len(figures), STREAMS_PER_CALL):
        batch = [models.MetricDataDetails(
            namespace=NAMESPACE, compartment_id=compartment_id, name=f.name, dimensions=dict(f.dimensions),
            datapoints=[models.Datapoint(timestamp=at, value=f.value)])
            for f in figures[start:start + STREAMS_PER_CALL]]
        try:
            failed = client.post_metric_data(models.PostMetricDataDetails(metric_data=batch)).data
        except (oci.exceptions.ServiceError, oci.exceptions.RequestException, oci.exceptions.ConnectTimeout) as exc:
            reason = oci_reason(exc) if isinstance(exc, oci.exceptions.ServiceError) else f"{type(exc).__name__}: {exc}"
            problems.append(f"metrics: {len(figures) - posted} of {len(figures)} not posted to namespace "
                            f"{NAMESPACE} ({reason}); the function needs 'use metrics' in compartment "
                            f"{compartment_id} where target.metrics.namespace = '{NAMESPACE}'")
            return problems
        posted += len(batch)
        for refused in failed.failed_metrics or ():
            problems.append(f"metrics: {refused.metric_data.name} refused: {refused.message}")
    return problems
