"""Progress of the long maintenance commands (`coffer fsck`, `coffer gc --sweep`), on stderr.

On a terminal: a tqdm counter per phase (the totals are not known up front: the store is read as
a stream, so it shows counts and rates). tqdm rather than rich: it does this one thing, is pure
Python with no dependencies, and draws nothing else; rich is a whole rendering toolkit (and pulls
in pygments) for one line. Off a terminal (a pipe, a log, cron): a plain line per phase every
few seconds and when it ends, which greps and logs well. stdout keeps only the JSON report.
"""
from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

from shared import constants as C


class Progress:
    """A callable `(phase, done)`, as s3front.gc.Progress; `close()` once the command is done."""

    def __init__(self, command: str, stream: IO[str] | None = None, every: float = C.PROGRESS_PLAIN_EVERY_S) -> None:
        self.command = command
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = every
        self.phase: str | None = None
        self.done = 0
        self._bar: Any = None
        self._last_line = 0.0

    def __call__(self, phase: str, done: int) -> None:
        if phase != self.phase:
            self._end_phase()
            self.phase, self.done = phase, 0
            self._start_phase()
        step, self.done = done - self.done, done
        if self._bar is not None:
            self._bar.update(step)
        elif time.monotonic() - self._last_line >= self.every:
            self._line()

    def close(self) -> None:
        self._end_phase()
        self.phase = None

    def _start_phase(self) -> None:
        self._last_line = time.monotonic()
        if self.tty:
            from tqdm import tqdm
            sized = _columns(self.stream) > 0       # a terminal that says its width (a bare pty may not)
            self._bar = tqdm(desc=f"{self.command}: {self.phase}", unit=" items", file=self.stream,
                             dynamic_ncols=sized, ncols=None if sized else 80,
                             nrows=None if sized else 24, leave=True)

    def _end_phase(self) -> None:
        if self.phase is None:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        else:
            self._line(final=True)

    def _line(self, final: bool = False) -> None:
        self._last_line = time.monotonic()
        self.stream.write(f"{self.command}: {self.phase}: {self.done}{' (done)' if final else ''}\n")
        self.stream.flush()


def _columns(stream: IO[str]) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        return 0
