"""Fixtures for the Python binding's tests: real brokers, never mocks.

``broker`` is the embedded broker (flume.Broker, in this process); ``broker_process`` is the
``flume-broker`` program named by $FLUME_BROKER_BIN (scripts/test-python.sh sets it), and tests
using it are skipped, saying so, when the variable is unset.
"""

from __future__ import annotations

import faulthandler
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

import flume

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors" / "frames.json"

# A test that hangs prints every thread's stack and ends the run instead of stalling ctest.
HANG_SECONDS = 120


@pytest.fixture(autouse=True)
def _hang_guard() -> Iterator[None]:
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keeps every broker's self-signed certificate out of the home directory."""
    path = tmp_path_factory.mktemp("flume-data")
    monkeypatch.setenv("FLUME_DATA_DIR", str(path))
    return path


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[flume.Broker]:
    with flume.Broker("127.0.0.1:0", data_dir=tmp_path / "broker", shutdown_grace=0.2) as b:
        yield b


@pytest.fixture
def client(broker: flume.Broker) -> Iterator[flume.Client]:
    with broker.connect(connect_timeout=5) as c:
        yield c


class BrokerProcess:
    """A flume-broker process on 127.0.0.1 with a port of its choosing."""

    def __init__(self, binary: str, data_dir: Path, *extra: str) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / "broker.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [binary, "-l", "127.0.0.1:0", "--data-dir", str(data_dir), "--shutdown-grace", "200",
             *extra],
            stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        address = None
        while time.monotonic() < deadline:
            text = self.log_path.read_text()
            match = re.search(r" listening on (\S+) ", text)
            if match:
                address = match.group(1)
                break
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        if address is None:
            self.stop()
            raise RuntimeError(f"flume-broker did not start:\n{self.log_path.read_text()}")
        self.url = f"flume://{address}"
        self.certificate_path = str(data_dir / "cert.pem")
        text = self.log_path.read_text()
        self.fingerprint = re.search(r"SHA-256 fingerprint (\S+)", text).group(1)

    def connect(self, **options: object) -> flume.Client:
        options.setdefault("ca_file", self.certificate_path)
        return flume.connect(self.url, **options)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture
def broker_process(tmp_path: Path) -> Iterator[BrokerProcess]:
    binary = os.environ.get("FLUME_BROKER_BIN")
    if not binary:
        pytest.skip("FLUME_BROKER_BIN is not set: the flume-broker program is not available "
                    "(scripts/test-python.sh sets it from the CMake build)")
    process = BrokerProcess(binary, tmp_path / "broker-process")
    yield process
    process.stop()


def run_python(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter with this one's environment."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout)
