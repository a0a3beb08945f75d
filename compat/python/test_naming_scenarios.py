# By hand, from the repository root: cargo build -p nacos-devserver && target/py-venv/bin/python compat/python/test_naming_scenarios.py
"""nacos-sdk-python's own naming scenarios against the nacos-devserver binary in its default
(2.x) line, with whichever release is installed (1.0.0 and 2.0.11 in CI).

The scenarios are those of the naming cases in the client's repository (`test/client_test.py`
at its 1.0.0 and 2.0.11 tags), written anew here and run in their order (unittest's: by
name), on one shared service, as there: later cases find what earlier ones left. They depend
on official 2.x identity rules: a modify names a cluster the instance is not in, and a remove
names no cluster at all. Where the original only prints or checks `True`, these also check
what the server holds afterwards.

Needs only the standard library and nacos-sdk-python; starts its own server on 127.0.0.1.
"""

import os
import sys
import threading
import unittest
import warnings

import nacos
import nacos.listener

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_seed_client import DevServer, unique, wait_until  # noqa: E402

SERVER = {}
SERVICE = unique("test.service")
OTHER_SERVICE = unique("test.service1")
IP, PORT = "1.0.0.1", 8080


def setUpModule():
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="nacos")
    SERVER["default"] = DevServer()


def tearDownModule():
    server = SERVER.pop("default", None)
    if server is not None:
        died = server.died()
        server.stop()
        if died:
            raise AssertionError("nacos-devserver died during the tests; its log:\n"
                                 + server.log_text())


def client():
    return SERVER["default"].client()


def places(service):
    """(cluster, ip, port, enabled) of every listed host of `service`."""
    listed = client().list_naming_instance(service)
    return sorted((h["clusterName"], h["ip"], h["port"], h["enabled"]) for h in listed["hosts"])


class NamingScenarios(unittest.TestCase):
    """One case per scenario, named so that unittest runs them in the original order."""

    def test_add_naming_instance(self):
        # Disabled (enable=False), string metadata, a cluster of its own.
        self.assertIs(client().add_naming_instance(
            OTHER_SERVICE, "1.0.0.7", PORT, "testCluster2", 0.2, "{}", False, True), True)
        self.assertEqual(places(OTHER_SERVICE), [], "a disabled instance is not listed")

    def test_add_naming_instance_with_dict_metadata(self):
        self.assertIs(client().add_naming_instance(
            SERVICE, IP, PORT, "testCluster2", 0.1, {"a": "c"}, False, True), True)
        got = client().get_naming_instance(SERVICE, IP, PORT, "testCluster2")
        self.assertEqual(got["metadata"], {"a": "c"})
        self.assertEqual(got["enabled"], False)

    def test_get_naming_instance(self):
        client().add_naming_instance(SERVICE, IP, PORT, "testCluster2", 0.1, "{}", False, True)
        got = client().get_naming_instance(SERVICE, IP, PORT, "testCluster2")
        self.assertEqual(got["ip"], IP)
        self.assertEqual(got["clusterName"], "testCluster2")
        self.assertEqual(got["metadata"], {}, "a registration replaces the metadata")

    def test_list_naming_instance_offline(self):
        client().add_naming_instance(SERVICE, IP, PORT, "testCluster2", 0.1, "{}", False, True)
        self.assertEqual(len(client().list_naming_instance(SERVICE)["hosts"]), 0)

    def test_list_naming_instance_online(self):
        client().add_naming_instance(SERVICE, IP, PORT, "testCluster2", 0.1, "{}", True, True)
        self.assertEqual(len(client().list_naming_instance(SERVICE)["hosts"]), 1)

    def test_modify_naming_instance(self):
        # The instance sits in testCluster2; the modify names testCluster. Official 2.x
        # answers ok and the instance stays as it was (listed, enabled).
        self.assertIs(client().modify_naming_instance(
            SERVICE, IP, PORT, cluster_name="testCluster", enable=False,
            metadata='{"a":"a"}'), True)
        self.assertEqual(places(SERVICE), [("testCluster2", IP, PORT, True)])

    def test_modify_naming_instance_with_dict_metadata(self):
        self.assertIs(client().modify_naming_instance(
            SERVICE, IP, PORT, cluster_name="testCluster", enable=False,
            metadata={"a": "b"}), True)
        self.assertEqual(places(SERVICE), [("testCluster2", IP, PORT, True)])
        # Named in its own cluster, the modify applies, laid over the registration.
        self.assertIs(client().modify_naming_instance(
            SERVICE, IP, PORT, cluster_name="testCluster2", metadata={"b": "c"}), True)
        got = client().get_naming_instance(SERVICE, IP, PORT, "testCluster2")
        self.assertEqual(got["metadata"], {"b": "c"})

    def test_remove_naming_instance(self):
        # No cluster named: official 2.x finds the instance anyway.
        self.assertIs(client().remove_naming_instance(SERVICE, IP, PORT), True)
        self.assertEqual(places(SERVICE), [])

    def test_send_heartbeat(self):
        client().add_naming_instance(SERVICE, IP, PORT, "testCluster2", 0.1, "{}", False, True)
        beat = client().send_heartbeat(SERVICE, IP, PORT, "testCluster2", 0.1, "{}")
        self.assertGreater(beat["clientBeatInterval"], 0)
        self.assertEqual(beat["code"], 10200)

    def test_send_heartbeat_with_dict_metadata(self):
        client().add_naming_instance(
            SERVICE, IP, PORT, "testCluster2", 0.1, {"a": "c"}, False, True)
        beat = client().send_heartbeat(SERVICE, IP, PORT, "testCluster2", 0.1, {"a": "c"})
        self.assertGreater(beat["clientBeatInterval"], 0)
        # A beat without the cluster finds the same instance: no second one appears.
        client().send_heartbeat(SERVICE, IP, PORT)
        got = client().get_naming_instance(SERVICE, IP, PORT, "testCluster2")
        # The modify of testCluster2 made two cases ago ({"b": "c"}, enabled) outlived the
        # instance's removal: official 2.x keeps a modify 60 s after its instance goes, and a
        # registration there meanwhile takes it back, laid over the registration.
        self.assertEqual(got["metadata"], {"a": "c", "b": "c"})
        self.assertEqual(got["enabled"], True)
        self.assertEqual(
            len(client().list_naming_instance(SERVICE)["hosts"]), 1, "enabled by the modify")

    def test_service_subscribe(self):
        # Two listeners on two services, one unsubscribed, then polling stopped; here the
        # listeners must also hear the instances (the original only prints).
        c = client()
        heard = {OTHER_SERVICE: threading.Event(), SERVICE: threading.Event()}
        listener_cls = nacos.listener.SubscribeListener

        def on(service):
            def fn(event, instance):
                heard[service].set()
            return fn

        online_other = unique("online")
        c.subscribe(listener_cls(on(OTHER_SERVICE), "fn_listener1"), 0.05,
                    service_name=online_other)
        c.subscribe(listener_cls(on(SERVICE), "fn_listener2"), 0.05, service_name=SERVICE)
        # Registered after subscribing: the client's first poll only fills its cache.
        c.add_naming_instance(online_other, "1.0.0.8", PORT, "testCluster2")
        c.add_naming_instance(SERVICE, "1.0.0.9", PORT, "testCluster2")
        try:
            wait_until("the first listener hears its instance", heard[OTHER_SERVICE].is_set)
            wait_until("the second listener hears its instance", heard[SERVICE].is_set)
            c.unsubscribe(service_name=online_other, listener_name="fn_listener1")
        finally:
            c.stop_subscribe()


if __name__ == "__main__":
    import importlib.metadata
    print("nacos-sdk-python %s" % importlib.metadata.version("nacos-sdk-python"))
    unittest.main(verbosity=2)
