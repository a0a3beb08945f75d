//! The subcommands that run until stopped: `watch` printing what another client changes, and
//! `register --keep-alive` beating until a signal, then deregistering.

mod common;

use std::time::{Duration, Instant};

use common::{devserver, devserver_with, json_lines, run, Running};
use nacos_devserver::DevServer;
use nacos_naming::NamingClient;

/// Another client, changing what `watch` watches.
fn other_client(server: &DevServer) -> NamingClient {
    NamingClient::builder()
        .server_addresses(server.addr().to_string())
        .udp_push(false)
        .build()
        .expect("client")
}

/// `watch -o json` prints one object per event: the first carries the current list, then
/// each registration, modification and deregistration by another client, in order. SIGTERM
/// ends it with status 0.
#[test]
fn watch_prints_each_change_as_one_json_object() {
    let server = devserver();
    let s = server.addr().to_string();
    let other = other_client(&server);
    other
        .add_naming_instance("orders", "10.1.0.1", 9001)
        .ephemeral(false)
        .send()
        .unwrap();

    let mut watch = Running::start(
        &s,
        &["watch", "orders", "-o", "json", "--poll-interval", "100ms"],
    );
    let first = watch.line_where(|_| true);
    let first = &json_lines(&first)[0];
    assert_eq!(first["serviceName"], "orders");
    assert_eq!(first["groupName"], "DEFAULT_GROUP");
    assert_eq!(first["added"][0]["port"], 9001, "{first}");
    assert_eq!(first["hosts"].as_array().unwrap().len(), 1);

    other
        .add_naming_instance("orders", "10.1.0.2", 9002)
        .ephemeral(false)
        .metadata([("version", "2")])
        .send()
        .unwrap();
    let added = json_lines(&watch.line_where(|l| l.contains("9002")))[0].clone();
    assert_eq!(added["added"][0]["ip"], "10.1.0.2");
    assert_eq!(added["added"][0]["metadata"]["version"], "2");
    assert_eq!(added["removed"], serde_json::json!([]));
    assert_eq!(added["hosts"].as_array().unwrap().len(), 2);

    other
        .modify_naming_instance("orders", "10.1.0.2", 9002)
        .ephemeral(false)
        .weight(5.0)
        .send()
        .unwrap();
    let modified = json_lines(&watch.line_where(|l| l.contains("\"modified\":[{")))[0].clone();
    assert_eq!(modified["modified"][0]["weight"], 5.0);

    other
        .remove_naming_instance("orders", "10.1.0.1", 9001)
        .ephemeral(false)
        .send()
        .unwrap();
    let removed = json_lines(&watch.line_where(|l| l.contains("\"removed\":[{")))[0].clone();
    assert_eq!(removed["removed"][0]["port"], 9001);
    assert_eq!(removed["hosts"].as_array().unwrap().len(), 1);

    let end = watch.signal_and_wait("TERM");
    assert_eq!(end.code(), 0, "{end:?}");
    assert_eq!(end.stderr, "");
}

/// `watch` in a table prints one line per added, removed or modified instance; Ctrl-C
/// (SIGINT) ends it with status 0.
#[test]
fn watch_prints_change_lines_in_a_table() {
    let server = devserver();
    let s = server.addr().to_string();
    let other = other_client(&server);
    let mut watch = Running::start(
        &s,
        &[
            "watch",
            "payments",
            "--group",
            "shop",
            "--clusters",
            "blue",
            "--poll-interval",
            "100ms",
        ],
    );
    other
        .add_naming_instance("payments", "10.2.0.1", 7001)
        .group_name("shop")
        .cluster_name("green")
        .ephemeral(false)
        .send()
        .unwrap();
    other
        .add_naming_instance("payments", "10.2.0.2", 7002)
        .group_name("shop")
        .cluster_name("blue")
        .ephemeral(false)
        .metadata([("zone", "a")])
        .send()
        .unwrap();
    let line = watch.line_where(|l| l.contains("7002"));
    assert_eq!(
        line,
        "added     10.2.0.2:7002  cluster=blue  weight=1  healthy=true  enabled=true  \
         ephemeral=false  metadata={\"zone\":\"a\"}"
    );
    other
        .remove_naming_instance("payments", "10.2.0.2", 7002)
        .group_name("shop")
        .cluster_name("blue")
        .ephemeral(false)
        .send()
        .unwrap();
    let line = watch.line_where(|l| l.starts_with("removed"));
    assert!(
        line.starts_with("removed   10.2.0.2:7002  cluster=blue"),
        "{line}"
    );

    let end = watch.signal_and_wait("INT");
    assert_eq!(end.code(), 0, "{end:?}");
    assert!(
        !end.stdout.contains("7001"),
        "the green cluster is filtered out: {}",
        end.stdout
    );
}

/// Whether `list` shows the instance at `port` as healthy: `Some(true)` healthy,
/// `Some(false)` listed but unhealthy, `None` not listed.
fn listed_health(server: &str, service: &str, port: u16) -> Option<bool> {
    let listed = run(server, &["list", service, "-o", "json"]).json();
    listed["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["port"] == port)
        .map(|h| h["healthy"] == true)
}

/// Polls `list` until the unbeaten instance at `witness` has reached `state` (`Some(false)`:
/// unhealthy, `None`: expired), asserting at every poll that the kept instance at `kept` is
/// listed and healthy. The witness was registered after the kept instance, so once the server's
/// timeout has passed for it, it has passed for the kept one too: only beats keep it healthy.
fn kept_healthy_until(server: &str, kept: u16, witness: u16, state: Option<bool>) {
    let start = Instant::now();
    loop {
        assert_eq!(
            listed_health(server, "cart", kept),
            Some(true),
            "kept alive, {:?} in",
            start.elapsed()
        );
        if listed_health(server, "cart", witness) == state {
            return;
        }
        assert!(
            start.elapsed() < common::DEADLINE,
            "the unbeaten instance never reached {state:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `register --keep-alive` keeps an ephemeral instance healthy past the server's expiry
/// timeout, at the interval the server asks for, and deregisters it when SIGTERM stops it.
#[test]
fn keep_alive_beats_until_sigterm_then_deregisters() {
    let server = devserver_with(
        DevServer::builder()
            .health_timeout(Duration::from_millis(600))
            .expire_timeout(Duration::from_millis(1200))
            .beat_interval(Duration::from_millis(100)),
    );
    let s = server.addr().to_string();
    let mut alive = Running::start(
        &s,
        &[
            "register",
            "cart",
            "10.3.0.1",
            "6001",
            "--keep-alive",
            "-o",
            "json",
        ],
    );
    let registered = json_lines(&alive.line_where(|_| true))[0].clone();
    assert_eq!(registered["result"], "registered");
    // An instance nobody beats: it shows the server's timeouts at work.
    run(&s, &["register", "cart", "10.3.0.9", "6009"]).ok();
    kept_healthy_until(&s, 6001, 6009, None);

    let end = alive.signal_and_wait("TERM");
    assert_eq!(end.code(), 0, "{end:?}");
    let printed = json_lines(&end.stdout);
    assert_eq!(printed.len(), 1, "{end:?}");
    assert_eq!(printed[0]["result"], "deregistered");
    assert_eq!(printed[0]["port"], 6001);
    assert_eq!(
        listed_health(&s, "cart", 6001),
        None,
        "deregistered before exiting, not left to expire"
    );
}

/// `--beat-interval` overrides the server's interval: with a server that asks for beats far
/// less often than its health timeout, only the flag keeps the instance healthy. Ctrl-C ends
/// it as SIGTERM does.
#[test]
fn keep_alive_honours_the_beat_interval_flag_and_ctrl_c() {
    let server = devserver_with(
        DevServer::builder()
            .health_timeout(Duration::from_millis(600))
            .expire_timeout(Duration::from_secs(60))
            .beat_interval(Duration::from_secs(60)),
    );
    let s = server.addr().to_string();
    let mut alive = Running::start(
        &s,
        &[
            "register",
            "cart",
            "10.3.0.2",
            "6002",
            "--keep-alive",
            "--beat-interval",
            "100ms",
            "--cluster",
            "blue",
            "--metadata",
            "owner=ops",
        ],
    );
    let line = alive.line_where(|_| true);
    assert_eq!(
        line,
        "registered cart 10.3.0.2:6002 (cluster blue, group DEFAULT_GROUP)"
    );
    run(&s, &["register", "cart", "10.3.0.9", "6009"]).ok();
    kept_healthy_until(&s, 6002, 6009, Some(false));

    let end = alive.signal_and_wait("INT");
    assert_eq!(end.code(), 0, "{end:?}");
    assert_eq!(
        end.stdout,
        "deregistered cart 10.3.0.2:6002 (cluster blue, group DEFAULT_GROUP)\n"
    );
    assert_eq!(listed_health(&s, "cart", 6002), None);
}
