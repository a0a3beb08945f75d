//! Every duration setting takes the whole range: `Duration::MAX` is the natural "forever",
//! and it must mean that, never an overflow panic in a call, a thread or a drop.

mod live_support;

use std::time::Duration;

use live_support::Events;
use nacos_devserver::DevServer;
use nacos_naming::NamingClient;
use nacos_test_support::unique;

const FOREVER: Duration = Duration::MAX;

fn forever_client(server: &DevServer) -> NamingClient {
    NamingClient::builder()
        .server_addresses(server.addr().to_string())
        .timeout(FOREVER)
        .connect_timeout(FOREVER)
        .heartbeat_interval(FOREVER)
        .poll_interval(FOREVER)
        .poll_max_backoff(FOREVER)
        .stop_timeout(FOREVER)
        .build()
        .unwrap()
}

/// Calls, heartbeats, a subscription, a deregistration and a shutdown of a client whose every
/// duration is `Duration::MAX`; then the same client dropped instead of shut down.
#[test]
fn duration_max_in_every_setting_means_forever() {
    let server = DevServer::builder().start().unwrap();
    for shut_down in [true, false] {
        let client = forever_client(&server);
        let service = unique("forever");
        client
            .add_naming_instance(&service, "10.9.0.1", 80)
            .heartbeat_interval(FOREVER)
            .send()
            .unwrap();
        client
            .add_naming_instance(&service, "10.9.0.2", 80)
            .metadata([("preserved.heart.beat.interval", u64::MAX.to_string())])
            .send()
            .unwrap();
        let events = Events::subscribe(&client, &service, None);
        events.wait("both instances", |e| {
            e.last().is_some_and(|e| e.service.hosts.len() == 2)
        });
        client
            .remove_naming_instance(&service, "10.9.0.1", 80)
            .send()
            .unwrap();
        assert_eq!(
            client
                .list_naming_instance(&service)
                .send()
                .unwrap()
                .hosts
                .len(),
            1
        );
        if shut_down {
            client.shutdown().unwrap();
        } else {
            drop(client);
        }
    }
}
