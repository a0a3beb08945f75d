"""Servers for the suite: the nacos-devserver binary and rnacos, each on 127.0.0.1 with ports
the system picks, stopped when the tests end (also when they fail).

- ``NACOS_DEVSERVER_BIN``: the devserver binary (default: target/debug/nacos-devserver).
- ``RNACOS_BIN``: rnacos 0.8.8; without it the rnacos cases skip, unless ``CI=true``.
- ``NACOS_PYTHON``: a Python with nacos-sdk-python 1.0.0, for the side-by-side tests (same
  rule).
"""

import collections
import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pytest

import nacos

# Subscriptions poll every 200 ms instead of every 10 s (rnacos does not push), so that a test
# waits milliseconds for a change.
nacos.DEFAULTS["SUBSCRIBE_POLL_INTERVAL"] = 0.2

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DEVSERVER_BIN = os.environ.get("NACOS_DEVSERVER_BIN") or os.path.join(
    ROOT, "target", "debug", "nacos-devserver")
RNACOS_BIN = os.environ.get("RNACOS_BIN")
IN_CI = os.environ.get("CI") == "true"

# How long a condition may take before a test fails.
DEADLINE = 10.0
_names = itertools.count()


def unique(name="svc"):
    """A service name no other test uses."""
    return "%s-%d-%d" % (name, os.getpid(), next(_names))


def wait_until(what, condition, deadline=DEADLINE):
    """Calls ``condition`` until it returns something truthy and returns that; fails with
    ``what`` and the last value after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError("%s: not within %.0fs (last: %r)" % (what, deadline, value))
        time.sleep(0.01)


def missing(what, hint):
    """Skips the test, or fails it in CI, where every peer must be there."""
    message = "%s not available (%s)" % (what, hint)
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminate(process):
    """Stops a server process: SIGTERM, then SIGKILL after 5 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class DevServer(object):
    """One nacos-devserver process; ``address`` is ``127.0.0.1:port``."""

    kind = "devserver"

    def __init__(self, *args):
        if not os.access(DEVSERVER_BIN, os.X_OK):
            missing("nacos-devserver binary at %s" % DEVSERVER_BIN,
                    "cargo build -p nacos-devserver, or set NACOS_DEVSERVER_BIN")
        self.address = None
        self.log = collections.deque(maxlen=200)
        self.listening = threading.Event()
        self.process = subprocess.Popen(
            [DEVSERVER_BIN, "--bind", "127.0.0.1:0", "--log-level", "info"] + list(args),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        self.listening.wait(DEADLINE)
        if self.address is None:
            self.stop()
            raise RuntimeError("nacos-devserver did not start:\n" + "".join(self.log))

    def _read_log(self):
        for line in self.process.stderr:
            self.log.append(line)
            if self.address is None:
                found = re.search(r"listening on http://(127\.0\.0\.1:\d+)", line)
                if found:
                    self.address = found.group(1)
                    self.listening.set()
        self.listening.set()

    def stop(self):
        terminate(self.process)
        self.reader.join(timeout=5)


class Rnacos(object):
    """One rnacos process in a fresh directory; tried again on new ports when it does not
    come up (a port taken meanwhile, or rnacos's occasional start-up panic)."""

    kind = "rnacos"

    def __init__(self):
        if not RNACOS_BIN or not os.access(RNACOS_BIN, os.X_OK):
            missing("rnacos", "set RNACOS_BIN or run scripts/ci")
        for _ in range(5):
            if self._start():
                return
        raise RuntimeError("rnacos did not start:\n" + self.log_text())

    def _start(self):
        self.dir = tempfile.mkdtemp(prefix="rnacos-py-")
        os.mkdir(os.path.join(self.dir, "work"))
        http_port, grpc_port = free_port(), free_port()
        self.address = "127.0.0.1:%d" % http_port
        env = {k: v for k, v in os.environ.items() if not k.startswith("RNACOS_")}
        env.update({
            "RNACOS_HTTP_PORT": str(http_port), "RNACOS_GRPC_PORT": str(grpc_port),
            "RNACOS_HTTP_CONSOLE_PORT": "0", "RNACOS_SDK_HOST": "127.0.0.1",
            "RNACOS_CONSOLE_HOST": "127.0.0.1",
            "RNACOS_DATA_DIR": os.path.join(self.dir, "data"),
            "RNACOS_ENABLE_METRICS": "false", "RUST_LOG": "warn",
        })
        self.log_file = open(os.path.join(self.dir, "rnacos.log"), "ab")
        self.process = subprocess.Popen(
            [RNACOS_BIN], cwd=os.path.join(self.dir, "work"), env=env,
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=self.log_file)
        end = time.monotonic() + 30
        probe = "http://%s/nacos/v1/ns/service/list?pageNo=1&pageSize=1" % self.address
        while time.monotonic() < end:
            if self.process.poll() is not None:
                self.stop()
                return False
            try:
                with urllib.request.urlopen(probe, timeout=1) as answer:
                    if answer.status == 200:
                        return True
            except OSError:
                time.sleep(0.05)
        self.stop()
        return False

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "rnacos.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        terminate(self.process)
        self.log_file.close()
        shutil.rmtree(self.dir, ignore_errors=True)


SERVER_KINDS = {"devserver": DevServer, "rnacos": Rnacos}


@pytest.fixture(scope="session")
def devserver():
    server = DevServer()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=sorted(SERVER_KINDS))
def server(request):
    """Each server kind in turn, one process per kind for the session."""
    server = SERVER_KINDS[request.param]()
    yield server
    server.stop()


@pytest.fixture(params=sorted(SERVER_KINDS))
def fresh_server(request):
    """A new server of each kind for one test (tests that use fixed names, like the seed's)."""
    server = SERVER_KINDS[request.param]()
    yield server
    server.stop()


@pytest.fixture
def client(server):
    c = nacos.NacosClient(server_addresses=server.address)
    yield c
    c.shutdown()


def run_python(code, timeout=60, env=None):
    """Runs ``code`` in a new interpreter with this one's environment; returns the finished
    process (stdout and stderr as text)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=env)
