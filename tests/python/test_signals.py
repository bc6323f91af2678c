"""Ctrl-C during a blocking receive raises KeyboardInterrupt promptly: waits release the GIL in
slices and run Python's signal handlers between them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

SCRIPT = r"""
import os, sys, flume
with flume.Broker(data_dir=sys.argv[1]) as broker, broker.connect() as client:
    sub = client.subscribe("never")
    print("ready", flush=True)
    try:
        {wait}
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        raise
print("not reached", flush=True)
"""

WAITS = {
    "recv": "sub.recv()",
    "recv_with_timeout": "sub.recv(timeout=3600)",
    "recv_batch": "sub.recv_batch(100)",
    "iteration": "for m in sub: pass",
    "messages_iterator": "for m in sub.messages(timeout=3600): pass",
}


@pytest.mark.parametrize("wait", sorted(WAITS))
def test_ctrl_c_interrupts_a_blocking_call(wait: str, tmp_path) -> None:
    code = SCRIPT.replace("{wait}", WAITS[wait])
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # well inside the blocking call
        assert child.poll() is None, child.stderr.read()
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert "interrupted" in out, err
    assert "KeyboardInterrupt" in err
    assert child.returncode != 0
    # Slices are 50 ms; closing the client and stopping the broker afterwards take the rest.
    assert elapsed < 5, f"took {elapsed:.2f} s to stop"


def test_sigint_during_recv_in_the_main_thread_is_prompt(tmp_path) -> None:
    """The interrupt itself (not the clean-up after it) arrives within a fraction of a second."""
    code = r"""
import sys, time, flume
broker = flume.Broker(data_dir=sys.argv[1])
client = broker.connect()
sub = client.subscribe("never")
print("ready", flush=True)
try:
    sub.recv()
except KeyboardInterrupt:
    print(time.monotonic(), flush=True)
"""
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        sent = time.monotonic()
        os.kill(child.pid, signal.SIGINT)
        line = child.stdout.readline().strip()
        child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert line, "no KeyboardInterrupt"
    assert float(line) - sent < 1.0  # slices are 50 ms; the rest is a loaded machine
