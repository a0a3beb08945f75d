"""nacos-sdk-python 1.0.0's subscribe, printing each listener call with its wall-clock time.

Prints READY once subscribed (its first poll is done), then one line per call:
EVENT <ADDED|MODIFIED|DELETED> <port> <unix time in seconds>. Exits when stdin closes.
"""
import argparse
import logging
import os
import sys
import time

import nacos
from nacos.listener import SubscribeListener


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--log-dir", required=True)
    args = parser.parse_args()

    client = nacos.NacosClient(args.server, logDir=args.log_dir, log_level=logging.WARNING)

    def on_change(event, instance):
        now = time.time()
        print("EVENT %s %d %.6f" % (event, int(instance.instance["port"]), now), flush=True)

    # The default interval: 7 s between polls.
    client.subscribe(SubscribeListener(on_change, "bench"), service_name=args.service)
    print("READY", flush=True)
    sys.stdin.read()
    # Its poll timers are not daemon threads: leave without waiting for them.
    os._exit(0)


if __name__ == "__main__":
    main()
