"""The fault tests' TCP proxy really cuts: open connections reset, new ones refused until the
cut ends; a gentle cut lets the answer under way through first. (Without this the fault
scenarios could pass with faults that never happened.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.faults.tcp_proxy import TcpProxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers each line with itself; ``slow`` after half a second."""
    with contextlib.suppress(ConnectionError):
        while line := await reader.readline():
            if line == b"slow\n":
                await asyncio.sleep(0.5)
            writer.write(line)
            await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with TcpProxy("127.0.0.1", port) as running:
        yield running
    server.close()


async def _connect(proxy: TcpProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", proxy.port)


async def _ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes) -> bytes:
    writer.write(line)
    await writer.drain()
    return await asyncio.wait_for(reader.readline(), 5)


async def _closed(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionResetError:
        return True


async def test_cut_resets_open_connections_and_refuses_new_ones_until_it_ends(
        proxy: TcpProxy) -> None:
    reader, writer = await _connect(proxy)
    assert await _ask(reader, writer, b"ping\n") == b"ping\n"

    proxy.cut(1.0)

    assert await _closed(reader)
    with pytest.raises(ConnectionRefusedError):
        await _connect(proxy)
    await asyncio.sleep(1.3)
    reader, writer = await _connect(proxy)
    assert await _ask(reader, writer, b"back\n") == b"back\n"
    assert proxy.connections_cut == 1 and proxy.connections_made == 2
    writer.close()


async def test_gentle_cut_lets_the_answer_under_way_through_then_closes(
        proxy: TcpProxy) -> None:
    idle_reader, idle_writer = await _connect(proxy)
    assert await _ask(idle_reader, idle_writer, b"ping\n") == b"ping\n"
    reader, writer = await _connect(proxy)
    writer.write(b"slow\n")
    await writer.drain()
    await asyncio.sleep(0.2)  # the request is with the server now

    proxy.cut(1.0, gentle=True)

    assert await _closed(idle_reader)
    with pytest.raises(ConnectionRefusedError):
        await _connect(proxy)
    assert await asyncio.wait_for(reader.readline(), 5) == b"slow\n"  # the answer came
    assert await _closed(reader)  # and then the connection was closed
    assert proxy.connections_cut == 2
