"""Sequential list_naming_instance calls by nacos-sdk-python 1.0.0 for a fixed time.

Prints one JSON line: {"calls", "seconds", "p50_us", "p99_us", "cpu_s", "hosts"}
(cpu_s: the interpreter's CPU time over the timed calls).
"""
import argparse
import json
import logging
import time

import nacos


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--log-dir", required=True)
    args = parser.parse_args()

    client = nacos.NacosClient(args.server, logDir=args.log_dir, log_level=logging.WARNING)
    hosts = len(client.list_naming_instance(args.service)["hosts"])
    for _ in range(20):  # warm-up
        client.list_naming_instance(args.service)

    latencies = []
    cpu_start = time.process_time()
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        t = time.perf_counter()
        client.list_naming_instance(args.service)
        latencies.append(time.perf_counter() - t)
    seconds = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start

    latencies.sort()

    def percentile(p):
        rank = max(1, min(len(latencies), int(-(-p * len(latencies) // 100))))
        return latencies[rank - 1] * 1e6

    print(json.dumps({
        "calls": len(latencies),
        "seconds": seconds,
        "p50_us": percentile(50),
        "p99_us": percentile(99),
        "cpu_s": cpu_s,
        "hosts": hosts,
    }))


if __name__ == "__main__":
    main()
