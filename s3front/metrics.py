"""The front-end's S3 request metrics: one call per request, on label children bound at start."""
from __future__ import annotations

from typing import Any

from s3front.routing import operation_names
from shared import metrics

UNRESOLVED = "unknown"          # a request refused before an operation was resolved (a bad path, a bad method)


class S3Metrics:
    """Requests by operation and status, latency and bytes by operation."""

    def __init__(self) -> None:
        self._requests = metrics.family("coffer_s3_requests_total")
        latency = metrics.family("coffer_s3_request_duration_seconds")
        received = metrics.family("coffer_s3_received_bytes_total")
        sent = metrics.family("coffer_s3_sent_bytes_total")
        # Bound once: per request, a tuple from a dict and no label dict built.
        self._by_op: dict[str, tuple[Any, Any, Any]] = {
            op: (latency.labels(op), received.labels(op), sent.labels(op))
            for op in [*operation_names(), UNRESOLVED]}
        self._by_status: dict[tuple[str, int], Any] = {}

    def request(self, operation: str | None, status: int, seconds: float, received: int, sent: int) -> None:
        op = operation or UNRESOLVED
        latency, received_bytes, sent_bytes = self._by_op[op]
        latency.observe(seconds)
        if received:
            received_bytes.inc(received)
        if sent:
            sent_bytes.inc(sent)
        key = (op, status)
        counter = self._by_status.get(key)
        if counter is None:
            counter = self._by_status[key] = self._requests.labels(op, str(status))
        counter.inc()


class NoMetrics:
    """COFFER_METRICS=0: nothing is counted."""

    def request(self, operation: str | None, status: int, seconds: float, received: int, sent: int) -> None:
        pass


def s3_metrics() -> S3Metrics | NoMetrics:
    return S3Metrics() if metrics.enabled() else NoMetrics()


class GcMetrics:
    """What the periodic GC rounds of this front-end found and did."""

    def __init__(self) -> None:
        self._backlog = metrics.family("coffer_gc_backlog_entries")
        self._deleted = metrics.family("coffer_gc_deleted_total")
        self._failed = metrics.family("coffer_gc_failed_total")

    def round(self, report: Any) -> None:
        """After a round: `report` is its GcReport."""
        if self._backlog is None:
            return
        self._backlog.set(report.entries)
        self._deleted.inc(report.deleted)
        self._failed.inc(report.failed)
