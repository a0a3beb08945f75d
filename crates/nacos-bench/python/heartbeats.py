"""nacos-sdk-python 1.0.0 keeping instances alive with its own heartbeats (one thread each).

Registers the instances with heartbeat_interval set, prints
REGISTERED <count> <seconds>, and lives until stdin closes. Instance i is
10.a.b.c:8080 (the three low bytes of i) in service bench-beat-<i % services>,
as the Rust client's are.
"""
import argparse
import logging
import os
import sys
import time

import nacos


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--instances", type=int, required=True)
    parser.add_argument("--services", type=int, required=True)
    parser.add_argument("--interval", type=float, required=True, help="seconds between beats")
    parser.add_argument("--log-dir", required=True)
    args = parser.parse_args()

    client = nacos.NacosClient(args.server, logDir=args.log_dir, log_level=logging.WARNING)
    start = time.perf_counter()
    for i in range(args.instances):
        ip = "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
        # cluster_name given: without it the instance lands in a cluster named "None" while
        # its beats go to DEFAULT (the client's known bug), and it would never stay healthy.
        client.add_naming_instance(
            "bench-beat-%d" % (i % args.services), ip, 8080,
            cluster_name="DEFAULT", heartbeat_interval=args.interval)
    print("REGISTERED %d %.3f" % (args.instances, time.perf_counter() - start), flush=True)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
