//! The crate documentation's example, step by step, against an embedded devserver: the
//! published example cannot start one (the devserver is not a dependency of the published
//! crate), so it is `no_run` there and checked here.

use nacos_naming::{BeatInfo, Instance, NamingClient, ServiceInfo};

#[test]
fn the_crate_example_runs_against_a_devserver() -> Result<(), Box<dyn std::error::Error>> {
    let server = nacos_devserver::DevServer::start()?;

    let client = NamingClient::builder()
        .server_addresses(server.addr().to_string())
        .namespace("production")
        .username("nacos")
        .password("secret")
        .timeout(std::time::Duration::from_secs(3))
        .build()?;

    client
        .add_naming_instance("user-service", "192.168.1.100", 8080)
        .cluster_name("production")
        .weight(1.5)
        .metadata([("version", "1.0.0")])
        .group_name("microservices")
        .send()?;

    let service: ServiceInfo = client
        .list_naming_instance("user-service")
        .clusters(["production"])
        .healthy_only(true)
        .group_name("microservices")
        .send()?;
    assert_eq!(service.hosts.len(), 1, "{service:?}");
    assert_eq!(
        service.hosts[0].metadata.get("version").map(String::as_str),
        Some("1.0.0")
    );

    let instance: Instance = client
        .get_naming_instance("user-service", "192.168.1.100", 8080)
        .cluster_name("production")
        .group_name("microservices")
        .send()?;
    assert_eq!(instance.weight, 1.5);
    client
        .modify_naming_instance("user-service", "192.168.1.100", 8080)
        .cluster_name("production")
        .group_name("microservices")
        .weight(instance.weight * 2.0)
        .send()?;

    let beat: BeatInfo = client
        .send_heartbeat("user-service", "192.168.1.100", 8080)
        .cluster_name("production")
        .group_name("microservices")
        .send()?;
    assert!(beat.client_beat_interval > 0, "{beat:?}");

    let modified = client
        .get_naming_instance("user-service", "192.168.1.100", 8080)
        .cluster_name("production")
        .group_name("microservices")
        .send()?;
    assert_eq!(modified.weight, 3.0);

    client
        .remove_naming_instance("user-service", "192.168.1.100", 8080)
        .cluster_name("production")
        .group_name("microservices")
        .send()?;
    let after = client
        .list_naming_instance("user-service")
        .group_name("microservices")
        .send()?;
    assert!(after.hosts.is_empty(), "{after:?}");
    Ok(())
}
