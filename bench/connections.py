"""`python bench/connections.py [--count 10000] [--quick]`: idle keep-alive connections (issue 21).

Starts `coffer serve` (server on core 0, load on core 1), then: 4 KiB GETs at c=16 with wrk
(the baseline); opens `--count` keep-alive connections to the one front-end, each of which asks
for /_/health once and then sits idle; measures the front-end's RSS before and after; runs the
same GETs again while they are held; and checks that the idle connections are still open and
still served. Prints a table and writes bench/results/connections.json. --quick: 1,000
connections and 5 s steps. Never run by the tests.
"""
from __future__ import annotations

import asyncio
import os
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (Server, Wrk, ensure_debian, pinned_server, rss_mib,  # noqa: E402
                           size_and_seconds, wrk_step, write_results)

HEALTH = b"GET /_/health HTTP/1.1\r\nHost: bench\r\n\r\n"
OPEN_AT_ONCE = 200              # connections being opened concurrently (the listen backlog is 2048)


def raise_fd_limit(needed: int) -> None:
    """This process and what it starts (the server) may hold `needed` descriptors, if the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, needed)) if hard != resource.RLIM_INFINITY else max(soft, needed)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < needed:
        raise SystemExit(f"bench/connections.py: {needed} descriptors needed, the hard limit is {hard}")


class IdleConnections:
    """Keep-alive connections held open by an event loop in a thread of this process."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def _one(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        await _ask(reader, writer)
        self.streams.append((reader, writer))

    async def open(self, count: int) -> None:
        for start in range(0, count, OPEN_AT_ONCE):
            await asyncio.gather(*(self._one() for _ in range(min(OPEN_AT_ONCE, count - start))))

    async def still_served(self, sample: int) -> int:
        """How many of the first `sample` idle connections answer one more request."""
        async def probe(reader, writer) -> bool:
            try:
                await asyncio.wait_for(_ask(reader, writer), 10)
                return True
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
                return False
        return sum(await asyncio.gather(*(probe(r, w) for r, w in self.streams[:sample])))

    async def close(self) -> None:
        for _, writer in self.streams:
            writer.close()


async def _ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One /_/health request on a kept-alive connection, its answer read whole."""
    writer.write(HEALTH)
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise ValueError(head[:40])
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    await reader.readexactly(length)


def connections_phase(server: Server, s3, bucket: str, count: int, seconds: int) -> dict:
    """The GET baseline, the RSS of `count` idle connections, the GETs again beside them."""
    keys = [f"conn/{i:03d}" for i in range(200)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(4096))
    paths = ["/" + s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": k}, ExpiresIn=3600)
             .split("/", 3)[3] for k in keys]
    Wrk(server.endpoint, paths, "GET", 16, 2, core=1).result()         # warm-up
    alone = wrk_step(server, paths, "GET", seconds)
    frontend = server.pids()["s3server"]
    rss_before = rss_mib(frontend)
    idle = IdleConnections(server.port)
    started = time.perf_counter()
    idle.run(idle.open(count))
    opened_s = time.perf_counter() - started
    time.sleep(1)
    rss_after = rss_mib(frontend)
    beside = wrk_step(server, paths, "GET", seconds)
    served = idle.run(idle.still_served(min(count, 500)))
    idle.run(idle.close())
    return {"connections": count, "open_seconds": round(opened_s, 2),
            "frontend_rss_mib": {"before": round(rss_before, 1), "with_idle": round(rss_after, 1)},
            "kib_per_connection": round((rss_after - rss_before) * 1024 / count, 2),
            "get_alone": alone, "get_beside_idle": beside,
            "get_rate_ratio": round(beside["req_s"] / alone["req_s"], 3),
            "idle_still_served": f"{served}/{min(count, 500)}"}


def print_phase(r: dict) -> None:
    rss = r["frontend_rss_mib"]
    print(f"{r['connections']} idle keep-alive connections opened in {r['open_seconds']} s: front-end RSS "
          f"{rss['before']} -> {rss['with_idle']} MiB ({r['kib_per_connection']} KiB each); "
          f"{r['idle_still_served']} still served after the GET step")
    for label in ("get_alone", "get_beside_idle"):
        g = r[label]
        print(f"  4 KiB GET c=16 {label:16} {g['req_s']:6} req/s  p99 {g['p99_ms']:7.2f} ms  "
              f"{g['cpu_ms_per_req']:.3f} CPU-ms/req  errors {g['errors']}")
    print(f"  rate beside idle / alone: {r['get_rate_ratio']}")


def main() -> None:
    count, seconds = size_and_seconds(__doc__, "count", 10_000, 1000, "connections")
    ensure_debian("wrk")
    raise_fd_limit(count + 1000)
    with pinned_server() as server:
        s3 = server.client()
        s3.create_bucket(Bucket="bench-conn")
        result = connections_phase(server, s3, "bench-conn", count, seconds)
    print_phase(result)
    write_results("connections", {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **result})


if __name__ == "__main__":
    main()
