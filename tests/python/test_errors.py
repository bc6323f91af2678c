"""Bad input and misuse give clear, specific exceptions (FLUME_E* codes mapped to Python)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import flume


def test_subject_too_long_is_an_invalid_subject(client: flume.Client) -> None:
    subject = "a" * (flume.MAX_SUBJECT_LENGTH + 1)
    with pytest.raises(flume.InvalidSubject) as error:
        client.publish(subject, b"x")
    assert isinstance(error.value, flume.InvalidArgument)
    assert isinstance(error.value, ValueError)
    assert error.value.code_name == "FLUME_EINVALID_SUBJECT"
    assert "255" in str(error.value) or "long" in str(error.value)
    client.publish("a" * flume.MAX_SUBJECT_LENGTH, b"fits")


@pytest.mark.parametrize("subject", ["", "a..b", ".a", "a.", "a b", "a.*", "a.>", "a\x01"])
def test_invalid_subjects_are_refused_with_a_reason(client: flume.Client, subject: str) -> None:
    with pytest.raises(flume.InvalidSubject) as error:
        client.publish(subject, b"x")
    assert str(error.value)


@pytest.mark.parametrize("pattern", ["", "a..b", "a.>.b", "a*", "a.b*", ">x", "a b"])
def test_invalid_patterns_are_refused(client: flume.Client, pattern: str) -> None:
    with pytest.raises(flume.InvalidPattern) as error:
        client.subscribe(pattern)
    assert error.value.code_name == "FLUME_EINVALID_PATTERN"
    assert str(error.value)


def test_payload_over_the_limit(tmp_path: Path) -> None:
    with flume.Broker(data_dir=tmp_path, max_payload=100) as broker, broker.connect() as c:
        c.publish("p", b"x" * 100)
        with pytest.raises(flume.PayloadTooLarge) as error:
            c.publish("p", b"x" * 101)
        assert isinstance(error.value, ValueError)
        assert "100" in str(error.value)


def test_use_after_close_raises_closed_error(broker: flume.Broker) -> None:
    client = broker.connect()
    sub = client.subscribe("x")
    client.close()
    client.close()  # idempotent
    assert client.closed
    for call in [
        lambda: client.publish("x", b"y"),
        lambda: client.subscribe("x"),
        lambda: client.flush(1),
        lambda: client.stats(),
        lambda: client.max_payload,
    ]:
        with pytest.raises(flume.ClosedError):
            call()
    # The subscription ended with the client: it says so, then can be closed.
    with pytest.raises(flume.ClosedError, match="closed"):
        sub.recv(timeout=1)
    sub.close()
    for call in [lambda: sub.recv(timeout=0), lambda: sub.try_recv(), lambda: sub.fileno(),
                 lambda: sub.stats(), lambda: sub.unsubscribe()]:
        with pytest.raises(flume.ClosedError):
            call()
    assert list(sub) == []


def test_stopped_broker_refuses_stats(tmp_path: Path) -> None:
    broker = flume.Broker(data_dir=tmp_path)
    broker.stop()
    broker.stop()
    with pytest.raises(flume.ClosedError):
        broker.stats()


def test_wrong_argument_types_raise_type_error(client: flume.Client) -> None:
    with pytest.raises(TypeError):
        client.publish("x", 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.publish(None, b"x")  # type: ignore[arg-type]


def test_bad_timeouts_and_options_are_invalid_arguments(client: flume.Client) -> None:
    sub = client.subscribe("t")
    with pytest.raises(flume.InvalidArgument):
        sub.recv(timeout=-1)
    with pytest.raises(flume.InvalidArgument):
        sub.recv_batch(0)
    with pytest.raises(flume.InvalidArgument, match="overflow"):
        client.subscribe("t", overflow="sometimes")


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nobody_listening_is_a_connection_error(broker: flume.Broker) -> None:
    url = f"flume://127.0.0.1:{_free_udp_port()}"
    with pytest.raises(flume.ConnectionError) as error:
        flume.connect(url, ca_file=broker.certificate_path, connect_timeout=1, reconnect=False)
    assert isinstance(error.value, ConnectionError)  # also the builtin
    assert error.value.code_name in ("FLUME_EUNREACHABLE", "FLUME_ETIMEDOUT")


def test_untrusted_certificate_is_a_tls_error_with_the_reason(broker: flume.Broker,
                                                               tmp_path: Path) -> None:
    # Another broker's certificate: valid, but not the one this broker presents.
    with flume.Broker(data_dir=tmp_path / "other") as other:
        with pytest.raises(flume.TLSError) as error:
            flume.connect(broker.url, ca_file=other.certificate_path, connect_timeout=2)
    assert error.value.code_name == "FLUME_ETLS"
    assert error.value.reason == str(error.value) and error.value.reason
    assert isinstance(error.value, flume.ConnectionError)


def test_wrong_pin_is_a_tls_error(broker: flume.Broker) -> None:
    with pytest.raises(flume.TLSError):
        flume.connect(broker.url, pin_sha256="00:" * 31 + "00", connect_timeout=2)


def test_bad_url_is_an_invalid_argument() -> None:
    with pytest.raises(flume.InvalidArgument):
        flume.connect("flume://127.0.0.1:99999", connect_timeout=1)


def test_broker_that_cannot_bind_says_why(broker: flume.Broker, tmp_path: Path) -> None:
    with pytest.raises(flume.FlumeError) as error:
        flume.Broker(broker.address, data_dir=tmp_path)
    assert error.value.code_name == "FLUME_EIO"
    assert str(error.value)


def test_every_error_is_a_flume_error_with_code_and_name() -> None:
    for cls in [flume.ConnectionError, flume.TLSError, flume.ProtocolError, flume.FrameError,
                flume.TimeoutError, flume.InvalidArgument, flume.InvalidSubject,
                flume.InvalidPattern, flume.PayloadTooLarge, flume.ClosedError]:
        assert issubclass(cls, flume.FlumeError)
    with pytest.raises(flume.InvalidSubject) as error:
        flume.validate_subject("a..b")
    assert error.value.code == -20
    assert flume.codec.error_name(-20) == "FLUME_EINVALID_SUBJECT"
