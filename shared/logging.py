"""Structured logs: one JSON object per line, carrying the S3 request id across the three processes."""
from __future__ import annotations

import asyncio
import contextvars
import logging
import sys
import time
from typing import Any

import orjson

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_service = "coffer"

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": _service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            doc["req"] = rid
        for k, v in vars(record).items():
            if k not in _STANDARD and not k.startswith("_"):
                doc[k] = v
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


class AccessLog:
    """One JSON line per S3 request, in the same shape as the other log lines.

    It skips the logging module's per-record machinery (LogRecord, handler locks, formatter) and
    writes the lines of one event-loop turn with one write: the per-request line through
    `logging` cost more CPU than signing checks (py-spy). Off unless the root level allows INFO.
    """

    def __init__(self, logger: str) -> None:
        self.logger = logger
        self._lines: list[bytes] = []
        self._second = -1
        self._stamp = ""

    def write(self, msg: str, fields: dict[str, Any]) -> None:
        if not logging.getLogger().isEnabledFor(logging.INFO):
            return
        now = time.time()
        if int(now) != self._second:
            self._second, self._stamp = int(now), time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        doc = {"time": f"{self._stamp}.{int(now * 1000) % 1000:03d}Z", "level": "info", "service": _service,
               "logger": self.logger, "msg": msg, "req": request_id.get(), **fields}
        self._lines.append(orjson.dumps(doc, default=str))
        if len(self._lines) == 1:
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            stream = getattr(sys.stderr, "buffer", None)
            data = b"\n".join(lines) + b"\n"
            if stream is not None:
                stream.write(data)
                stream.flush()
            else:
                sys.stderr.write(data.decode())


def setup_logging(service: str, level: str = "INFO") -> None:
    """Send every logger's records to stderr as JSON lines tagged with the service name."""
    global _service
    _service = service
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "engineio", "socketio", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def uvicorn_log_config() -> dict[str, Any]:
    """A uvicorn log config that leaves formatting to our root handler."""
    return {"version": 1, "disable_existing_loggers": False,
            "loggers": {"uvicorn": {"propagate": True}, "uvicorn.error": {"propagate": True},
                        "uvicorn.access": {"propagate": True}}}
