"""Sends the seed's naming calls through nacos-sdk-python 1.0.0 to one server.

The Rust wire comparison (crates/nacos-naming/tests/wire_python.rs) points this script at a
recording HTTP server, then makes the same calls with the Rust client and compares what both
sent. Before each step the script names it with `GET /__mark__?step=<name>`, so the recorder can
tell which requests belong to which step. The steps, their order and their arguments are the
Rust test's STEPS, one for one: change both together.

Usage: python record_seed_calls.py 127.0.0.1:PORT
"""

import sys
import urllib.parse
import urllib.request

import nacos

SERVICE = "user-service"
IP = "192.168.1.100"
PORT = 8080


def mark(server, step):
    query = urllib.parse.urlencode({"step": step})
    urllib.request.urlopen("http://%s/__mark__?%s" % (server, query), timeout=3).read()


def steps():
    """(step name, client kind, call): the seed's calls with every parameter the seed names."""
    return [
        # add_naming_instance
        ("add_minimal", "plain", lambda c: c.add_naming_instance(SERVICE, IP, PORT)),
        ("add_every_parameter", "plain", lambda c: c.add_naming_instance(
            SERVICE, IP, PORT, cluster_name="production", weight=1.5,
            metadata={"version": "1.0.0", "region": "us-west-1"},
            ephemeral=True, enable=True, healthy=True, group_name="microservices")),
        ("add_with_group", "plain", lambda c: c.add_naming_instance(
            SERVICE, IP, PORT, group_name="microservices")),
        ("add_persistent_disabled_unhealthy", "plain", lambda c: c.add_naming_instance(
            SERVICE, IP, PORT, weight=0.5, ephemeral=False, enable=False, healthy=False)),
        # remove_naming_instance
        ("remove_minimal", "plain", lambda c: c.remove_naming_instance(SERVICE, IP, PORT)),
        ("remove_every_parameter", "plain", lambda c: c.remove_naming_instance(
            SERVICE, IP, PORT, cluster_name="production", ephemeral=True,
            group_name="microservices")),
        ("remove_persistent", "plain", lambda c: c.remove_naming_instance(
            SERVICE, IP, PORT, ephemeral=False)),
        # modify_naming_instance
        ("modify_weight", "plain", lambda c: c.modify_naming_instance(
            SERVICE, IP, PORT, weight=2.0)),
        ("modify_every_parameter", "plain", lambda c: c.modify_naming_instance(
            SERVICE, IP, PORT, weight=2.0, metadata={"status": "updated"}, enable=False,
            cluster_name="production", group_name="microservices")),
        # list_naming_instance
        ("list_minimal", "plain", lambda c: c.list_naming_instance(SERVICE)),
        ("list_healthy_only", "plain", lambda c: c.list_naming_instance(
            SERVICE, healthy_only=True)),
        ("list_every_parameter", "plain", lambda c: c.list_naming_instance(
            SERVICE, clusters=["production", "staging"], namespace_id="production",
            group_name="microservices", healthy_only=True)),
        # get_naming_instance (1.0.0 takes no group)
        ("get_minimal", "plain", lambda c: c.get_naming_instance(SERVICE, IP, PORT)),
        ("get_with_cluster", "plain", lambda c: c.get_naming_instance(
            SERVICE, IP, PORT, cluster_name="production")),
        # send_heartbeat
        ("beat_minimal", "plain", lambda c: c.send_heartbeat(SERVICE, IP, PORT)),
        ("beat_every_parameter", "plain", lambda c: c.send_heartbeat(
            SERVICE, IP, PORT, weight=1.5, metadata={"status": "running"}, ephemeral=True,
            cluster_name="production", group_name="microservices")),
        # a client-wide namespace
        ("namespace_add", "namespaced", lambda c: c.add_naming_instance(SERVICE, IP, PORT)),
        ("namespace_list", "namespaced", lambda c: c.list_naming_instance(SERVICE)),
        ("namespace_get", "namespaced", lambda c: c.get_naming_instance(SERVICE, IP, PORT)),
        ("namespace_beat", "namespaced", lambda c: c.send_heartbeat(SERVICE, IP, PORT)),
        ("namespace_remove", "namespaced", lambda c: c.remove_naming_instance(SERVICE, IP, PORT)),
        # username/password: the login is part of building the client
        ("login_then_list", "login", lambda c: c.list_naming_instance(SERVICE)),
    ]


def client(kind, server):
    if kind == "plain":
        return nacos.NacosClient(server_addresses=server)
    if kind == "namespaced":
        return nacos.NacosClient(server_addresses=server, namespace="production")
    if kind == "login":
        return nacos.NacosClient(server_addresses=server, username="nacos", password="secret")
    raise ValueError(kind)


def main():
    server = sys.argv[1]
    clients = {}
    for name, kind, call in steps():
        mark(server, name)
        if kind not in clients:
            clients[kind] = client(kind, server)
        call(clients[kind])
    print("sent %d steps" % len(steps()))


if __name__ == "__main__":
    main()
