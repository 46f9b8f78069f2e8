"""The metadata daemon's lock table (design.md §2.5): readers-writer locks held until commit."""
from __future__ import annotations

import asyncio
import time

import pytest

from dmd.metadata.locks import LockTable, call_deadline
from shared.errors import InternalError


def run(coro):
    return asyncio.run(coro)


def test_exclusive_holders_take_turns_and_the_table_empties():
    async def main():
        table, inside, most = LockTable(), 0, 0

        async def worker():
            nonlocal inside, most
            async with table.hold("k"):
                inside += 1
                most = max(most, inside)
                await asyncio.sleep(0.001)
                inside -= 1

        await asyncio.gather(*(worker() for _ in range(50)))
        return most, len(table)

    assert run(main()) == (1, 0)


def test_readers_share_and_a_writer_waits_for_them():
    async def main():
        table, log = LockTable(), []

        async def reader(i):
            async with table.hold("b", exclusive=False):
                log.append(f"r{i}+")
                await asyncio.sleep(0.02)
                log.append(f"r{i}-")

        async def writer():
            await asyncio.sleep(0.005)
            async with table.hold("b"):
                log.append("w")

        await asyncio.gather(reader(1), reader(2), writer())
        return log

    log = run(main())
    assert log[:2] == ["r1+", "r2+"]                 # both readers inside at once
    assert log.index("w") > max(log.index("r1-"), log.index("r2-"))


async def held(table: LockTable, seconds: float) -> asyncio.Task:
    """A task that holds lock "k" for `seconds`, once it has it."""
    holding = asyncio.Event()

    async def holder():
        async with table.hold("k"):
            holding.set()
            await asyncio.sleep(seconds)

    task = asyncio.create_task(holder())
    await holding.wait()
    return task


def test_a_waiter_gives_up_at_the_call_deadline():
    async def main():
        table = LockTable()
        task = await held(table, 0.3)
        call_deadline.set(time.monotonic() + 0.05)
        with pytest.raises(InternalError) as info:
            async with table.hold("k"):
                pass
        await task
        return info.value.code, len(table)

    code, left = run(main())
    assert code == "RequestTimeout" and left == 0


def test_a_cancelled_waiter_leaves_nothing_behind():
    async def main():
        table = LockTable()

        async def waiter():
            async with table.hold("k"):
                pass

        h = await held(table, 0.05)
        w = asyncio.create_task(waiter())
        await asyncio.sleep(0.01)
        w.cancel()
        await h
        async with table.hold("k"):                  # still usable
            pass
        return len(table)

    assert run(main()) == 0
