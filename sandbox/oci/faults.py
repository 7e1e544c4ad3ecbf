"""Fault injection per operation: errors at a rate, a fixed number of times, or added latency."""
from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass, field

from . import errors


@dataclass
class Fault:
    operation: str                 # glob over operation names: "dns.patch_zone_records", "lb.*", "*"
    path: str = "*"                # glob over the request path, to fault one resource: "*/secrets/<id>"
    region: str = "*"              # glob over the region the call is made in
    status: int | None = None      # error status to answer with; None = latency only
    rate: float = 1.0              # share of matching calls that fail
    count: int | None = None       # fail at most this many times (None: until cleared)
    skip: int = 0                  # let this many matching calls through untouched first
    retry_after: int | None = None  # seconds, sent as Retry-After (429/503)
    latency: float = 0.0           # seconds added before answering
    message: str = "Injected fault"
    hits: int = 0

    @classmethod
    def from_json(cls, data: dict) -> "Fault":
        return cls(operation=data.get("operation", "*"), path=data.get("path", "*"),
                   region=data.get("region", "*"), status=data.get("status"),
                   rate=float(data.get("rate", 1.0)), count=data.get("count"), skip=int(data.get("skip", 0)),
                   retry_after=data.get("retryAfter"), latency=float(data.get("latency", 0.0)),
                   message=data.get("message", "Injected fault"))

    def to_json(self) -> dict:
        return {"operation": self.operation, "path": self.path, "region": self.region, "status": self.status,
                "rate": self.rate, "count": self.count, "skip": self.skip,
                "retryAfter": self.retry_after, "latency": self.latency, "hits": self.hits}


@dataclass
class Faults:
    items: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(default_factory=lambda: random.Random(7))

    def add(self, fault: Fault) -> None:
        with self._lock:
            self.items.append(fault)

    def clear(self) -> None:
        with self._lock:
            self.items.clear()

    def check(self, operation: str, path: str = "/", region: str = "") -> tuple[float, errors.OciError | None]:
        """Latency to add and the error to answer with (if any) for one call of `operation` on `path` in
        `region`."""
        latency, error = 0.0, None
        with self._lock:
            for fault in self.items:
                if not (fnmatch.fnmatchcase(operation, fault.operation) and fnmatch.fnmatchcase(path, fault.path)
                        and fnmatch.fnmatchcase(region, fault.region)):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                latency += fault.latency
                if error or fault.status is None:
                    continue
                if fault.count is not None and fault.hits >= fault.count:
                    continue
                if fault.rate < 1.0 and self._random.random() >= fault.rate:
                    continue
                fault.hits += 1
                cls = errors.BY_STATUS.get(fault.status, errors.InternalServerError)
                headers = {"retry-after": str(fault.retry_after)} if fault.retry_after is not None else {}
                error = cls(fault.message, headers)
                error.status = fault.status
        return latency, error
