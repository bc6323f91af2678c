"""A client given several brokers (nodes of a cluster) as a list: it keeps the first to answer."""

from __future__ import annotations

from pathlib import Path

import pytest

import flume


def trust_both(tmp_path: Path, *brokers: flume.Broker) -> Path:
    pem = tmp_path / "brokers.pem"
    pem.write_text("".join(Path(b.certificate_path).read_text() for b in brokers))
    return pem


@pytest.mark.parametrize("as_type", [list, tuple])
def test_a_list_of_urls_connects_and_round_trips(tmp_path: Path, as_type: type) -> None:
    with flume.Broker("127.0.0.1:0", data_dir=tmp_path / "a") as a, \
            flume.Broker("127.0.0.1:0", data_dir=tmp_path / "b") as b:
        ca = trust_both(tmp_path, a, b)
        with flume.connect(as_type([a.url, b.url]), ca_file=ca, connect_timeout=5) as client:
            sub = client.subscribe("nearest.x")
            client.publish("nearest.x", b"hi")
            assert sub.recv(timeout=5).data == b"hi"


def test_a_list_with_a_broker_that_is_down_still_connects(tmp_path: Path) -> None:
    with flume.Broker("127.0.0.1:0", data_dir=tmp_path / "a") as a:
        down = "flume://127.0.0.1:9"  # nothing listens on the discard port
        with flume.connect([down, a.url], ca_file=a.certificate_path, connect_timeout=5) as c:
            assert c.stats().connected


def test_urls_that_are_not_strings_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="str or a list of str"):
        flume.connect(7)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="every url in the list must be a str"):
        flume.connect(["flume://127.0.0.1:1", 3])  # type: ignore[list-item]


def test_an_empty_list_says_no_url_was_given() -> None:
    with pytest.raises(flume.InvalidArgument, match="no broker URL given"):
        flume.connect([])
