"""The API surface users of nacos-sdk-python rely on: names, signatures, return types,
exceptions; and the naming cases of nacos-sdk-python's own test suite (its
test/client_test.py at 1.0.0 and 2.0.11), rewritten against a real server."""

import inspect
import json
import os
import subprocess

import pytest

import nacos
from nacos.exception import NacosException, NacosRequestException
from nacos.listener import Event, SimpleListenerManager, SubscribeListener
from conftest import free_port, missing, unique

NACOS_PYTHON = os.environ.get("NACOS_PYTHON")
NAMING_METHODS = ["add_naming_instance", "remove_naming_instance", "modify_naming_instance",
                  "list_naming_instance", "get_naming_instance", "send_heartbeat", "subscribe",
                  "unsubscribe", "stop_subscribe"]
# Parameters this package takes beyond the old ones, each keyword-only (**kwargs): the
# seed's spelling `enabled=` and get's `group_name=`.
EXTRA_KINDS = (inspect.Parameter.VAR_KEYWORD,)


def describe(fn):
    return [(p.name, p.kind.name, repr(p.default)) for p in inspect.signature(fn).parameters.values()]


@pytest.fixture(scope="module")
def old_signatures():
    if not NACOS_PYTHON or not os.access(NACOS_PYTHON, os.X_OK):
        missing("nacos-sdk-python 1.0.0", "set NACOS_PYTHON to a Python that has it")
    code = (
        "import inspect, json, nacos\n"
        "def d(fn): return [(p.name, p.kind.name, repr(p.default)) "
        "for p in inspect.signature(fn).parameters.values()]\n"
        "print(json.dumps({m: d(getattr(nacos.NacosClient, m)) for m in %r + ['__init__']}))"
        % NAMING_METHODS)
    out = subprocess.run([NACOS_PYTHON, "-c", code], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    return {name: [tuple(p) for p in params] for name, params in json.loads(out).items()}


@pytest.mark.parametrize("method", NAMING_METHODS)
def test_signature_matches_the_old_client(old_signatures, method):
    """Same parameters in the same order, kinds and defaults; anything more only as
    **kwargs, so that no old call, positional or by keyword, changes meaning."""
    ours = describe(getattr(nacos.NacosClient, method))
    old = old_signatures[method]
    assert ours[:len(old)] == old
    assert all(kind in ("VAR_KEYWORD",) for _, kind, _ in ours[len(old):]), ours


def test_constructor_signature_is_the_old_one_plus_2_0_credentials(old_signatures):
    ours = describe(nacos.NacosClient.__init__)
    assert ours == old_signatures["__init__"] + [("credentials_provider", "POSITIONAL_OR_KEYWORD",
                                                  "None")]


def test_module_exports():
    assert nacos.DEFAULT_GROUP_NAME == "DEFAULT_GROUP"
    assert nacos.DEFAULTS["TIMEOUT"] == 3
    assert nacos.NacosException is NacosException
    assert issubclass(NacosRequestException, NacosException)
    assert Event.ADDED == "ADDED" and Event.MODIFIED == "MODIFIED" and Event.DELETED == "DELETED"
    manager = SimpleListenerManager().add_listener(SubscribeListener(print, "p"))
    assert list(manager.all_listeners()) == ["p"]
    from nacos.auth import StaticCredentialsProvider  # noqa: F401 (2.0.x's module)


def test_construction_sends_nothing_without_credentials():
    # Nothing listens on this port: any request would fail.
    client = nacos.NacosClient("127.0.0.1:%d" % free_port(), namespace="ns")
    client.shutdown()


@pytest.mark.parametrize("kwargs, message", [
    ({"endpoint": "http://127.0.0.1:1/nacos/serverlist"}, "endpoint"),
    ({}, "server_addresses"),
    ({"server_addresses": "127.0.0.1:8848", "username": "nacos"}, "password"),
    ({"server_addresses": "not a server list::"}, "server_addresses"),
])
def test_unsupported_or_bad_settings_fail_at_construction(kwargs, message):
    with pytest.raises(NacosException, match=message):
        nacos.NacosClient(**kwargs)


def test_security_token_credentials_fail_at_construction():
    from nacos.auth import StaticCredentialsProvider
    with pytest.raises(NacosException, match="security token"):
        nacos.NacosClient("127.0.0.1:8848",
                          credentials_provider=StaticCredentialsProvider("ak", "sk", "token"))


def test_return_types(client):
    svc = unique()
    assert client.add_naming_instance(svc, "10.0.0.1", 8080, metadata='{"a": "b"}') is True
    listed = client.list_naming_instance(svc)
    assert isinstance(listed, list) and isinstance(listed, nacos.ServiceInstances)
    assert [i["ip"] for i in listed] == ["10.0.0.1"]
    # The old client's dict, still readable.
    assert listed["hosts"] == list(listed) and listed.get("hosts", []) == list(listed)
    assert listed["cacheMillis"] > 0 and "hosts" in listed and "lastRefTime" in listed
    assert listed["name"].endswith(svc)
    got = client.get_naming_instance(svc, "10.0.0.1", 8080)
    assert got["ip"] == "10.0.0.1" and got["metadata"] == {"a": "b"}
    beat = client.send_heartbeat(svc, "10.0.0.1", 8080)
    assert beat["clientBeatInterval"] > 0 and "code" in beat
    assert client.modify_naming_instance(svc, "10.0.0.1", 8080, weight=3) is True
    assert client.remove_naming_instance(svc, "10.0.0.1", 8080) is True
    assert list(client.list_naming_instance(svc)) == []


@pytest.mark.parametrize("call", [
    lambda c: c.add_naming_instance("", "10.0.0.1", 8080),
    lambda c: c.add_naming_instance("svc", "10.0.0.1", 70000),
    lambda c: c.add_naming_instance("svc", "10.0.0.1", 8080, weight=-1),
    lambda c: c.add_naming_instance("svc", "10.0.0.1", 8080, metadata="[1, 2]"),
    lambda c: c.add_naming_instance("svc", None, 8080),
    lambda c: c.list_naming_instance("svc", clusters="bad cluster"),
    lambda c: c.subscribe("svc", 42),
])
def test_bad_arguments_raise_before_sending(call):
    client = nacos.NacosClient("127.0.0.1:%d" % free_port())
    with pytest.raises(NacosException) as raised:
        call(client)
    assert not isinstance(raised.value, NacosRequestException)
    assert "invalid" in str(raised.value) or "must" in str(raised.value)
    client.shutdown()


def test_no_server_raises_request_exception():
    client = nacos.NacosClient("127.0.0.1:%d" % free_port())
    with pytest.raises(NacosRequestException, match="no server answered"):
        client.list_naming_instance("svc")
    client.shutdown()


def test_server_refusal_carries_status(devserver):
    client = nacos.NacosClient(devserver.address)
    with pytest.raises(NacosException) as raised:
        client.get_naming_instance(unique(), "10.0.0.9", 1)
    assert not isinstance(raised.value, NacosRequestException)
    assert raised.value.status is not None and raised.value.status >= 400
    assert str(raised.value.status) in str(raised.value)
    client.shutdown()


def test_wrong_password_is_refused_at_construction(tmp_path):
    from conftest import DevServer
    server = DevServer("--auth", "nacos:secret")
    try:
        with pytest.raises(NacosException) as raised:
            nacos.NacosClient(server.address, username="nacos", password="wrong")
        assert raised.value.status == 403
        client = nacos.NacosClient(server.address, username="nacos", password="secret")
        svc = unique()
        assert client.add_naming_instance(svc, "10.0.0.1", 1) is True
        assert len(client.list_naming_instance(svc)) == 1
        client.shutdown()
    finally:
        server.stop()


def test_log_dir_and_level_are_honoured(tmp_path, server):
    client = nacos.NacosClient(server.address, logDir=str(tmp_path), log_level="INFO")
    client.list_naming_instance(unique())
    client.shutdown()
    assert os.path.exists(tmp_path / "nacos-client-python.log")


# The naming cases of nacos-sdk-python's test/client_test.py (1.0.0 and 2.0.11), with the same
# calls and positional arguments, against a real server rather than the one it hard-codes.

def test_old_suite_add_with_string_and_dict_metadata(client):
    svc = unique("test.service")
    assert client.add_naming_instance(svc, "1.0.0.7", 8080, "testCluster2", 0.2, "{}", False,
                                      True) is True
    assert client.add_naming_instance(svc, "1.0.0.1", 8080, "testCluster2", 0.1, {"a": "c"},
                                      False, True) is True


def test_old_suite_modify(client):
    svc = unique("test.service")
    client.add_naming_instance(svc, "1.0.0.1", 8080, "testCluster", 0.1, "{}", True, True)
    assert client.modify_naming_instance(svc, "1.0.0.1", 8080, cluster_name="testCluster",
                                         enable=False, weight=0.2, metadata='{"a":"a"}') is True
    assert client.modify_naming_instance(svc, "1.0.0.1", 8080, cluster_name="testCluster",
                                         enable=False, weight=0.2, metadata={"a": "a"}) is True


def test_old_suite_list_offline_and_online(client):
    offline, online = unique("test.service"), unique("test.service")
    client.add_naming_instance(offline, "1.0.0.1", 8080, "testCluster2", 0.1, "{}", False, True)
    assert len(client.list_naming_instance(offline)["hosts"]) == 0
    client.add_naming_instance(online, "1.0.0.1", 8080, "testCluster2", 0.1, "{}", True, True)
    assert len(client.list_naming_instance(online)["hosts"]) == 1


def test_old_suite_get_and_heartbeat(client):
    svc = unique("test.service")
    client.add_naming_instance(svc, "1.0.0.1", 8080, "testCluster2", 0.1, "{}", False, True)
    assert client.get_naming_instance(svc, "1.0.0.1", 8080, "testCluster2")["ip"] == u"1.0.0.1"
    assert client.send_heartbeat(svc, "1.0.0.1", 8080, "testCluster2", 0.1,
                                 "{}")["clientBeatInterval"] > 0
    assert client.send_heartbeat(svc, "1.0.0.1", 8080, "testCluster2", 0.1,
                                 {"a": "c"})["clientBeatInterval"] > 0


def test_old_suite_remove(client):
    svc = unique("test.service")
    client.add_naming_instance(svc, "1.0.0.1", 8080)
    assert client.remove_naming_instance(svc, "1.0.0.1", 8080) is True


def test_old_suite_service_subscribe(client):
    def fn_listener(event, instance):
        pass

    fn1 = SubscribeListener(fn=fn_listener, listener_name="fn_listener1")
    fn2 = SubscribeListener(fn=fn_listener, listener_name="fn_listener2")
    client.subscribe(fn1, 2, unique("test.service1"), )
    svc = unique("test.service")
    client.subscribe(fn2, 2, svc)
    client.subscribe((fn1, fn2), 3, svc, )
    client.subscribe([fn1, fn2], 3, svc)
    client.unsubscribe(service_name=svc, listener_name="fn_listener1")
    client.stop_subscribe()
