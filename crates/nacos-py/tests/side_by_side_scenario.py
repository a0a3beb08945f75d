"""One scripted scenario of naming calls, run by any package that provides `import nacos`:
this one, or nacos-sdk-python 1.0.0 in its own environment. Prints one JSON object: each
step's name and what it returned (reduced to what both can be compared on) or raised.

Usage: python side_by_side_scenario.py SERVER_ADDRESS SERVICE_NAME UNUSED_PORT
"""

import json
import sys
import tempfile
import warnings

import nacos

warnings.filterwarnings("ignore", category=DeprecationWarning)
address, svc, dead_port = sys.argv[1], sys.argv[2], sys.argv[3]
# nacos-sdk-python writes a log file: keep it out of the home directory.
log_dir = tempfile.mkdtemp(prefix="nacos-side-by-side-")
client = nacos.NacosClient(server_addresses=address, logDir=log_dir)
steps = []


def step(name, call, reduce=lambda value: value):
    try:
        value = reduce(call())
    except Exception as e:
        value = {"raised": type(e).__name__}
    steps.append([name, value])


def hosts(listed):
    return sorted([h["ip"], h["port"], h["clusterName"], h["weight"], h["healthy"],
                   h["enabled"], h["metadata"]] for h in listed["hosts"])


step("add with cluster, weight, metadata", lambda: client.add_naming_instance(
    svc, "10.20.0.1", 8080, cluster_name="c1", weight=1.5, metadata={"k": "v"}))
step("add with defaults", lambda: client.add_naming_instance(svc, "10.20.0.2", 8080))
step("add with string metadata", lambda: client.add_naming_instance(
    svc, "10.20.0.3", 8080, "c1", 1.0, '{"a": "b"}'))
step("list", lambda: client.list_naming_instance(svc), hosts)
step("list cacheMillis", lambda: client.list_naming_instance(svc)["cacheMillis"] > 0)
step("list one cluster", lambda: client.list_naming_instance(svc, clusters="c1"), hosts)
step("list healthy only", lambda: client.list_naming_instance(svc, healthy_only=True), hosts)
step("get", lambda: client.get_naming_instance(svc, "10.20.0.1", 8080, "c1"),
     lambda i: [i["ip"], i["port"], i["weight"], i["healthy"], i["metadata"]])
step("heartbeat", lambda: client.send_heartbeat(svc, "10.20.0.1", 8080, "c1"),
     lambda b: b["clientBeatInterval"] > 0)
step("modify weight", lambda: client.modify_naming_instance(
    svc, "10.20.0.1", 8080, cluster_name="c1", weight=3.0))
step("modify disable", lambda: client.modify_naming_instance(
    svc, "10.20.0.3", 8080, cluster_name="c1", enable=False))
step("list after modify", lambda: client.list_naming_instance(svc), hosts)
step("remove with cluster", lambda: client.remove_naming_instance(
    svc, "10.20.0.1", 8080, cluster_name="c1"))
step("remove with defaults", lambda: client.remove_naming_instance(svc, "10.20.0.2", 8080))
step("list after remove", lambda: client.list_naming_instance(svc), hosts)
step("add in a group", lambda: client.add_naming_instance(
    svc, "10.20.0.4", 8080, group_name="g1"))
step("list the group", lambda: client.list_naming_instance(svc, group_name="g1"), hosts)
step("get unknown instance", lambda: client.get_naming_instance(svc, "10.20.9.9", 1))
step("bad port", lambda: client.add_naming_instance(svc, "10.20.0.5", "http"))
dead = nacos.NacosClient(server_addresses="127.0.0.1:%s" % dead_port, logDir=log_dir)
step("no server", lambda: dead.list_naming_instance(svc))
print(json.dumps(steps))
