"""Prometheus metrics at /_/metrics on every process: scraped after real traffic, parsed with prometheus_client."""
from __future__ import annotations

import os
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster import BACKEND, NOT_INLINE, SECRET, Cluster

BEARER = {"Authorization": f"Bearer {SECRET}"}
SMALL, BIG = 1000, 300_000          # a gathered small data file, and a streamed (fsynced) one


@pytest.fixture(scope="module")
def metered(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("metrics"), env={"COFFER_GC_INTERVAL": "0.2", **NOT_INLINE}).start()
    yield c
    c.stop()


def ports(c: Cluster) -> dict[str, int]:
    return {"s3": c.s3_ports[0], "metadata": c.md_port, "data": c.data_port}


def scrape(port: int, headers: dict | None = None) -> dict[tuple[str, tuple], float]:
    """Every sample of a process's /_/metrics, by (name, sorted labels)."""
    resp = httpx.get(f"http://127.0.0.1:{port}/_/metrics", headers=BEARER if headers is None else headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(resp.text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_front_end_counts_requests_latency_and_bytes(metered):
    s3 = metered.client()
    s3.create_bucket(Bucket="metered")
    before = scrape(metered.s3_ports[0])
    for i in range(3):
        s3.put_object(Bucket="metered", Key=f"k{i}", Body=os.urandom(SMALL))
    assert len(s3.get_object(Bucket="metered", Key="k0")["Body"].read()) == SMALL
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket="metered", Key="missing")
    after = scrape(metered.s3_ports[0])

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("coffer_s3_requests_total", operation="PutObject", status="200") == 3
    assert moved("coffer_s3_requests_total", operation="GetObject", status="200") == 1
    assert moved("coffer_s3_requests_total", operation="HeadObject", status="404") == 1
    assert moved("coffer_s3_request_duration_seconds_count", operation="PutObject") == 3
    assert moved("coffer_s3_request_duration_seconds_sum", operation="PutObject") > 0
    assert moved("coffer_s3_received_bytes_total", operation="PutObject") >= 3 * SMALL    # framing may add some
    assert moved("coffer_s3_sent_bytes_total", operation="GetObject") == SMALL
    # Its calls to the metadata daemon, by method, and the bucket cache in front of them.
    assert moved("coffer_rpc_calls_total", method="putObject", outcome="ok") == 3
    assert moved("coffer_rpc_call_duration_seconds_count", method="putObject") == 3
    assert moved("coffer_bucket_cache_total", event="hit") >= 1        # the bucket was read before: kept


def test_the_front_end_reports_its_gc_rounds(metered):
    deadline = time.monotonic() + 10
    while ("coffer_gc_backlog_entries", ()) not in scrape(metered.s3_ports[0]):
        assert time.monotonic() < deadline, "no GC round was reported"
        time.sleep(0.2)
    samples = scrape(metered.s3_ports[0])
    assert value(samples, "coffer_gc_backlog_entries") == 0        # nothing was left to the rounds
    assert ("coffer_gc_deleted_total", ()) in samples


def test_the_metadata_daemon_reports_batches_and_clients(metered):
    s3 = metered.client()
    s3.create_bucket(Bucket="metered-md")
    before = scrape(metered.md_port)
    for i in range(4):
        s3.put_object(Bucket="metered-md", Key=f"k{i}", Body=b"x")
    after = scrape(metered.md_port)
    batches = value(after, "coffer_metadata_batch_writes_count") - value(before, "coffer_metadata_batch_writes_count")
    writes = value(after, "coffer_metadata_batch_writes_sum") - value(before, "coffer_metadata_batch_writes_sum")
    assert 1 <= batches <= 4 and writes == 4      # four puts, one write each, in one to four batches
    assert value(after, "coffer_metadata_commit_seconds_count") > value(before, "coffer_metadata_commit_seconds_count")
    assert value(after, "coffer_metadata_connected_clients") >= 1  # the front-end
    assert value(after, "process_resident_memory_bytes") > 0       # the process collectors come along


def test_the_data_daemon_reports_file_operations_and_syncs(metered):
    s3 = metered.client()
    s3.create_bucket(Bucket="metered-data")
    before = scrape(metered.data_port)
    s3.put_object(Bucket="metered-data", Key="small", Body=os.urandom(SMALL))
    s3.put_object(Bucket="metered-data", Key="big", Body=os.urandom(BIG))
    assert len(s3.get_object(Bucket="metered-data", Key="big")["Body"].read()) == BIG
    s3.delete_object(Bucket="metered-data", Key="small")
    after = scrape(metered.data_port)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("coffer_data_file_operations_total", operation="write", result="ok") == 2
    assert moved("coffer_data_file_operations_total", operation="read", result="ok") == 1
    if BACKEND == "file":           # nothing is synced in memory
        assert moved("coffer_data_sync_seconds_count", call="fsync") == 1                 # the big file
        assert moved("coffer_data_batch_files_sum") + moved("coffer_data_sync_seconds_count", call="fsync") >= 2


@pytest.mark.parametrize("process", ["s3", "metadata", "data"])
def test_reading_the_metrics_takes_the_cluster_secret(metered, process):
    url = f"http://127.0.0.1:{ports(metered)[process]}/_/metrics"
    missing = httpx.get(url)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert httpx.post(url, headers=BEARER).status_code == 405
    assert scrape(ports(metered)[process])          # and it parses


def test_metrics_public_and_metrics_off(fresh_cluster):
    public = fresh_cluster(env={"COFFER_METRICS_PUBLIC": "1"})
    for port in ports(public).values():
        assert scrape(port, headers={})
    off = fresh_cluster(env={"COFFER_METRICS": "0"})
    s3 = off.client()
    s3.create_bucket(Bucket="unmetered")
    s3.put_object(Bucket="unmetered", Key="k", Body=b"still works")
    for port in ports(off).values():
        resp = httpx.get(f"http://127.0.0.1:{port}/_/metrics", headers=BEARER)
        assert resp.status_code == 404 and "COFFER_METRICS=0" in resp.text
