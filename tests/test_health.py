"""The front-end's health endpoints on a real cluster: /_/health/live (the process) and /_/health/ready
(the metadata daemon connected and every data location healthy), as the daemons die and come back."""
from __future__ import annotations

import time

import httpx
import pytest

from shared import constants as C

pytestmark = pytest.mark.needs_disk     # kills and restarts the daemons


def get(c, path: str) -> httpx.Response:
    return httpx.get(f"{c.endpoint}{path}", timeout=10)


def wait_status(c, path: str, status: int, timeout: float = 30.0) -> httpx.Response:
    """The endpoint's answer once it is `status` (or the last one when it never became so)."""
    deadline = time.time() + timeout
    while True:
        resp = get(c, path)
        if resp.status_code == status or time.time() > deadline:
            return resp
        time.sleep(0.2)


def test_live_and_ready_follow_the_daemons(fresh_cluster):
    c = fresh_cluster()
    live, ready = get(c, C.HEALTH_LIVE_PATH), get(c, C.HEALTH_READY_PATH)
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "metadata": True, "data": {"us-east-1": {"ok": True}}}
    # Neither needs a signature, and neither is an S3 bucket named "_".
    assert "x-amz-request-id" not in ready.headers

    c.kill("metadata")
    down = wait_status(c, C.HEALTH_READY_PATH, 503)
    assert down.status_code == 503
    assert (down.json()["status"], down.json()["metadata"]) == ("not ready", False)
    assert get(c, C.HEALTH_LIVE_PATH).status_code == 200          # the process itself is fine
    c.start_metadata()
    assert wait_status(c, C.HEALTH_READY_PATH, 200).json()["metadata"] is True

    c.kill("data")
    down = wait_status(c, C.HEALTH_READY_PATH, 503)
    assert down.status_code == 503
    body = down.json()
    assert body["metadata"] is True and body["data"]["us-east-1"]["ok"] is False and body["data"]["us-east-1"]["detail"]
    assert get(c, C.HEALTH_LIVE_PATH).status_code == 200
    c.start_data()
    assert wait_status(c, C.HEALTH_READY_PATH, 200).status_code == 200
