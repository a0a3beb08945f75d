"""Both subscribe forms deliver additions, modifications and removals in order; listeners
that raise; unsubscribing by function, listener and name."""

import sys
import threading

import pytest

from nacos.listener import Event, SubscribeListener
from conftest import unique, wait_until


def changes(events):
    """(kind, ip, weight) of each change in the events, in order."""
    out = []
    for event in events:
        for kind in ("added", "modified", "removed"):
            out.extend((kind, i["ip"], i["weight"]) for i in event[kind])
    return out


def test_seed_form_delivers_add_modify_remove_in_order(client):
    svc, events = unique(), []
    client.subscribe(svc, events.append)
    client.add_naming_instance(svc, "10.1.0.1", 80)
    wait_until("added", lambda: changes(events) == [("added", "10.1.0.1", 1.0)])
    client.modify_naming_instance(svc, "10.1.0.1", 80, weight=2.5)
    wait_until("modified", lambda: changes(events)[1:] == [("modified", "10.1.0.1", 2.5)])
    client.remove_naming_instance(svc, "10.1.0.1", 80)
    wait_until("removed", lambda: changes(events)[2:] == [("removed", "10.1.0.1", 2.5)])
    last = events[-1]
    assert last["hosts"] == [] and last["name"].endswith(svc)
    for key in ("groupName", "clusters", "cacheMillis", "lastRefTime", "checksum"):
        assert key in last


def test_old_form_delivers_added_modified_deleted_in_order(client):
    svc, calls = unique(), []
    client.add_naming_instance(svc, "10.2.0.1", 80)
    listener = SubscribeListener(
        fn=lambda event, instance: calls.append((event, instance.instance["ip"])),
        listener_name="recorder")
    client.subscribe(listener, 7, service_name=svc)
    # The list found when subscribing is where changes count from: wait until it is read.
    wait_until("first list read", lambda: not client._subscriptions[svc][0].listener.first)
    client.add_naming_instance(svc, "10.2.0.2", 80)
    wait_until("ADDED", lambda: calls == [(Event.ADDED, "10.2.0.2")])
    client.modify_naming_instance(svc, "10.2.0.2", 80, weight=4)
    wait_until("MODIFIED", lambda: calls[1:] == [(Event.MODIFIED, "10.2.0.2")])
    client.remove_naming_instance(svc, "10.2.0.2", 80)
    wait_until("DELETED", lambda: calls[2:] == [(Event.DELETED, "10.2.0.2")])
    assert len(calls) == 3


def test_old_form_healthy_only_counts_disabled_health(client):
    svc, calls = unique(), []
    listener = SubscribeListener(fn=lambda e, i: calls.append((e, i.instance["ip"])),
                                 listener_name="healthy")
    client.subscribe(listener, 7, svc, None, None, None, True)
    wait_until("first list read", lambda: not client._subscriptions[svc][0].listener.first)
    client.add_naming_instance(svc, "10.3.0.1", 80)
    wait_until("ADDED", lambda: calls == [(Event.ADDED, "10.3.0.1")])


def test_a_listener_that_raises_goes_to_unraisablehook_and_stops_nothing(client, monkeypatch):
    svc, reported, seen = unique(), [], []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    def bad(event):
        seen.append(event)
        raise ValueError("listener bug")

    client.subscribe(svc, bad)
    client.add_naming_instance(svc, "10.4.0.1", 80)
    wait_until("reported", lambda: any(isinstance(r.exc_value, ValueError) for r in reported))
    assert any(r.object is bad for r in reported)
    client.add_naming_instance(svc, "10.4.0.2", 80)
    wait_until("the next event still comes", lambda: any(
        len(e["hosts"]) == 2 for e in seen))


def test_unsubscribe_by_function_listener_and_name(client):
    svc = unique()
    heard = {"fn": [], "obj": [], "named": [], "kept": []}
    fn = heard["fn"].append
    obj = SubscribeListener(fn=lambda e, i: heard["obj"].append(e), listener_name="obj")
    named = SubscribeListener(fn=lambda e, i: heard["named"].append(e), listener_name="named")
    client.subscribe(svc, fn)
    client.subscribe(obj, 7, svc)
    client.subscribe(named, 7, svc)
    client.subscribe(svc, heard["kept"].append)
    wait_until("all first events", lambda: heard["fn"] and heard["kept"] and all(
        not s.listener.first for s in client._subscriptions[svc]
        if hasattr(s.listener, "first")))
    client.unsubscribe(svc, fn)
    client.unsubscribe(svc, listener_fn=obj)
    client.unsubscribe(svc, "named")
    before = {k: len(v) for k, v in heard.items()}
    client.add_naming_instance(svc, "10.5.0.1", 80)
    wait_until("the kept listener hears", lambda: len(heard["kept"]) > before["kept"])
    assert {k: len(v) for k, v in heard.items() if k != "kept"} == {
        k: v for k, v in before.items() if k != "kept"}


def test_listeners_run_one_at_a_time_off_the_calling_thread(client):
    svc, threads = unique(), []
    client.subscribe(svc, lambda e: threads.append(threading.current_thread().name))
    client.add_naming_instance(svc, "10.6.0.1", 80)
    wait_until("called", lambda: threads)
    assert threading.main_thread().name not in threads


@pytest.mark.parametrize("form", ["seed", "old"])
def test_subscribe_without_service_name_is_refused(client, form):
    from nacos import NacosException
    with pytest.raises((NacosException, TypeError)):
        if form == "seed":
            client.subscribe(listener_fn=print)
        else:
            client.subscribe(SubscribeListener(print, "x"))
