"""Every usage example of the seed, verbatim (inside the functions, after `client` is made),
against a fresh server of each kind; after each, what the seed says it does.

The seed registers one ip:port in two clusters (DEFAULT and "production"). Servers of the 1.x
line keep two instances; Nacos 2.x and 3.x (and rnacos 0.8.8) keep one instance per ip:port
and ephemeral kind, so the second registration moves it into "production" (protocol.md §10). The
devserver runs in its default line (2) and in line 1.4, and each check says what that server
does: where the seed's walkthrough only makes sense with two instances, the check runs on the
servers that keep two."""

import textwrap

import pytest

import nacos
from conftest import DevServer, Rnacos, run_python, wait_until

# Each server the seed runs against, and whether it keeps one instance per (ip, port, cluster)
# as Nacos 1.x does (True) or one per (ip, port) as Nacos 2.x and 3.x do (False); rnacos 0.8.8
# moves the instance as 2.x does.
SEED_SERVERS = {
    "devserver": (DevServer, False),
    "devserver-1.4": (lambda: DevServer("--nacos-version", "1.4"), True),
    "rnacos": (Rnacos, False),
}


@pytest.fixture(params=sorted(SEED_SERVERS))
def fresh_server(request):
    start, cluster_is_identity = SEED_SERVERS[request.param]
    server = start()
    server.cluster_is_identity = cluster_is_identity
    yield server
    server.stop()


@pytest.fixture
def client(fresh_server):
    c = nacos.NacosClient(server_addresses=fresh_server.address)
    c.cluster_is_identity = fresh_server.cluster_is_identity
    yield c
    c.shutdown()


def needs_two_instances(client):
    """Skips a walkthrough that assumes the seed's two registrations stay two instances."""
    if not client.cluster_is_identity:
        pytest.skip("the seed's walkthrough assumes 1.x identity: on this line its second "
                    "registration moved the instance (checked in test_registration)")


def instances_of(client, **kwargs):
    return {(i["ip"], i["port"], i["clusterName"]): i
            for i in client.list_naming_instance("user-service", **kwargs)}


def register_examples(client):
    # Basic instance registration
    client.add_naming_instance("user-service", "192.168.1.100", 8080)

    # Registration with metadata
    metadata = {
        "version": "1.0.0",
        "region": "us-west-1",
        "zone": "us-west-1a"
    }
    client.add_naming_instance(
        service_name="user-service",
        ip="192.168.1.100",
        port=8080,
        cluster_name="production",
        weight=1.5,
        metadata=metadata
    )

    # Registration with custom group
    client.add_naming_instance(
        service_name="user-service",
        ip="192.168.1.100",
        port=8080,
        group_name="microservices"
    )


def test_registration(client):
    register_examples(client)
    found = instances_of(client)
    if client.cluster_is_identity:
        assert set(found) == {("192.168.1.100", 8080, "DEFAULT"),
                              ("192.168.1.100", 8080, "production")}
    else:
        assert set(found) == {("192.168.1.100", 8080, "production")}
    production = found[("192.168.1.100", 8080, "production")]
    assert production["weight"] == 1.5
    assert production["metadata"] == {"version": "1.0.0", "region": "us-west-1",
                                      "zone": "us-west-1a"}
    grouped = client.list_naming_instance("user-service", group_name="microservices")
    assert [(i["ip"], i["port"]) for i in grouped] == [("192.168.1.100", 8080)]


def test_deregistration(client):
    register_examples(client)

    # Basic instance deregistration
    client.remove_naming_instance("user-service", "192.168.1.100", 8080)

    # Deregistration from specific cluster
    client.remove_naming_instance(
        service_name="user-service",
        ip="192.168.1.100",
        port=8080,
        cluster_name="production"
    )

    # Deregistration from custom group
    client.remove_naming_instance(
        service_name="user-service",
        ip="192.168.1.100",
        port=8080,
        group_name="microservices"
    )

    assert list(client.list_naming_instance("user-service")) == []
    assert list(client.list_naming_instance("user-service", group_name="microservices")) == []


def test_modification(client):
    needs_two_instances(client)
    register_examples(client)

    # Update instance weight
    client.modify_naming_instance("user-service", "192.168.1.100", 8080, weight=2.0)
    assert instances_of(client)[("192.168.1.100", 8080, "DEFAULT")]["weight"] == 2.0

    # Update metadata
    new_metadata = {
        "version": "1.1.0",
        "region": "us-west-1",
        "status": "updated"
    }
    client.modify_naming_instance(
        service_name="user-service",
        ip="192.168.1.100",
        port=8080,
        metadata=new_metadata
    )
    assert instances_of(client)[("192.168.1.100", 8080, "DEFAULT")]["metadata"] == new_metadata

    # Disable instance
    client.modify_naming_instance("user-service", "192.168.1.100", 8080, enabled=False)
    assert ("192.168.1.100", 8080, "DEFAULT") not in instances_of(client)


def test_listing(client, capsys):
    register_examples(client)

    # List all instances
    instances = client.list_naming_instance("user-service")
    for instance in instances:
        print(f"Instance: {instance['ip']}:{instance['port']}")

    # List healthy instances only
    healthy_instances = client.list_naming_instance("user-service", healthy_only=True)

    # List instances from specific clusters
    instances = client.list_naming_instance(
        service_name="user-service",
        clusters=["production", "staging"]
    )

    # List instances from custom group and namespace
    instances = client.list_naming_instance(
        service_name="user-service",
        namespace_id="production",
        group_name="microservices"
    )

    expected = 2 if client.cluster_is_identity else 1
    assert capsys.readouterr().out.count("Instance: 192.168.1.100:8080\n") == expected
    assert len(healthy_instances) == expected
    production = client.list_naming_instance(
        service_name="user-service", clusters=["production", "staging"])
    assert [i["clusterName"] for i in production] == ["production"]
    assert list(instances) == []  # nothing registered in namespace "production"


def test_querying(client, capsys):
    needs_two_instances(client)
    register_examples(client)

    # Get instance details
    instance = client.get_naming_instance("user-service", "192.168.1.100", 8080)
    print(f"Instance details: {instance}")
    print(f"Health status: {instance.get('healthy', 'unknown')}")
    print(f"Metadata: {instance.get('metadata', {})}")

    # Get instance from specific cluster
    instance = client.get_naming_instance(
        service_name="user-service",
        ip="192.168.1.100",
        port=8080,
        cluster_name="production"
    )

    out = capsys.readouterr().out
    assert "Health status: True" in out
    assert instance["ip"] == "192.168.1.100" and instance["port"] == 8080
    assert instance["metadata"]["zone"] == "us-west-1a"


def test_heartbeat(client, capsys):
    register_examples(client)

    # Send basic heartbeat
    response = client.send_heartbeat("user-service", "192.168.1.100", 8080)
    print(f"Server time: {response.get('clientBeatInterval', 'unknown')}")

    # Send heartbeat with metadata
    metadata = {"status": "running", "cpu": "20%", "memory": "512MB"}
    response = client.send_heartbeat(
        service_name="user-service",
        ip="192.168.1.100",
        port=8080,
        weight=1.5,
        metadata=metadata
    )

    assert response["clientBeatInterval"] > 0
    assert "Server time: unknown" not in capsys.readouterr().out


def test_periodic_heartbeat_then_exit(fresh_server):
    """The seed's heartbeat thread, in a process of its own that then exits while the daemon
    thread sleeps or calls: the exit is clean and quick."""
    script = textwrap.dedent("""
        import nacos
        client = nacos.NacosClient(server_addresses=%r)
        client.add_naming_instance("user-service", "192.168.1.100", 8080)

        # Periodic heartbeat example
        import time
        import threading

        def heartbeat_worker():
            while True:
                try:
                    client.send_heartbeat("user-service", "192.168.1.100", 8080)
                    time.sleep(5) # Send heartbeat every 5 seconds
                except Exception as e:
                    print(f"Heartbeat failed: {e}")

        heartbeat_thread = threading.Thread(target=heartbeat_worker, daemon=True)
        heartbeat_thread.start()
        print("started")
    """) % fresh_server.address
    done = run_python(script, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "started" in done.stdout and "Heartbeat failed" not in done.stdout


def test_subscription(client, capsys):
    needs_two_instances(client)
    register_examples(client)
    seen = []

    def service_change_handler(event):
        print(f"Service changed: {event}")
        # Handle service instance changes
        instances = event.get('hosts', [])
        for instance in instances:
            print(f"  Instance: {instance['ip']}:{instance['port']} - {instance['healthy']}")

    # Subscribe to service changes
    client.subscribe(
        service_name="user-service",
        listener_fn=service_change_handler
    )

    # Subscribe to specific cluster
    client.subscribe(
        service_name="user-service",
        listener_fn=service_change_handler,
        cluster_name="production"
    )

    # Subscribe with custom group
    client.subscribe(
        service_name="user-service",
        listener_fn=service_change_handler,
        group_name="microservices"
    )

    def printed():
        seen.append(capsys.readouterr().out)
        return "".join(seen).count("  Instance: 192.168.1.100:8080 - True") >= 4
    # Two instances in the whole service, one in the production cluster, one in the group.
    wait_until("the three first events", printed)

    # Unsubscribe specific listener
    client.unsubscribe("user-service", service_change_handler)

    # Unsubscribe all listeners for a service
    client.unsubscribe("user-service")

    # Stop all subscriptions
    client.stop_subscribe()

    # A later change reaches a new listener and none of the removed ones.
    capsys.readouterr()
    probe = []
    client.subscribe("user-service", probe.append)
    client.add_naming_instance("user-service", "192.168.1.101", 8080)
    wait_until("the probe hears of the new instance", lambda: any(
        i["ip"] == "192.168.1.101" for e in probe for i in e["hosts"]))
    assert "192.168.1.101" not in capsys.readouterr().out
