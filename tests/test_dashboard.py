"""deploy/grafana-dashboard.json queries only metrics that Coffer's processes export: after real
traffic, every name in every panel's expression is a sample of some process's /_/metrics."""
from __future__ import annotations

import json
import os
import re
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster import SECRET
from tests.compose import REPO

DASHBOARD = REPO / "deploy" / "grafana-dashboard.json"
_NAME = re.compile(r"\b((?:coffer|process)_[a-z0-9_]+)\b")


def queried_names(dashboard: dict) -> set[str]:
    return {name for panel in dashboard["panels"] for target in panel.get("targets", ())
            for name in _NAME.findall(target["expr"])}


def sample_names(port: int) -> set[str]:
    resp = httpx.get(f"http://127.0.0.1:{port}/_/metrics", headers={"Authorization": f"Bearer {SECRET}"})
    assert resp.status_code == 200
    return {s.name for family in text_string_to_metric_families(resp.text) for s in family.samples}


def test_the_dashboard_is_well_formed():
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24
        for target in panel.get("targets", ()):
            assert target["datasource"]["uid"] == "${datasource}" and target["expr"]
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]


def test_every_queried_metric_is_exported(fresh_cluster):
    c = fresh_cluster(env={"COFFER_GC_INTERVAL": "0.2"})
    s3 = c.client()
    s3.create_bucket(Bucket="dash")
    s3.put_object(Bucket="dash", Key="small", Body=b"x" * 1000)       # a gathered (syncfs) data file
    s3.put_object(Bucket="dash", Key="big", Body=os.urandom(300_000))  # a streamed (fsynced) one
    s3.get_object(Bucket="dash", Key="big")["Body"].read()
    s3.delete_object(Bucket="dash", Key="big")                         # garbage for a GC round
    time.sleep(1)
    exported = set().union(*(sample_names(port) for port in (c.s3_ports[0], c.md_port, c.data_port)))
    wanted = queried_names(json.loads(DASHBOARD.read_text()))
    assert len(wanted) >= 15
    assert wanted - exported == set()
