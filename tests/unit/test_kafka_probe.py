"""The readiness probe: one Kafka Metadata round trip against a real broker."""

from __future__ import annotations

import pytest

from monitor.broker import free_loopback_port
from monitor.kafka_probe import BrokerUnreachable, parse_bootstrap, probe, probe_async


def test_probe_of_the_real_broker_counts_at_least_one_broker(tansu):
    [(host, port)] = parse_bootstrap(tansu)
    assert probe(host, port, timeout=5) >= 1


async def test_async_probe_of_the_real_broker_counts_at_least_one_broker(tansu):
    assert await probe_async(tansu, timeout=5) >= 1


async def test_async_probe_falls_back_to_the_next_bootstrap_address(tansu):
    [(host, port)] = parse_bootstrap(tansu)
    dead = free_loopback_port()
    assert await probe_async(f"kafka://127.0.0.1:{dead},{host}:{port}", timeout=5) >= 1


def test_probe_of_a_closed_port_fails_fast():
    with pytest.raises(OSError):
        probe("127.0.0.1", free_loopback_port(), timeout=1)


async def test_async_probe_names_every_address_that_did_not_answer():
    first, second = free_loopback_port(), free_loopback_port()
    with pytest.raises(BrokerUnreachable) as raised:
        await probe_async(f"kafka://127.0.0.1:{first},127.0.0.1:{second}", timeout=1)
    assert f"127.0.0.1:{first}: " in str(raised.value)
    assert f"127.0.0.1:{second}: " in str(raised.value)


@pytest.mark.parametrize(
    ("url", "pairs"),
    [
        ("kafka://127.0.0.1:9092", [("127.0.0.1", 9092)]),
        ("kafka://k1:9092, k2:19092", [("k1", 9092), ("k2", 19092)]),
        ("broker.internal:9093", [("broker.internal", 9093)]),
    ],
)
def test_bootstrap_urls_split_into_host_and_port(url, pairs):
    assert parse_bootstrap(url) == pairs


@pytest.mark.parametrize("url", ["kafka://k1", "kafka://k1:port", "kafka://:9092"])
def test_a_bootstrap_address_without_host_and_port_is_refused(url):
    with pytest.raises(ValueError, match="is not host:port"):
        parse_bootstrap(url)
