"""Threads, interpreter exit and os.fork() with live subscriptions and heartbeats."""

import os
import socket
import textwrap
import threading
import time

import pytest

import nacos
from conftest import run_python, unique, wait_until

THREADS = 8
CALLS_PER_THREAD = 400


def test_thousands_of_calls_from_eight_threads(client):
    svc, errors = unique(), []
    barrier = threading.Barrier(THREADS)

    def work(n):
        try:
            barrier.wait()
            for i in range(CALLS_PER_THREAD):
                ip = "10.7.%d.%d" % (n, (i // 4) % 4)
                if i % 4 == 0:
                    assert client.add_naming_instance(svc, ip, 80) is True
                elif i % 4 == 1:
                    assert client.send_heartbeat(svc, ip, 80)["clientBeatInterval"] > 0
                else:
                    assert isinstance(client.list_naming_instance(svc), list)
        except BaseException as e:
            errors.append(e)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not errors, errors[:3]
    assert len(client.list_naming_instance(svc)) == THREADS * 4


def test_a_blocked_call_releases_the_gil(monkeypatch):
    # A server that accepts connections and never answers: the call waits for its timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    monkeypatch.setitem(nacos.DEFAULTS, "TIMEOUT", 1)
    client = nacos.NacosClient("127.0.0.1:%d" % silent.getsockname()[1])
    done = threading.Event()

    def call():
        try:
            client.list_naming_instance("svc")
        except nacos.NacosException:
            pass
        done.set()

    threading.Thread(target=call).start()
    spins = 0
    while not done.is_set():
        spins += 1
        time.sleep(0)
    assert spins > 1000
    client.shutdown()
    silent.close()


EXIT_SCRIPT = """
import threading, time, nacos
client = nacos.NacosClient(server_addresses=%(address)r)
events = threading.Event()
def slow(event):
    events.set()
    time.sleep(0.2)
client.subscribe(%(svc)r, slow)
client.add_naming_instance(%(svc)r, "10.8.0.1", 80, heartbeat_interval=0.05)
events.wait(10)
print("subscribed")
"""


def test_exit_with_a_live_subscription_and_heartbeats(server):
    done = run_python(EXIT_SCRIPT % {"address": server.address, "svc": unique()}, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "subscribed" in done.stdout
    assert "Fatal" not in done.stderr and "panicked" not in done.stderr


FORK_SCRIPT = """
import os, threading, nacos
# rnacos does not push: poll every 200 ms so that a change is heard in time.
nacos.DEFAULTS["SUBSCRIBE_POLL_INTERVAL"] = 0.2
client = nacos.NacosClient(server_addresses=%(address)r)
svc = %(svc)r
heard = []
got = threading.Condition()
def listener(event):
    with got:
        heard.append([i["ip"] for i in event["hosts"]])
        got.notify_all()
def wait_for(ip):
    with got:
        assert got.wait_for(lambda: any(ip in h for h in heard), 10), heard
client.subscribe(svc, listener)
client.add_naming_instance(svc, "10.9.0.1", 80, heartbeat_interval=0.05)
wait_for("10.9.0.1")
pid = os.fork()
if pid == 0:
    # The child: a fresh client, no inherited subscriptions, and it works.
    try:
        assert client._subscriptions == {}
        heard.clear()
        client.subscribe(svc, listener)
        client.add_naming_instance(svc, "10.9.0.2", 80)
        wait_for("10.9.0.2")
        client.remove_naming_instance(svc, "10.9.0.2", 80)
        os._exit(0)
    except BaseException as e:
        print("child failed:", repr(e), flush=True)
        os._exit(1)
_, status = os.waitpid(pid, 0)
assert os.WEXITSTATUS(status) == 0, status
# The parent's subscription still runs.
client.add_naming_instance(svc, "10.9.0.3", 80)
wait_for("10.9.0.3")
print("fork ok")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork")
def test_fork_with_live_subscriptions(server):
    done = run_python(FORK_SCRIPT % {"address": server.address, "svc": unique()}, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fork ok" in done.stdout


def test_heartbeat_interval_keeps_an_instance_healthy(tmp_path):
    from conftest import DevServer
    server = DevServer("--health-timeout", "1s", "--expire-timeout", "2s")
    try:
        client = nacos.NacosClient(server.address)
        beaten, silent = unique(), unique()
        client.add_naming_instance(beaten, "10.10.0.1", 80, heartbeat_interval=0.05)
        client.add_naming_instance(silent, "10.10.0.2", 80)
        # Without heartbeat_interval nothing beats (as with the old client): it expires.
        wait_until("the unbeaten instance expires",
                   lambda: len(client.list_naming_instance(silent)) == 0)
        hosts = client.list_naming_instance(beaten)
        assert [h["healthy"] for h in hosts] == [True]
        client.remove_naming_instance(beaten, "10.10.0.1", 80)
        client.shutdown()
    finally:
        server.stop()


def test_logging_reaches_the_nacos_logger(server, caplog):
    import logging
    caplog.set_level(logging.DEBUG, logger="nacos")
    client = nacos.NacosClient(server.address, log_level=logging.DEBUG)
    client.list_naming_instance(unique())
    client.shutdown()
    assert any(r.name == "nacos" for r in caplog.records)


def test_heartbeats_register_again_an_instance_the_server_lost(server):
    svc = unique()
    keeper = nacos.NacosClient(server.address)
    other = nacos.NacosClient(server.address)
    try:
        keeper.add_naming_instance(svc, "10.11.0.1", 80, heartbeat_interval=0.05)
        # Another client deregisters it, as a server that lost it would answer.
        other.remove_naming_instance(svc, "10.11.0.1", 80)
        wait_until("the instance is back", lambda: len(other.list_naming_instance(svc)) == 1)
    finally:
        keeper.remove_naming_instance(svc, "10.11.0.1", 80)
        keeper.shutdown()
        other.shutdown()
