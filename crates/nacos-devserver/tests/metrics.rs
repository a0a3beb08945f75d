//! Prometheus metrics of a server that pushes: subscribers and push packets are counted.

use std::time::Duration;

use nacos_devserver::DevServer;
use nacos_naming::NamingClient;
use nacos_test_support::expect_within;

fn metrics(server: &DevServer) -> String {
    ureq::get(format!(
        "http://{}/nacos/actuator/prometheus",
        server.addr()
    ))
    .call()
    .unwrap()
    .into_body()
    .read_to_string()
    .unwrap()
}

fn value(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// A client that subscribes is counted as a subscriber, and each change pushed to it as a
/// push; the endpoint needs no token in auth mode, as official Nacos's actuator.
#[test]
fn subscribers_and_pushes_are_counted() {
    let server = DevServer::builder()
        .bind("127.0.0.1:0")
        .auth("nacos", "pw")
        .start()
        .unwrap();
    let client = NamingClient::builder()
        .server_addresses(server.addr().to_string())
        .username("nacos")
        .password("pw")
        .build()
        .unwrap();
    client.subscribe("svc", |_| {}).send().unwrap();
    expect_within("a subscriber", Duration::from_secs(10), || {
        value(&metrics(&server), "nacos_devserver_subscribers") == 1
    });
    client
        .add_naming_instance("svc", "10.0.0.1", 80)
        .heartbeat(false)
        .send()
        .unwrap();
    expect_within("a push", Duration::from_secs(10), || {
        value(&metrics(&server), "nacos_devserver_pushes_total") >= 1
    });
    let text = metrics(&server);
    assert_eq!(value(&text, "nacos_devserver_instances"), 1);
    assert_eq!(value(&text, "nacos_devserver_namespaces"), 1);
}
