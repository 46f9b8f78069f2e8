"""Prometheus metrics: the families every process may export, and `/_/metrics` to read them.

Every metric name is declared here, once. A family is registered when a process first asks for
it, so a process exports only what it measures (the data daemon has no S3 request counters).
Recorders bind their label children up front or cache them on first use: the hot path does one
dictionary lookup and one increment, never builds a label dict. With COFFER_METRICS=0
(`configure(False)`) every recorder is a no-op and `/_/metrics` answers 404.

Who may read `/_/metrics`, on every process alike: holders of the cluster secret
(`Authorization: Bearer <secret>`), or anyone with COFFER_METRICS_PUBLIC=1.
"""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, generate_latest

from shared import constants as C
from shared.security import secret_matches

_enabled = True
# The text format every Prometheus reads (our names need none of 1.0.0's escaping, so the body is the same).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_families: dict[str, Any] = {}

# name: (kind, help, labels, extra keyword arguments)
FAMILIES: dict[str, tuple[type, str, tuple[str, ...], dict[str, Any]]] = {
    # S3 front-end (s3front/metrics.py)
    "coffer_s3_requests_total": (Counter, "S3 requests answered, by operation and HTTP status",
                                 ("operation", "status"), {}),
    "coffer_s3_request_duration_seconds": (Histogram, "Time from a request's head to the end of its answer",
                                           ("operation",), {"buckets": C.METRICS_LATENCY_BUCKETS}),
    "coffer_s3_received_bytes_total": (Counter, "Request body bytes read, as sent (framing included)",
                                       ("operation",), {}),
    "coffer_s3_sent_bytes_total": (Counter, "Response body bytes sent", ("operation",), {}),
    "coffer_gc_backlog_entries": (Gauge, "Deferred deletions found due by the last GC round", (), {}),
    "coffer_gc_deleted_total": (Counter, "Deferred deletions finished by GC rounds", (), {}),
    "coffer_gc_failed_total": (Counter, "Deferred deletions a GC round could not finish (left for the next)",
                               (), {}),
    # metadata RPC, client side (shared/metadata_client.py)
    "coffer_rpc_calls_total": (Counter, "Metadata RPC calls by method and outcome (ok, error, unavailable)",
                               ("method", "outcome"), {}),
    "coffer_rpc_call_duration_seconds": (Histogram, "Metadata RPC call latency seen by the caller",
                                         ("method",), {"buckets": C.METRICS_LATENCY_BUCKETS}),
    "coffer_bucket_cache_total": (Counter, "Bucket attribute cache lookups (hit, miss) and invalidations",
                                  ("event",), {}),
    # metadata daemon (dmd/metadata)
    "coffer_metadata_batch_writes": (Histogram, "Writes gathered into one synced engine batch", (),
                                     {"buckets": C.METRICS_BATCH_BUCKETS}),
    "coffer_metadata_commit_seconds": (Histogram, "Time to apply and sync one gathered batch", (),
                                       {"buckets": C.METRICS_LATENCY_BUCKETS}),
    "coffer_metadata_commit_failures_total": (Counter, "Gathered batches whose commit failed", (), {}),
    "coffer_metadata_connected_clients": (Gauge, "RPC clients connected (front-ends, gc and fsck runs)", (), {}),
    # data daemon (dmd/data)
    "coffer_data_file_operations_total": (Counter, "Data file operations by kind and result",
                                          ("operation", "result"), {}),
    "coffer_data_sync_seconds": (Histogram, "Time in fsync (a file and its directory) or syncfs (a batch)",
                                 ("call",), {"buckets": C.METRICS_LATENCY_BUCKETS}),
    "coffer_data_batch_files": (Histogram, "Small data files made durable by one syncfs batch", (),
                                {"buckets": C.METRICS_BATCH_BUCKETS}),
}


def configure(enabled: bool) -> None:
    """Turn metrics on or off for this process; before anything asks for a family."""
    global _enabled
    _enabled = enabled


def enabled() -> bool:
    return _enabled


def family(name: str) -> Any:
    """The metric `name` (declared in FAMILIES), registered on first use; None when metrics are off."""
    if not _enabled:
        return None
    metric = _families.get(name)
    if metric is None:
        kind, doc, labels, extra = FAMILIES[name]
        # prometheus_client adds _total to counters itself.
        metric = _families[name] = kind(name.removesuffix("_total") if kind is Counter else name, doc, labels,
                                        **extra)
    return metric


class Timer:
    """Observes the seconds a `with` block took into a histogram (child); nothing when it is None."""

    __slots__ = ("histogram", "started")

    def __init__(self, histogram: Any) -> None:
        self.histogram = histogram

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        if self.histogram is not None:
            self.histogram.observe(time.perf_counter() - self.started)


class RpcMetrics:
    """Metadata RPC calls as their caller sees them, and the bucket attribute cache in front of them."""

    def __init__(self) -> None:
        self._calls, self._latency = family("coffer_rpc_calls_total"), family("coffer_rpc_call_duration_seconds")
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}
        cache = family("coffer_bucket_cache_total")
        self._hit, self._miss, self._invalidation = (
            (cache.labels("hit"), cache.labels("miss"), cache.labels("invalidation")) if cache else (None,) * 3)

    def call(self, method: str, outcome: str, seconds: float) -> None:
        """One call ended: `outcome` ok, error (the daemon refused it) or no_reply (lost, timed out, unsent)."""
        if self._calls is None:
            return
        children = self._children.get((method, outcome))
        if children is None:
            children = self._children[(method, outcome)] = (self._calls.labels(method, outcome),
                                                             self._latency.labels(method))
        children[0].inc()
        children[1].observe(seconds)

    def cache(self, hit: bool) -> None:
        if self._hit is not None:
            (self._hit if hit else self._miss).inc()

    def invalidated(self) -> None:
        if self._invalidation is not None:
            self._invalidation.inc()


def scrape_allowed(authorization: str, secret: str, public: bool) -> int:
    """200 when this Authorization header may read the metrics, else 401 (none given) or 403 (wrong)."""
    if public:
        return 200
    if not authorization:
        return 401
    ok = authorization.startswith("Bearer ") and secret_matches(authorization[len("Bearer "):], secret)
    return 200 if ok else 403


def render() -> tuple[bytes, str]:
    """The exposition text of every registered family (and the process collectors)."""
    return generate_latest(REGISTRY), CONTENT_TYPE


Send = Callable[[dict], Awaitable[None]]
_REFUSALS = {401: b"the cluster secret is missing: Authorization: Bearer <secret>\n",
             403: b"the cluster secret is wrong\n",
             404: b"metrics are off (COFFER_METRICS=0)\n",
             405: b"GET /_/metrics\n"}


async def serve(scope: dict, send: Send, secret: str, public: bool) -> None:
    """Answer a GET of /_/metrics as ASGI (every process's port does it this way)."""
    auth = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"authorization"), "")
    if not _enabled:
        status = 404
    elif scope["method"] not in ("GET", "HEAD"):
        status = 405
    else:
        status = scrape_allowed(auth, secret, public)
    if status == 200:
        body, ctype = render()
    else:
        body, ctype = _REFUSALS[status], "text/plain; charset=utf-8"
    headers = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="coffer-metrics"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body if scope["method"] != "HEAD" else b""})
