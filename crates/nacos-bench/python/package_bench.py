"""The Python package of this repository (nacos-naming-py) against nacos-sdk-python 1.0.0,
the same scripts run by each interpreter against one devserver (started by
`nacos-bench python-package`):

- list calls per second from one thread (list_loop.py);
- heartbeats for N instances in one process (heartbeats.py): threads, memory, and how many
  instances the server holds healthy a while after registration;
- change-to-listener latency (subscribe_events.py): this process registers an instance and
  times the listener's ADDED line in the subscriber process.

Run by the interpreter that has nacos-naming-py (it lists and registers for the measurements
with it); prints a table and the ratios.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

import nacos

HERE = os.path.dirname(os.path.abspath(__file__))


def script(name):
    return os.path.join(HERE, name)


def percentile(values, p):
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024.0


def list_rate(python, args):
    out = subprocess.run(
        [python, script("list_loop.py"), "--server", args.server, "--service", "bench-py-list",
         "--seconds", str(args.list_seconds), "--log-dir", args.log_dir],
        capture_output=True, text=True, timeout=args.list_seconds * 4 + 60, check=True)
    sample = json.loads(out.stdout.strip().splitlines()[-1])
    sample["rate"] = sample["calls"] / sample["seconds"]
    return sample


def heartbeats(python, args, client, label, instances):
    services = 10
    child = subprocess.Popen(
        [python, script("heartbeats.py"), "--server", args.server, "--instances",
         str(instances), "--services", str(services), "--interval",
         str(args.beat_interval), "--log-dir", args.log_dir],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline().split()
        if not line or line[0] != "REGISTERED":
            raise RuntimeError("%s heartbeats.py did not register" % label)
        registered_s = float(line[2])
        # Long enough for several beats and for the health timeout to mark the silent.
        time.sleep(args.health_wait)
        threads, rss_mb = proc_status(child.pid)
        healthy = 0
        for s in range(services):
            hosts = client.list_naming_instance("bench-beat-%d" % s)
            healthy += sum(1 for h in hosts if h["healthy"])
        return {"instances": instances, "registered_s": registered_s, "threads": threads,
                "rss_mb": rss_mb, "healthy": healthy}
    finally:
        child.stdin.close()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        # Leave nothing for the other client's run.
        for i in range(instances):
            ip = "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
            client.remove_naming_instance("bench-beat-%d" % (i % services), ip, 8080,
                                          cluster_name="DEFAULT")


class Subscriber(object):
    """subscribe_events.py in a child process; its EVENT lines by port."""

    def __init__(self, python, args, service):
        self.child = subprocess.Popen(
            [python, script("subscribe_events.py"), "--server", args.server, "--service",
             service, "--log-dir", args.log_dir],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.events = {}
        self.cond = threading.Condition()
        if self.child.stdout.readline().strip() != "READY":
            raise RuntimeError("subscribe_events.py did not start")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.child.stdout:
            parts = line.split()
            if len(parts) == 4 and parts[0] == "EVENT" and parts[1] == "ADDED":
                with self.cond:
                    self.events.setdefault(int(parts[2]), float(parts[3]))
                    self.cond.notify_all()

    def wait(self, port, timeout):
        with self.cond:
            self.cond.wait_for(lambda: port in self.events, timeout)
            return self.events.get(port)

    def close(self):
        self.child.stdin.close()
        try:
            self.child.wait(30)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()


def latency(python, args, client, label, changes):
    service = "bench-py-notify-%s" % label
    subscriber = Subscriber(python, args, service)
    try:
        # The listener announces changes from its first list on: add instances until one is
        # announced, so that the first list has been read.
        port = 19000
        while True:
            client.add_naming_instance(service, "10.9.0.1", port)
            if subscriber.wait(port, 20) is not None:
                break
            port += 1
            if port > 19010:
                raise RuntimeError("%s subscriber never announced an instance" % label)
        latencies = []
        missed = 0
        for k in range(changes):
            port = 20000 + k
            start = time.time()
            client.add_naming_instance(service, "10.9.0.1", port)
            seen = subscriber.wait(port, 30)
            if seen is None:
                # nacos-sdk-python 1.0.0 stops polling for good after one failed poll: a
                # change it never reports is counted, not waited for again.
                print("%s subscriber missed port %d" % (label, port), file=sys.stderr)
                missed += 1
                continue
            latencies.append((seen - start) * 1000.0)
        if not latencies:
            nan = float("nan")
            return {"changes": 0, "missed": missed, "p50_ms": nan, "p99_ms": nan, "max_ms": nan}
        return {"changes": len(latencies), "missed": missed,
                "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
                "max_ms": max(latencies)}
    finally:
        subscriber.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--old-python", required=True)
    parser.add_argument("--list-seconds", type=float, default=5.0)
    parser.add_argument("--instances", type=int, default=5000)
    # nacos-sdk-python starts a thread per instance: 5,000 take it many minutes to register on
    # a busy 2-core machine, so it is measured with fewer (the table says how many).
    parser.add_argument("--old-instances", type=int, default=500)
    parser.add_argument("--beat-interval", type=float, default=1.0)
    parser.add_argument("--health-wait", type=float, default=8.0)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--old-changes", type=int, default=5)
    parser.add_argument("--log-dir", required=True)
    args = parser.parse_args()

    client = nacos.NacosClient(args.server)
    for i in range(10):
        client.add_naming_instance("bench-py-list", "10.8.0.%d" % i, 8080)
    sides = [("nacos-sdk-python 1.0.0", args.old_python, args.old_changes, args.old_instances),
             ("nacos-naming-py", sys.executable, args.changes, args.instances)]
    results = {}
    for label, python, changes, instances in sides:
        print("measuring %s ..." % label, file=sys.stderr, flush=True)
        results[label] = {
            "list": list_rate(python, args),
            "beats": heartbeats(python, args, client, label, instances),
            "notify": latency(python, args, client, label.split()[0], changes),
        }
    old, new = results[sides[0][0]], results[sides[1][0]]
    rows = [
        ("list calls/s, one thread", "%.0f", lambda r: r["list"]["rate"]),
        ("list p50 (us)", "%.0f", lambda r: r["list"]["p50_us"]),
        ("list p99 (us)", "%.0f", lambda r: r["list"]["p99_us"]),
        ("instances kept alive", "%d", lambda r: r["beats"]["instances"]),
        ("  registration (s)", "%.1f", lambda r: r["beats"]["registered_s"]),
        ("  threads", "%d", lambda r: r["beats"]["threads"]),
        ("  RSS (MiB)", "%.0f", lambda r: r["beats"]["rss_mb"]),
        ("  healthy %.0f s after registration" % args.health_wait, "%d",
         lambda r: r["beats"]["healthy"]),
        ("change-to-listener p50 (ms)", "%.1f", lambda r: r["notify"]["p50_ms"]),
        ("change-to-listener p99 (ms)", "%.1f", lambda r: r["notify"]["p99_ms"]),
        ("changes timed", "%d", lambda r: r["notify"]["changes"]),
        ("changes never reported", "%d", lambda r: r["notify"]["missed"]),
    ]
    width = max(len(r[0]) for r in rows)
    print("%-*s  %22s  %16s" % (width, "", sides[0][0], sides[1][0]))
    for name, fmt, get in rows:
        print("%-*s  %22s  %16s" % (width, name, fmt % get(old), fmt % get(new)))
    ratio = new["list"]["rate"] / old["list"]["rate"]
    print()
    print("list calls/s: %.1fx nacos-sdk-python 1.0.0 (goal >= 10x: %s)"
          % (ratio, "met" if ratio >= 10 else "MISSED"))
    p99 = new["notify"]["p99_ms"]
    met = p99 <= 20 and new["notify"]["missed"] == 0
    print("change-to-listener p99 with push: %.1f ms (goal <= 20 ms: %s)"
          % (p99, "met" if met else "MISSED"))
    print("heartbeats: %d of %d healthy with %d threads (nacos-sdk-python 1.0.0: %d of %d "
          "with %d threads)" % (new["beats"]["healthy"], args.instances, new["beats"]["threads"],
                                old["beats"]["healthy"], args.old_instances,
                                old["beats"]["threads"]))
    client.shutdown()


if __name__ == "__main__":
    main()
