"""The command line's comforts: progress of fsck and gc --sweep (a terminal, a pipe), serve's start banner."""
from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import time

import orjson

from tests.cluster import NOT_INLINE, REPO_ROOT
from tests.serve import Serve


def coffer(c, *args: str, tty: bool = False) -> tuple[dict, str]:
    """Run `coffer <args>` against cluster `c`: its JSON report (stdout) and its stderr, on a pty if `tty`."""
    cmd = [sys.executable, "-m", "services.cli", *args]
    if not tty:
        proc = subprocess.run(cmd, env=c.env, cwd=REPO_ROOT, capture_output=True, timeout=60)
        assert proc.returncode == 0, proc.stderr.decode()
        return orjson.loads(proc.stdout), proc.stderr.decode()
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, env={**c.env, "COLUMNS": "120"}, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=slave)
    os.close(slave)
    out = proc.communicate(timeout=60)[0]
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:             # EIO: the other side is closed and everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")
    return orjson.loads(out), b"".join(chunks).decode(errors="replace")


def three_objects(c) -> None:
    s3 = c.client()
    s3.create_bucket(Bucket="progress")
    for i in range(3):
        s3.put_object(Bucket="progress", Key=f"k{i}", Body=b"x" * (i + 1))


def test_fsck_and_sweep_print_plain_progress_lines_off_a_terminal(fresh_cluster):
    c = fresh_cluster(env=NOT_INLINE)
    three_objects(c)
    report, err = coffer(c, "fsck")
    assert report["ok"] and report["pieces"] == 3
    lines = [line for line in err.splitlines() if line.startswith("fsck: ")]
    assert lines == ["fsck: pieces checked: 3 (done)", "fsck: data files: 3 (done)"]
    report, err = coffer(c, "gc", "--sweep", "--dry-run")
    assert report["referenced"] == 3 and report["scanned"] == 3 and report["orphans"] == 0
    assert [line for line in err.splitlines() if line.startswith("gc --sweep: ")] == [
        "gc --sweep: references: 3 (done)", "gc --sweep: data files: 3 (done)"]


def test_fsck_and_sweep_draw_progress_bars_on_a_terminal(fresh_cluster):
    c = fresh_cluster(env=NOT_INLINE)
    three_objects(c)
    report, err = coffer(c, "fsck", tty=True)
    assert report["pieces"] == 3
    assert "\r" in err                                  # redrawn in place, not line by line
    for phase in ("pieces checked", "data files"):
        assert re.search(rf"fsck: {phase}: 3 items \[\d\d:\d\d, .* items/s\]", err), err
    assert "(done)" not in err
    _, err = coffer(c, "gc", "--sweep", "--dry-run", tty=True)
    assert re.search(r"gc --sweep: data files: 3 items \[", err), err


def wait_banner(serve: Serve, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while "Coffer is ready." not in serve.logs():
        assert time.monotonic() < deadline, serve.logs()[-3000:]
        assert serve.proc.poll() is None, serve.logs()[-3000:]
        time.sleep(0.1)
    time.sleep(0.2)                     # the rest of the banner is written in the same call
    return serve.logs()


def test_serve_prints_its_endpoint_and_warns_about_the_default_credentials(tmp_path):
    serve = Serve(tmp_path / "serve", args=("--backend", "mem"))
    try:
        logs = wait_banner(serve)
        banner = logs[logs.index("Coffer is ready."):]
        assert f"S3 endpoint:   {serve.endpoint}" in banner
        assert "Access key:    accessKey1" in banner and "Secret key:    verySecretKey1" in banner
        assert "WARNING: these are the default credentials" in banner
        assert logs.count("Coffer is ready.") == 1
        serve.client().list_buckets()                   # what it printed works
    finally:
        assert serve.stop() == 0


def test_serve_names_configured_credentials_without_echoing_the_secret(tmp_path):
    serve = Serve(tmp_path / "serve", args=("--backend", "mem"),
                  extra_env={"COFFER_ACCESS_KEY_ID": "operatorKey", "COFFER_SECRET_ACCESS_KEY": "operatorSecret123"})
    try:
        logs = wait_banner(serve)
        assert "Access key:    operatorKey" in logs and "as configured (not shown)" in logs
        assert "operatorSecret123" not in logs
        assert "default credentials" not in logs
    finally:
        assert serve.stop() == 0
