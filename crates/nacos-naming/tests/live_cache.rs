//! The disk cache: written by a subscribing client, served by a later one while no server
//! answers, and only then.

mod live_support;

use std::path::PathBuf;
use std::time::Duration;

use live_support::{addresses, fast_client, Events};
use nacos_devserver::DevServer;
use nacos_naming::Error;
use nacos_test_support::{free_port, unique};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nacos-live-cache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A client's subscription writes the last list; a client started while no server answers
/// serves it (first event, lists, selection) with `load_cache_at_start`, and catches up when a
/// server answers.
#[test]
fn a_client_starts_from_the_cache_while_no_server_answers() {
    let dir = temp_dir("start");
    let server = DevServer::builder().start().unwrap();
    let writer = fast_client(&server.addr().to_string())
        .cache_dir(&dir)
        .build()
        .unwrap();
    let service = unique("cached");
    let events = Events::subscribe(&writer, &service, Some("G"));
    for port in [1, 2] {
        writer
            .add_naming_instance(&service, "10.6.0.1", port)
            .group_name("G")
            .weight(0.5)
            .send()
            .unwrap();
    }
    events.wait("both instances", |e| {
        e.last().is_some_and(|e| e.service.hosts.len() == 2)
    });
    drop(writer);
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, 1, "one file per subscription, no temporary left");

    // Nothing listens here yet.
    let port = free_port();
    let down = format!("127.0.0.1:{port}");
    let reader = fast_client(&down)
        .cache_dir(&dir)
        .load_cache_at_start(true)
        .build()
        .unwrap();
    let events = Events::subscribe(&reader, &service, Some("G"));
    let first = events.nth(1);
    assert_eq!(addresses(&first.added), ["10.6.0.1:1", "10.6.0.1:2"]);
    assert_eq!(first.added[0].weight, 0.5);
    let listed = reader
        .list_naming_instance(&service)
        .group_name("G")
        .send()
        .unwrap();
    assert_eq!(listed.hosts.len(), 2);
    let picked = reader
        .select_one_healthy_instance(&service)
        .group_name("G")
        .send()
        .unwrap();
    assert_eq!(picked.ip, "10.6.0.1");
    // A service the cache does not know still fails as no server answers.
    let unknown = reader.list_naming_instance("not-cached").send();
    assert!(matches!(unknown, Err(Error::Request(_))), "{unknown:?}");

    // A server comes up there, without those instances: the subscriber learns the truth.
    let _server = DevServer::builder().bind(down).start().unwrap();
    let truth = events.nth(2);
    assert!(truth.service.hosts.is_empty());
    assert_eq!(truth.removed.len(), 2);
    drop(reader);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Without `load_cache_at_start` the cache is written but never served.
#[test]
fn the_cache_is_served_only_when_asked_to() {
    let dir = temp_dir("not-loaded");
    let server = DevServer::builder().start().unwrap();
    let writer = fast_client(&server.addr().to_string())
        .cache_dir(&dir)
        .build()
        .unwrap();
    let service = unique("not-loaded");
    writer
        .add_naming_instance(&service, "10.6.0.2", 1)
        .send()
        .unwrap();
    let events = Events::subscribe(&writer, &service, None);
    events.nth(1);
    drop(writer);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

    let reader = fast_client(&format!("127.0.0.1:{}", free_port()))
        .cache_dir(&dir)
        .build()
        .unwrap();
    let events = Events::subscribe(&reader, &service, None);
    events.assert_quiet_for(Duration::from_millis(300));
    let listed = reader.list_naming_instance(&service).send();
    assert!(matches!(listed, Err(Error::Request(_))), "{listed:?}");
    drop(reader);
    std::fs::remove_dir_all(&dir).unwrap();
}
