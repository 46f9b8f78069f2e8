"""Real receivers for notification tests: a webhook receiver, and target servers from Debian packages.

Each server runs on a free loopback port in a temporary directory; `require(binary, package)`
skips the test with the package's name when the binary is not installed.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cluster import free_port, wait_port

def require(binary: str, package: str) -> str:
    """The binary's path, or skip naming the Debian package that provides it."""
    path = shutil.which(binary) or next((p for p in (f"/usr/sbin/{binary}", f"/usr/bin/{binary}")
                                          if Path(p).exists()), None)
    if path is None:
        pytest.skip(f"{binary} is not installed (Debian package {package})")
    return path


def queue_rule(arn: str, events: list[str], rule_id: str = "", prefix: str = "", suffix: str = "") -> dict:
    """One QueueConfiguration as boto3 takes it."""
    rule: dict = {"QueueArn": arn, "Events": events}
    if rule_id:
        rule["Id"] = rule_id
    filters = [{"Name": n, "Value": v} for n, v in (("prefix", prefix), ("suffix", suffix)) if v]
    if filters:
        rule["Filter"] = {"Key": {"FilterRules": filters}}
    return rule


def put_rules(s3, bucket: str, *rules: dict) -> None:
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": list(rules)})


class WebhookReceiver:
    """A webhook endpoint that records every body it is sent; `failing` makes it answer 503."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.failing = False
        self.hanging = threading.Event()     # set: requests wait for `release` before they are answered
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.hanging.is_set():
                    receiver.release.wait(60)
                if receiver.failing:
                    self.send_response(503)
                else:
                    with receiver.lock:
                        receiver.bodies.append(json.loads(body))
                        receiver.headers.append(dict(self.headers))
                    self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def records(self) -> list[dict]:
        with self.lock:
            return [r for b in self.bodies for r in b["Records"]]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class RedisServer:
    """redis-server on a free port, in its own directory, no persistence."""

    def __init__(self, root: Path) -> None:
        binary = require("redis-server", "redis-server")
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", str(root)]
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(self.args, stdout=open(self.root / "redis.log", "ab"), stderr=subprocess.STDOUT)
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self):
        import redis      # noqa: PLC0415 - only the Redis tests need the library
        return redis.Redis(host="127.0.0.1", port=self.port)


def wait_for(predicate, timeout: float = 30.0, what: str = "the events"):
    """Poll until `predicate()` is truthy (a bounded wait for liveness, not a timing assertion)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class MariaDbServer:
    """mariadbd on a free port in its own data directory, without grant tables (any user gets in)."""

    def __init__(self, root: Path) -> None:
        install = require("mariadb-install-db", "mariadb-server")
        self.binary = require("mariadbd", "mariadb-server")
        self.root, self.port = root, free_port()
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run([install, "--no-defaults", f"--datadir={root / 'data'}", "--auth-root-authentication-method=normal",
                        "--skip-test-db", "--user=root"], check=True, capture_output=True, timeout=120)
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        args = [self.binary, "--no-defaults", f"--datadir={self.root / 'data'}", f"--port={self.port}",
                "--bind-address=127.0.0.1", f"--socket={self.root / 'sock'}", "--user=root", "--skip-grant-tables",
                "--skip-log-bin", "--innodb-buffer-pool-size=16M", f"--pid-file={self.root / 'pid'}"]
        self.proc = subprocess.Popen(args, stdout=open(self.root / "server.log", "ab"), stderr=subprocess.STDOUT)
        wait_port(self.port, 60)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.proc = None

    def query(self, sql: str, database: str = "") -> list[tuple]:
        import pymysql     # noqa: PLC0415 - aiomysql's own dependency, used synchronously by the tests
        conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="", database=database or None,
                               autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        finally:
            conn.close()


class BrokerServer:
    """A broker binary on a free loopback port in its own directory: mosquitto or nats-server."""

    def __init__(self, root: Path, binary: str, package: str, args) -> None:
        self.binary = require(binary, package)
        self.root, self.port = root, free_port()
        root.mkdir(parents=True, exist_ok=True)
        self.args = [self.binary, *args(self)]
        self.proc = subprocess.Popen(self.args, stdout=open(root / "broker.log", "ab"), stderr=subprocess.STDOUT)
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def mosquitto(root: Path) -> BrokerServer:
    def args(server: BrokerServer) -> list[str]:
        conf = server.root / "mosquitto.conf"
        conf.write_text(f"listener {server.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        return ["-c", str(conf)]
    return BrokerServer(root, "mosquitto", "mosquitto", args)


def nats_server(root: Path) -> BrokerServer:
    return BrokerServer(root, "nats-server", "nats-server",
                        lambda s: ["-a", "127.0.0.1", "-p", str(s.port), "-js", "-sd", str(s.root / "js")])


class MqttSubscriber:
    """Every message of a topic, as paho-mqtt (aiomqtt's own dependency) receives it."""

    def __init__(self, port: int, topic: str) -> None:
        import paho.mqtt.client as mqtt     # noqa: PLC0415 - only the MQTT tests need it
        self.messages: list[dict] = []
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *a: (c.subscribe(topic, qos=1), None)
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = lambda c, u, msg: self.messages.append(json.loads(msg.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.ready.wait(20), "the MQTT subscription was never acknowledged"

    def records(self) -> list[dict]:
        return [r for m in list(self.messages) for r in m["Records"]]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class NatsSubscriber:
    """Every message of a subject (nats-py on an event loop of its own thread)."""

    def __init__(self, port: int, subject: str) -> None:
        import asyncio      # noqa: PLC0415
        import nats         # noqa: PLC0415 - only the NATS tests need it
        self.messages: list[dict] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def subscribe():
            self.nc = await nats.connect(f"nats://127.0.0.1:{port}")

            async def on_message(msg):
                self.messages.append(json.loads(msg.data))
            await self.nc.subscribe(subject, cb=on_message)
            await self.nc.flush()
        asyncio.run_coroutine_threadsafe(subscribe(), self.loop).result(20)

    def records(self) -> list[dict]:
        return [r for m in list(self.messages) for r in m["Records"]]

    def close(self) -> None:
        import asyncio      # noqa: PLC0415
        asyncio.run_coroutine_threadsafe(self.nc.close(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class RabbitMqServer:
    """rabbitmq-server (it runs as the package's `rabbitmq` user) on free ports, its own epmd and directory."""

    def __init__(self) -> None:
        binary = require("rabbitmq-server", "rabbitmq-server")
        import tempfile     # noqa: PLC0415 - not under tmp_path: the rabbitmq user cannot cross its 0700 parents
        self.root = Path(tempfile.mkdtemp(prefix="coffer-rmq-"))
        self.root.chmod(0o755)
        if shutil.which("chown"):
            subprocess.run(["chown", "rabbitmq", str(self.root)], check=False)
        self.port, self.epmd = free_port(), free_port()
        env = {"HOME": str(self.root), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ERL_EPMD_PORT": str(self.epmd),
               "RABBITMQ_NODENAME": f"coffer{self.port}@localhost", "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
               "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(free_port()),
               "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"), "RABBITMQ_LOG_BASE": str(self.root / "log"),
               "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "plugins"),
               "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq")}
        self.proc = subprocess.Popen([binary], env=env, cwd=self.root, stdout=open(self.root / "out.log", "ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_port(self.port, 120)
        except TimeoutError:
            self.stop()
            pytest.skip("rabbitmq-server did not start within 120 s")

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def stop(self) -> None:
        """The broker and the epmd it started: su and `epmd -daemon` leave the process group, so they are
        found by the environment they inherited from us (our ports), and nothing else is touched."""
        import os           # noqa: PLC0415
        import signal       # noqa: PLC0415
        marks = (f"RABBITMQ_NODE_PORT={self.port}".encode(), f"ERL_EPMD_PORT={self.epmd}".encode())
        for _ in range(2):
            for pid in self._own(marks):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            time.sleep(2)
        for pid in self._own(marks):
            os.kill(pid, signal.SIGKILL)
        self.proc.wait(30)
        shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def _own(marks: tuple[bytes, ...]) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                env = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(mark in env for mark in marks):
                found.append(int(entry.name))
        return found
