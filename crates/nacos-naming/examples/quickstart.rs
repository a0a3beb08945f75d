//! The Python client's walkthrough, in Rust, against a real naming server.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! It starts a `nacos-devserver` inside this process (or uses the server in
//! `NACOS_SERVER_ADDR`, e.g. `127.0.0.1:8848`, when set), subscribes to `user-service`, then
//! registers, lists, gets, modifies, beats and deregisters instances, printing what each call
//! returned and the events those calls caused. It stops the client and the server before it
//! exits.

use std::error::Error;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use nacos_devserver::DevServer;
use nacos_naming::{Instance, NamingClient, ServiceEvent, ServiceInfo};

const SERVICE: &str = "user-service";

// Public so that tests/quickstart.rs can run it too.
pub fn main() -> Result<(), Box<dyn Error>> {
    // A server: the embedded one, unless NACOS_SERVER_ADDR names another.
    let (server, address) = match std::env::var("NACOS_SERVER_ADDR") {
        Ok(address) if !address.trim().is_empty() => (None, address),
        _ => {
            let server = DevServer::builder().bind("127.0.0.1:0").start()?;
            let address = server.addr().to_string();
            (Some(server), address)
        }
    };
    if server.is_some() {
        println!("Started an embedded nacos-devserver on {address}.");
    } else {
        println!("Using the server in NACOS_SERVER_ADDR: {address}.");
    }

    // One client for the whole program; clones share its connections.
    let client = NamingClient::builder()
        .server_addresses(&address)
        // Servers that do not push changes are polled; poll often so events show at once.
        .poll_interval(Duration::from_millis(200))
        .build()?;

    step("subscribe: listen to every change of user-service");
    let (sender, events) = mpsc::channel();
    let listener = client
        .subscribe(SERVICE, move |event: &ServiceEvent| {
            // Listeners run on the client's threads: hand the event to main to print it.
            let _ = sender.send(event.clone());
        })
        .send()?;
    let events = Events(events);
    events.until("the current list", |_| true)?;

    step("add_naming_instance: register three instances of user-service");
    client
        .add_naming_instance(SERVICE, "192.168.1.100", 8080)
        .cluster_name("production")
        .weight(1.5)
        .metadata([("version", "1.0.0"), ("region", "us-west-1")])
        .send()?;
    println!("  registered 192.168.1.100:8080 in cluster production, weight 1.5");
    client
        .add_naming_instance(SERVICE, "192.168.1.101", 8080)
        .cluster_name("staging")
        .metadata([("version", "1.1.0-rc1")])
        .send()?;
    println!("  registered 192.168.1.101:8080 in cluster staging");
    client
        .add_naming_instance(SERVICE, "192.168.1.102", 8080)
        .cluster_name("staging")
        .healthy(false)
        // Nobody beats this one, so it stays unhealthy.
        .heartbeat(false)
        .send()?;
    println!("  registered 192.168.1.102:8080 in cluster staging, unhealthy");
    println!("  (the client now sends their heartbeats in the background)");
    events.until("all three", |service| service.hosts.len() == 3)?;

    step("add_naming_instance with group_name: the same name in another group");
    client
        .add_naming_instance(SERVICE, "192.168.1.200", 9090)
        .group_name("microservices")
        .send()?;
    println!("  registered 192.168.1.200:9090 in group microservices");
    println!("  (no event: the subscription is to user-service in the default group)");

    step("list_naming_instance: every instance");
    print_hosts(&client.list_naming_instance(SERVICE).send()?);

    step("list_naming_instance with healthy_only(true)");
    print_hosts(
        &client
            .list_naming_instance(SERVICE)
            .healthy_only(true)
            .send()?,
    );

    step("list_naming_instance with clusters([\"production\"])");
    print_hosts(
        &client
            .list_naming_instance(SERVICE)
            .clusters(["production"])
            .send()?,
    );

    step("list_naming_instance with group_name(\"microservices\")");
    print_hosts(
        &client
            .list_naming_instance(SERVICE)
            .group_name("microservices")
            .send()?,
    );

    step("get_naming_instance: one instance");
    let instance = client
        .get_naming_instance(SERVICE, "192.168.1.100", 8080)
        .cluster_name("production")
        .send()?;
    println!("  {}", describe(&instance));

    step("modify_naming_instance: new weight and metadata");
    client
        .modify_naming_instance(SERVICE, "192.168.1.100", 8080)
        .cluster_name("production")
        .weight(2.0)
        .metadata([("version", "1.1.0"), ("status", "updated")])
        .send()?;
    println!("  192.168.1.100:8080 now has weight 2 and version 1.1.0");
    events.until("the new weight", |service| {
        service.hosts.iter().any(|i| i.weight == 2.0)
    })?;

    step("send_heartbeat: one beat by hand");
    let beat = client
        .send_heartbeat(SERVICE, "192.168.1.100", 8080)
        .cluster_name("production")
        .weight(2.0)
        .metadata([("version", "1.1.0"), ("status", "updated")])
        .send()?;
    println!(
        "  the server answered code {}, next beat in {} ms, light beats allowed: {}",
        beat.code, beat.client_beat_interval, beat.light_beat_enabled
    );

    step("remove_naming_instance: deregister every instance");
    for (ip, port, cluster) in [
        ("192.168.1.102", 8080, "staging"),
        ("192.168.1.101", 8080, "staging"),
        ("192.168.1.100", 8080, "production"),
    ] {
        client
            .remove_naming_instance(SERVICE, ip, port)
            .cluster_name(cluster)
            .send()?;
        println!("  deregistered {ip}:{port}");
    }
    client
        .remove_naming_instance(SERVICE, "192.168.1.200", 9090)
        .group_name("microservices")
        .send()?;
    println!("  deregistered 192.168.1.200:9090 from group microservices");
    println!("  (the client stops their heartbeats)");
    events.until("an empty list", |service| service.hosts.is_empty())?;

    step("unsubscribe and stop_subscribe: no more events");
    client.unsubscribe(SERVICE).listener(listener).send()?;
    client.stop_subscribe();
    println!("  done listening");

    // Stop the client's threads, then the server's, and report anything that went wrong.
    client.shutdown()?;
    if let Some(server) = server {
        server.shutdown()?;
    }
    println!("\nAll done: the client and the server have stopped.");
    Ok(())
}

/// The events of the subscription, as the listener handed them over.
struct Events(Receiver<ServiceEvent>);

impl Events {
    /// Prints events until one shows `what` (`done` says when), or fails after 5 seconds.
    fn until(&self, what: &str, done: impl Fn(&ServiceInfo) -> bool) -> Result<(), Box<dyn Error>> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self
                .0
                .recv_timeout(left)
                .map_err(|_| format!("no event showing {what} within 5 s"))?;
            print_event(&event);
            if done(&event.service) {
                return Ok(());
            }
        }
    }
}

fn step(what: &str) {
    println!("\n== {what}");
}

fn print_event(event: &ServiceEvent) {
    let count = event.service.hosts.len();
    if event.added.is_empty() && event.removed.is_empty() && event.modified.is_empty() {
        println!("  event: {count} instances now");
    }
    for instance in &event.added {
        println!("  event: added    {}", describe(instance));
    }
    for instance in &event.modified {
        println!("  event: modified {}", describe(instance));
    }
    for instance in &event.removed {
        println!("  event: removed  {}", instance.address());
    }
}

fn print_hosts(service: &ServiceInfo) {
    println!(
        "  {} instance(s) of {} in group {}:",
        service.hosts.len(),
        service.name,
        service.group_name
    );
    for instance in &service.hosts {
        println!("    {}", describe(instance));
    }
}

/// One line per instance: address, cluster, weight, health and metadata.
fn describe(instance: &Instance) -> String {
    let metadata: Vec<String> = instance
        .metadata
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    format!(
        "{} cluster={} weight={} healthy={} metadata={{{}}}",
        instance.address(),
        instance.cluster_name,
        instance.weight,
        instance.healthy,
        metadata.join(", ")
    )
}
