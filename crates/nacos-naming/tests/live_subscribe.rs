//! Subscriptions against real servers: nacos-devserver (UDP push) and rnacos (polling only).

mod live_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use live_support::{addresses, fast_client, Events, WAIT};
use nacos_devserver::DevServer;
use nacos_naming::{Error, NamingClient, ServiceEvent};
use nacos_test_support::{skip_unless_rnacos, unique, Rnacos};

/// Registers, modifies and removes one instance and checks the listener saw exactly that.
fn add_modify_remove(client: &NamingClient, events: &Events, service: &str) {
    let first = events.nth(1);
    assert!(
        first.is_empty() && first.service.hosts.is_empty(),
        "{first:#?}"
    );
    client
        .add_naming_instance(service, "10.1.0.1", 8080)
        .metadata([("version", "1")])
        .group_name("G")
        .send()
        .unwrap();
    let added = events.nth(2);
    assert_eq!(addresses(&added.added), ["10.1.0.1:8080"]);
    assert!(added.removed.is_empty() && added.modified.is_empty());
    assert_eq!(added.added[0].metadata["version"], "1");

    client
        .modify_naming_instance(service, "10.1.0.1", 8080)
        .weight(2.5)
        .group_name("G")
        .send()
        .unwrap();
    let modified = events.nth(3);
    assert_eq!(addresses(&modified.modified), ["10.1.0.1:8080"]);
    assert_eq!(modified.modified[0].weight, 2.5);
    assert_eq!(modified.modified[0].metadata["version"], "1");
    assert!(modified.added.is_empty() && modified.removed.is_empty());

    client
        .remove_naming_instance(service, "10.1.0.1", 8080)
        .group_name("G")
        .send()
        .unwrap();
    let removed = events.nth(4);
    assert_eq!(addresses(&removed.removed), ["10.1.0.1:8080"]);
    assert!(removed.service.hosts.is_empty());
    // Nothing else happened, so nothing else is told.
    events.assert_quiet_for(Duration::from_millis(300));
}

/// With push, changes arrive although polls are an hour apart.
#[test]
fn sees_add_modify_remove_in_order_by_push_from_devserver() {
    let server = DevServer::builder().start().unwrap();
    let client = fast_client(&server.addr().to_string())
        .poll_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let service = unique("push-order");
    let events = Events::subscribe(&client, &service, Some("G"));
    add_modify_remove(&client, &events, &service);
}

/// Without push (rnacos has none), polling alone delivers every change.
#[test]
fn sees_add_modify_remove_in_order_by_polling_rnacos() {
    skip_unless_rnacos!();
    let server = Rnacos::start().unwrap();
    let client = fast_client(&server.address()).build().unwrap();
    let service = unique("poll-order");
    let events = Events::subscribe(&client, &service, Some("G"));
    add_modify_remove(&client, &events, &service);
}

/// A push is fast: the listener of another client hears of a registration in milliseconds.
#[test]
fn a_push_reaches_another_clients_listener_quickly() {
    let server = DevServer::builder().start().unwrap();
    let address = server.addr().to_string();
    let watcher = fast_client(&address)
        .poll_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let writer = fast_client(&address).udp_push(false).build().unwrap();
    let service = unique("push-fast");
    let events = Events::subscribe(&watcher, &service, None);
    events.nth(1);
    let started = Instant::now();
    writer
        .add_naming_instance(&service, "10.1.0.2", 1)
        .send()
        .unwrap();
    events.nth(2);
    // Far below the hour between polls; loose enough for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// Subscriptions are told apart by group, cluster and namespace.
#[test]
fn keys_subscriptions_by_group_cluster_and_namespace() {
    let server = DevServer::builder().start().unwrap();
    let client = fast_client(&server.addr().to_string()).build().unwrap();
    let service = unique("keys");
    let (in_a, in_b, in_c1, in_ns) = (Events::new(), Events::new(), Events::new(), Events::new());
    client
        .subscribe(&service, in_a.listener())
        .group_name("A")
        .send()
        .unwrap();
    client
        .subscribe(&service, in_b.listener())
        .group_name("B")
        .send()
        .unwrap();
    client
        .subscribe(&service, in_c1.listener())
        .group_name("A")
        .cluster_name("c1")
        .send()
        .unwrap();
    client
        .subscribe(&service, in_ns.listener())
        .group_name("A")
        .namespace_id("other")
        .send()
        .unwrap();
    for events in [&in_a, &in_b, &in_c1, &in_ns] {
        events.nth(1);
    }
    client
        .add_naming_instance(&service, "10.1.0.3", 1)
        .group_name("A")
        .cluster_name("c2")
        .send()
        .unwrap();
    assert_eq!(addresses(&in_a.nth(2).added), ["10.1.0.3:1"]);
    client
        .add_naming_instance(&service, "10.1.0.4", 1)
        .group_name("A")
        .cluster_name("c1")
        .send()
        .unwrap();
    assert_eq!(addresses(&in_c1.nth(2).added), ["10.1.0.4:1"]);
    assert_eq!(addresses(&in_a.nth(3).added), ["10.1.0.4:1"]);
    for quiet in [&in_b, &in_ns] {
        quiet.assert_quiet_for(Duration::from_millis(200));
        assert_eq!(quiet.len(), 1);
    }
    // The cluster subscription never heard of c2.
    assert_eq!(in_c1.len(), 2);
}

/// An empty list is delivered by default (everyone learns every instance is gone) and held
/// back when configured.
#[test]
fn delivers_empty_lists_unless_told_not_to() {
    let server = DevServer::builder().start().unwrap();
    let address = server.addr().to_string();
    for deliver in [true, false] {
        let client = fast_client(&address)
            .deliver_empty_lists(deliver)
            .build()
            .unwrap();
        let service = unique("empty");
        client
            .add_naming_instance(&service, "10.1.0.5", 1)
            .send()
            .unwrap();
        let events = Events::subscribe(&client, &service, None);
        assert_eq!(addresses(&events.nth(1).added), ["10.1.0.5:1"]);
        client
            .remove_naming_instance(&service, "10.1.0.5", 1)
            .send()
            .unwrap();
        if deliver {
            assert!(events.nth(2).service.hosts.is_empty());
        } else {
            events.assert_quiet_for(Duration::from_millis(400));
            // What subscribers hold (and select from) is still the last non-empty list.
            let kept = client.select_one_healthy_instance(&service).send().unwrap();
            assert_eq!(kept.address(), "10.1.0.5:1");
        }
    }
}

/// A listener that panics, and one that blocks, hold up no other listener and kill no thread.
#[test]
fn a_panicking_or_blocked_listener_harms_no_other() {
    let server = DevServer::builder().start().unwrap();
    let client = fast_client(&server.addr().to_string()).build().unwrap();
    let service = unique("bad-listeners");
    let panics = Arc::new(AtomicUsize::new(0));
    let last_seen = Arc::new(AtomicUsize::new(0));
    let (counted, seen) = (panics.clone(), last_seen.clone());
    client
        .subscribe(&service, move |e: &ServiceEvent| {
            counted.fetch_add(1, Ordering::SeqCst);
            seen.store(e.service.hosts.len(), Ordering::SeqCst);
            panic!("a listener bug");
        })
        .send()
        .unwrap();
    let (release, blocked) = mpsc::channel::<()>();
    let blocked = Mutex::new(blocked);
    client
        .subscribe(&service, move |_: &ServiceEvent| {
            let _ = blocked.lock().unwrap().recv();
        })
        .send()
        .unwrap();
    let events = Events::subscribe(&client, &service, None);
    events.nth(1);
    for port in 1..=3 {
        client
            .add_naming_instance(&service, "10.1.0.6", port)
            .send()
            .unwrap();
        events.wait("the new instance", |e| {
            e.last()
                .is_some_and(|e| e.service.hosts.len() == port as usize)
        });
    }
    // The panicking listener stays subscribed: called again after panicking, up to the
    // newest list (changes that arrive while it runs are folded into one call).
    assert!(nacos_test_support::wait_until(WAIT, || {
        last_seen.load(Ordering::SeqCst) == 3
    }));
    assert!(panics.load(Ordering::SeqCst) >= 2);
    release.send(()).unwrap();
    drop(release);
}

/// Unsubscribing one listener leaves the others; unsubscribing the rest ends the events.
#[test]
fn unsubscribe_removes_one_listener_or_all() {
    let server = DevServer::builder().start().unwrap();
    let client = fast_client(&server.addr().to_string()).build().unwrap();
    let service = unique("unsubscribe");
    let (one, two) = (Events::new(), Events::new());
    let id = client.subscribe(&service, one.listener()).send().unwrap();
    client.subscribe(&service, two.listener()).send().unwrap();
    one.nth(1);
    two.nth(1);
    client.unsubscribe(&service).listener(id).send().unwrap();
    client
        .add_naming_instance(&service, "10.1.0.7", 1)
        .send()
        .unwrap();
    two.nth(2);
    one.assert_quiet_for(Duration::from_millis(200));
    client.unsubscribe(&service).send().unwrap();
    client
        .add_naming_instance(&service, "10.1.0.7", 2)
        .send()
        .unwrap();
    two.assert_quiet_for(Duration::from_millis(300));
    assert_eq!((one.len(), two.len()), (1, 2));
    // Unsubscribing what is not subscribed is fine.
    client.unsubscribe("never-subscribed").send().unwrap();
}

/// While every server is down, subscribers keep their list and hear nothing; once a server
/// returns, the beats bring the instance back and the next change is delivered (so beat, poll
/// and notify threads all lived on).
#[test]
fn all_servers_down_then_back() {
    let server = DevServer::builder().start().unwrap();
    let addr = server.addr();
    let client = fast_client(&addr.to_string()).build().unwrap();
    let service = unique("outage");
    let events = Events::subscribe(&client, &service, None);
    client
        .add_naming_instance(&service, "10.1.0.8", 1)
        .send()
        .unwrap();
    events.wait("the instance", |e| {
        e.last().is_some_and(|e| e.service.hosts.len() == 1)
    });
    let heard = events.len();

    server.shutdown().unwrap();
    events.assert_quiet_for(Duration::from_millis(800));
    assert_eq!(events.len(), heard);
    // The last list stays available.
    let kept = client.select_one_healthy_instance(&service).send().unwrap();
    assert_eq!(kept.address(), "10.1.0.8:1");

    // Back on the same port, empty (the devserver keeps ephemeral data in memory).
    let _server = DevServer::builder().bind(addr.to_string()).start().unwrap();
    client
        .add_naming_instance(&service, "10.1.0.8", 2)
        .send()
        .unwrap();
    // The beats went on through the outage: the first instance is back on the new server.
    assert!(nacos_test_support::wait_until(WAIT, || {
        let listed = client.list_naming_instance(&service).send();
        listed.is_ok_and(|s| s.hosts.iter().any(|h| h.port == 1))
    }));
    events.wait("the change after the outage", |e| {
        e[heard..]
            .iter()
            .any(|e| addresses(&e.added).contains(&"10.1.0.8:2".to_owned()))
    });
}

/// Subscribing checks its arguments before anything is sent; an unreachable server is not an
/// error (the subscription waits for it).
#[test]
fn subscribe_refuses_bad_arguments_and_waits_for_servers() {
    let client = fast_client("127.0.0.1:1").build().unwrap();
    for bad in [
        client.subscribe(" ", |_: &ServiceEvent| {}).send(),
        client
            .subscribe("s", |_: &ServiceEvent| {})
            .group_name("a@@b")
            .send(),
        client
            .subscribe("s", |_: &ServiceEvent| {})
            .cluster_name("x y")
            .send(),
    ] {
        assert!(matches!(bad, Err(Error::InvalidParam { .. })), "{bad:?}");
    }
    let events = Events::subscribe(&client, "s", None);
    events.assert_quiet_for(Duration::from_millis(300));
}
