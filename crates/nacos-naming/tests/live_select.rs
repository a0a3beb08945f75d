//! `select_one_healthy_instance` against the devserver: weighted, healthy and enabled only.

mod live_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use live_support::{fast_client, Events};
use nacos_devserver::DevServer;
use nacos_naming::{Error, NamingClient};
use nacos_test_support::unique;

/// Picks follow fractional weights; disabled, weight-0 and unhealthy instances are never
/// picked; with none left the answer is an error, not a panic.
#[test]
fn picks_by_weight_among_instances_that_take_traffic() {
    // The beating instances keep the server's long health timeout, so a loaded machine that
    // delays their beats does not turn them unhealthy; only port 5 has a short one.
    let server = DevServer::builder()
        .health_timeout(Duration::from_secs(30))
        .expire_timeout(Duration::from_secs(60))
        .start()
        .unwrap();
    let client = fast_client(&server.addr().to_string()).build().unwrap();
    let service = unique("select");
    let add = |port: u16, weight: f64| {
        client
            .add_naming_instance(&service, "10.7.0.1", port)
            .weight(weight)
            .cluster_name("c1")
            .send()
            .unwrap();
    };
    add(1, 0.5);
    add(2, 1.5);
    add(3, 0.0);
    add(4, 1.0);
    client
        .modify_naming_instance(&service, "10.7.0.1", 4)
        .cluster_name("c1")
        .enabled(false)
        .send()
        .unwrap();
    // Port 5 is registered without beats and turns unhealthy after its own 300 ms.
    client
        .add_naming_instance(&service, "10.7.0.1", 5)
        .weight(100.0)
        .cluster_name("c1")
        .metadata([
            ("preserved.heart.beat.timeout", "300"),
            ("preserved.ip.delete.timeout", "60000"),
        ])
        .heartbeat(false)
        .send()
        .unwrap();
    assert!(nacos_test_support::wait_until(live_support::WAIT, || {
        client
            .list_naming_instance(&service)
            .send()
            .unwrap()
            .hosts
            .iter()
            .any(|h| h.port == 5 && !h.healthy)
    }));

    let mut picks: HashMap<u16, usize> = HashMap::new();
    for _ in 0..2000 {
        let instance = client
            .select_one_healthy_instance(&service)
            .cluster_name("c1")
            .send()
            .unwrap();
        *picks.entry(instance.port).or_default() += 1;
    }
    assert_eq!(
        picks.keys().filter(|p| ![1, 2].contains(*p)).count(),
        0,
        "{picks:?}"
    );
    let share = picks[&1] as f64 / 2000.0;
    assert!(
        (0.19..0.31).contains(&share),
        "{share} of picks for weight 0.5 of 2.0"
    );

    // From a subscription's list: no request, and the same rule.
    let events = Events::new();
    client
        .subscribe(&service, events.listener())
        .cluster_name("c1")
        .send()
        .unwrap();
    events.nth(1);
    drop(server);
    let picked = client
        .select_one_healthy_instance(&service)
        .cluster_name("c1")
        .send()
        .unwrap();
    assert!([1, 2].contains(&picked.port));

    let none = client
        .select_one_healthy_instance(&service)
        .cluster_name("c2")
        .send();
    assert!(matches!(none, Err(Error::Request(_))), "{none:?}");
}

#[test]
fn no_qualifying_instance_is_an_error() {
    let server = DevServer::builder().start().unwrap();
    let client = fast_client(&server.addr().to_string()).build().unwrap();
    let service = unique("select-none");
    let none = client.select_one_healthy_instance(&service).send();
    assert!(
        matches!(&none, Err(Error::NoInstanceAvailable { service: s }) if s.ends_with(&service)),
        "{none:?}"
    );
    client
        .add_naming_instance(&service, "10.7.0.2", 1)
        .weight(0.0)
        .send()
        .unwrap();
    let none = client.select_one_healthy_instance(&service).send();
    assert!(
        matches!(none, Err(Error::NoInstanceAvailable { .. })),
        "{none:?}"
    );
    let bad = client
        .select_one_healthy_instance(&service)
        .group_name("a@@b")
        .send();
    assert!(matches!(bad, Err(Error::InvalidParam { .. })), "{bad:?}");
}

/// A devserver, a client, a service (named from `prefix`) holding 10.7.0.3:1, and the
/// client's subscription to it once its first list arrived.
fn subscribed_to_one_instance(prefix: &str) -> (DevServer, NamingClient, String, Arc<Events>) {
    let server = DevServer::builder().start().unwrap();
    let client = fast_client(&server.addr().to_string()).build().unwrap();
    let service = unique(prefix);
    client
        .add_naming_instance(&service, "10.7.0.3", 1)
        .send()
        .unwrap();
    let events = Events::subscribe(&client, &service, None);
    events.nth(1);
    (server, client, service, events)
}

/// The service name is checked when no held list answers, and first among the arguments:
/// subscriptions held do not let a bad name through.
#[test]
fn a_bad_service_name_is_refused_beside_held_lists() {
    let (_server, client, service, _events) = subscribed_to_one_instance("select-name");
    let held = client.select_one_healthy_instance(&service).send().unwrap();
    let again = client.select_one_healthy_instance(&service).send().unwrap();
    assert!(Arc::ptr_eq(&held, &again), "picked from the held list");
    for bad in ["", "  ", "a\nb", "x\u{85}y"] {
        let refused = client
            .select_one_healthy_instance(bad)
            .send_with(|i| i.port);
        assert!(
            matches!(
                refused,
                Err(Error::InvalidParam {
                    param: "service_name",
                    ..
                })
            ),
            "{bad:?}: {refused:?}"
        );
        let refused = client
            .select_one_healthy_instance(bad)
            .group_name("a@@b")
            .send();
        assert!(
            matches!(
                refused,
                Err(Error::InvalidParam {
                    param: "service_name",
                    ..
                })
            ),
            "{bad:?} with a bad group: {refused:?}"
        );
    }
    let bad_group = client
        .select_one_healthy_instance(&service)
        .group_name("a@@b")
        .send();
    assert!(
        matches!(
            bad_group,
            Err(Error::InvalidParam {
                param: "group_name",
                ..
            })
        ),
        "{bad_group:?}"
    );
}

/// Picks from a subscription follow its list as the server changes it (the held snapshot is
/// replaced whole), and the picked instance is the one held, shared between picks.
#[test]
fn picks_follow_the_subscribed_list_as_it_changes() {
    let (_server, client, service, events) = subscribed_to_one_instance("select-follows");
    let first = client.select_one_healthy_instance(&service).send().unwrap();
    let again = client.select_one_healthy_instance(&service).send().unwrap();
    assert_eq!(first.port, 1);
    assert!(Arc::ptr_eq(&first, &again), "shared, not copied");

    client
        .add_naming_instance(&service, "10.7.0.3", 2)
        .send()
        .unwrap();
    client
        .remove_naming_instance(&service, "10.7.0.3", 1)
        .send()
        .unwrap();
    events.wait("a list of port 2 alone", |seen| {
        seen.last()
            .is_some_and(|e| e.service.hosts.iter().map(|h| h.port).eq([2]))
    });
    for _ in 0..100 {
        let picked = client.select_one_healthy_instance(&service).send().unwrap();
        assert_eq!(picked.port, 2, "the old list is gone whole");
    }
    assert_eq!(
        first.port, 1,
        "a picked instance stays valid after its list is replaced"
    );
}

/// `send_with` lends the instance `send` would hand out, from a fresh list and from a
/// subscription's, and runs nothing when no instance qualifies.
#[test]
fn send_with_lends_the_picked_instance() {
    let server = DevServer::builder().start().unwrap();
    let client = fast_client(&server.addr().to_string()).build().unwrap();
    let service = unique("select-lend");
    let address = || {
        client
            .select_one_healthy_instance(&service)
            .send_with(|picked| picked.address())
    };
    let mut ran = false;
    let none = client
        .select_one_healthy_instance(&service)
        .send_with(|_| ran = true);
    assert!(
        matches!(none, Err(Error::NoInstanceAvailable { .. })),
        "{none:?}"
    );
    assert!(!ran, "nothing to lend, nothing run");

    client
        .add_naming_instance(&service, "10.7.0.4", 1)
        .send()
        .unwrap();
    assert_eq!(address().unwrap(), "10.7.0.4:1", "from a fresh list");

    let events = Events::subscribe(&client, &service, None);
    events.nth(1);
    drop(server);
    assert_eq!(address().unwrap(), "10.7.0.4:1", "from the subscription");
}
