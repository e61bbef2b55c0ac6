"""A minimal Kafka Metadata (v0) round trip, to tell that a broker really answers.

An open TCP port is not enough: Tansu accepts connections a moment before it serves requests,
and a wrong service on the port would also accept. One Metadata request that comes back with
our correlation id and at least one broker is the readiness signal for the embedded broker and
for ``GET /readyz``.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from urllib.parse import urlsplit

_METADATA_API_KEY = 3
_CLIENT_ID = b"crisismon-probe"


class BrokerUnreachable(RuntimeError):
    """The broker did not answer a Metadata request."""


def parse_bootstrap(url: str) -> list[tuple[str, int]]:
    """Split ``kafka://h1:p1,h2:p2`` into host and port pairs.

    >>> parse_bootstrap("kafka://127.0.0.1:9092,kafka-2:19092")
    [('127.0.0.1', 9092), ('kafka-2', 19092)]
    """
    netloc = urlsplit(url).netloc if "://" in url else url
    pairs = []
    for part in netloc.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"broker address {part!r} is not host:port")
        pairs.append((host, int(port)))
    return pairs


def _metadata_request(correlation_id: int) -> bytes:
    header = struct.pack(">hhih", _METADATA_API_KEY, 0, correlation_id, len(_CLIENT_ID))
    body = struct.pack(">i", 0)  # v0: an empty topic list asks for every topic
    payload = header + _CLIENT_ID + body
    return struct.pack(">i", len(payload)) + payload


def _broker_count(response: bytes, correlation_id: int) -> int:
    got_id, brokers = struct.unpack(">ii", response[:8])
    if got_id != correlation_id:
        raise BrokerUnreachable(f"answer had correlation id {got_id}, expected {correlation_id}")
    return int(brokers)


def probe(host: str, port: int, timeout: float = 1.0) -> int:
    """Send one Metadata request and return how many brokers the answer lists."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(_metadata_request(7))
        size = struct.unpack(">i", _recv_exact(sock, 4))[0]
        return _broker_count(_recv_exact(sock, size), 7)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise BrokerUnreachable("connection closed mid-answer")
        chunks.extend(chunk)
    return bytes(chunks)


async def probe_async(url: str, timeout: float = 2.0) -> int:  # noqa: ASYNC109
    """The same round trip without blocking the event loop; tries each bootstrap address."""
    errors = []
    for host, port in parse_bootstrap(url):
        try:
            return await asyncio.wait_for(_probe_one(host, port), timeout)
        except (OSError, TimeoutError, BrokerUnreachable, struct.error) as exc:
            errors.append(f"{host}:{port}: {exc or type(exc).__name__}")
    raise BrokerUnreachable("; ".join(errors))


async def _probe_one(host: str, port: int) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(_metadata_request(11))
        await writer.drain()
        size = struct.unpack(">i", await reader.readexactly(4))[0]
        return _broker_count(await reader.readexactly(size), 11)
    finally:
        writer.close()
