"""`coffer serve` supervises its children: a killed child comes back, the store recovers, stops stop all."""
from __future__ import annotations

import hashlib
import os
import random
import signal
import threading
import time

import orjson
import pytest
from botocore.exceptions import BotoCoreError, ClientError

from services.serve import restart_delay
from tests.serve import Serve, gone

BUCKET = "supervised"
LIVENESS_S = 10.0           # a generous bound; the figure itself is printed, not asserted tightly


class TimedLoad:
    """A few clients that PUT fresh keys and GET acknowledged ones, timing every request."""

    def __init__(self, serve: Serve, clients: int = 4) -> None:
        self.serve = serve
        self.acked: dict[str, str] = {}
        self.corrupt: list[str] = []
        self.records: list[tuple[float, float, bool]] = []      # (started, ended, succeeded)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(clients)]

    def __enter__(self) -> "TimedLoad":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def _run(self, cid: int) -> None:
        s3 = self.serve.client(connect_timeout=1, read_timeout=15)
        rng = random.Random(cid)
        n = 0
        while not self._stop.is_set():
            started, ok = time.monotonic(), False
            try:
                if self.acked and rng.random() < 0.4:
                    key = rng.choice(list(self.acked))
                    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
                    if hashlib.sha256(body).hexdigest() != self.acked[key]:
                        self.corrupt.append(key)
                else:
                    key, n = f"c{cid}/{n}", n + 1
                    body = os.urandom(rng.choice([100, 4096, 70 * 1024]))    # the small batch and the large path
                    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
                    with self._lock:
                        self.acked[key] = hashlib.sha256(body).hexdigest()
                ok = True
            except (ClientError, BotoCoreError):
                pass
            with self._lock:
                self.records.append((started, time.monotonic(), ok))
            if not ok:
                time.sleep(0.02)

    def first_success_after(self, t: float) -> float | None:
        """When the first request started after `t` succeeded."""
        with self._lock:
            ends = [end for start, end, ok in self.records if ok and start >= t]
        return min(ends) if ends else None

    def wait_recovery(self, t: float, timeout: float = 30.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            first = self.first_success_after(t)
            if first is not None:
                return first - t
            time.sleep(0.02)
        raise TimeoutError("no request succeeded after the kill")

    def wait_acks(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.acked) >= count, "the load never got going"


@pytest.fixture
def serve(tmp_path):
    s = Serve(tmp_path / "serve")
    try:
        s.wait_healthy()
        s.client().create_bucket(Bucket=BUCKET)
        yield s
    finally:
        s.stop()


def _serve_lines(serve: Serve, msg: str) -> list[dict]:
    """The supervisor's own JSON log lines with this message."""
    lines = []
    for line in serve.logs().splitlines():
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(doc, dict) and doc.get("service") == "serve" and doc.get("msg") == msg:
            lines.append(doc)
    return lines


def _restarts(serve: Serve) -> list[dict]:
    return _serve_lines(serve, "child exited unexpectedly; restarting it")


def _kill(pid: int) -> float:
    t = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    return t


def _check_everything_acked_reads_back(serve: Serve, load: TimedLoad) -> None:
    assert load.corrupt == []
    s3 = serve.client(retries={"max_attempts": 10, "mode": "standard"})
    for key, digest in load.acked.items():
        assert hashlib.sha256(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).hexdigest() == digest, key


@pytest.mark.parametrize("role,other", [("dmd", "s3server"), ("s3server", "dmd")])
def test_kill_9_of_a_child_under_load_restarts_it_and_the_store_recovers(serve, role, other):
    before = serve.children()
    with TimedLoad(serve) as load:
        load.wait_acks(30)
        killed_at = _kill(before[role])
        first_pid = serve.wait_new_child(role, before[role])
        recovery = load.wait_recovery(killed_at)
        print(f"\nrecovery after kill -9 of the {role} child: {recovery:.2f} s (kill to first 200)")
        assert recovery < LIVENESS_S
        assert serve.children()[other] == before[other], f"the {other} child was restarted too"

        # Killed again before it has run for long: the restart waits (backoff), and still recovers.
        load.wait_acks(len(load.acked) + 10)
        killed_at = _kill(first_pid)
        serve.wait_new_child(role, first_pid)
        again = load.wait_recovery(killed_at)
        print(f"recovery after a second kill -9 of the {role} child (0.5 s backoff): {again:.2f} s")
        assert again < LIVENESS_S
        load.wait_acks(len(load.acked) + 10)
    assert serve.children()[other] == before[other]
    first, second = _restarts(serve)
    assert first["child"] == second["child"] == role
    assert first["signal"] == second["signal"] == "SIGKILL" and first["exitCode"] is None
    assert (first["restarts"], first["delaySeconds"]) == (1, 0.0)
    assert (second["restarts"], second["delaySeconds"]) == (2, 0.5)
    _check_everything_acked_reads_back(serve, load)


def test_the_restart_delay_backs_off_and_is_capped():
    assert [restart_delay(n) for n in range(9)] == [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_sigterm_stops_every_child(serve):
    pids = list(serve.children().values())
    assert len(pids) == 2
    assert serve.stop(signal.SIGTERM) == 0
    assert gone(pids), "a child outlived coffer serve"


def test_ctrl_c_stops_every_child(serve):
    pids = list(serve.children().values())
    os.killpg(serve.proc.pid, signal.SIGINT)        # what a terminal sends: serve's whole process group
    assert serve.proc.wait(30) == 0
    assert gone(pids), "a child outlived coffer serve"


def test_a_stop_during_a_restart_leaves_no_orphan(serve):
    before = serve.children()
    os.kill(before["dmd"], signal.SIGKILL)
    restarting = serve.wait_new_child("dmd", before["dmd"])      # just spawned, still starting up
    assert serve.stop(signal.SIGTERM) == 0
    assert gone([restarting, before["s3server"]]), "a child outlived coffer serve"


def test_a_stop_during_a_restart_delay_starts_nothing(serve):
    first = serve.children()["dmd"]
    os.kill(first, signal.SIGKILL)
    second = serve.wait_new_child("dmd", first)
    os.kill(second, signal.SIGKILL)             # dies again at once: its restart now waits 0.5 s
    deadline = time.monotonic() + 10
    while len(_restarts(serve)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    s3server = serve.children()["s3server"]
    assert serve.stop(signal.SIGTERM) == 0
    assert gone([s3server])
    started = [line for line in _serve_lines(serve, "child started") if line["child"] == "dmd"]
    assert len(started) == 2, "a restart ran after the stop"


def test_kill_9_of_serve_takes_its_children_along(serve):
    pids = list(serve.children().values())
    serve.proc.kill()
    serve.proc.wait(10)
    assert gone(pids), "the children outlived a killed coffer serve"
