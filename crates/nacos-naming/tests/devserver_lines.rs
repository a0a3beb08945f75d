//! Every seed call and `list_services` against the devserver in each of its server-line modes
//! (1.4, 2, 3.1, 3.2), with no setting: the client finds each line's API by itself.

use nacos_devserver::{DevServer, NacosVersion};
use nacos_naming::NamingClient;

/// Register, list, get, modify, beat and deregister work on every line; `list_services` works
/// wherever a V1 service list is left and names the line where it is not (3.2, no admin).
#[test]
fn every_call_works_on_every_line() {
    for version in [
        NacosVersion::V1_4,
        NacosVersion::V2,
        NacosVersion::V3_1,
        NacosVersion::V3_2,
    ] {
        let server = DevServer::builder().nacos_version(version).start().unwrap();
        let c = NamingClient::new(server.addr().to_string()).unwrap();
        let add = c
            .add_naming_instance("svc", "10.0.0.1", 80)
            .cluster_name("c1");
        add.metadata([("k", "v")]).heartbeat(false).send().unwrap();
        let listed = c.list_naming_instance("svc").send().unwrap();
        assert_eq!(listed.hosts.len(), 1, "{version:?}");
        c.modify_naming_instance("svc", "10.0.0.1", 80)
            .cluster_name("c1")
            .weight(2.0)
            .send()
            .unwrap();
        let got = c
            .get_naming_instance("svc", "10.0.0.1", 80)
            .cluster_name("c1")
            .send()
            .unwrap();
        assert_eq!(
            (got.weight, got.metadata["k"].as_str()),
            (2.0, "v"),
            "{version:?}"
        );
        let beat = c
            .send_heartbeat("svc", "10.0.0.1", 80)
            .cluster_name("c1")
            .send();
        assert!(!beat.unwrap().instance_not_found(), "{version:?}");
        match (version, c.list_services().send()) {
            (NacosVersion::V3_2, Err(e)) => assert!(e.to_string().contains("Nacos 3.2+"), "{e}"),
            (_, services) => assert_eq!(services.unwrap().services, ["svc"], "{version:?}"),
        }
        c.remove_naming_instance("svc", "10.0.0.1", 80)
            .cluster_name("c1")
            .send()
            .unwrap();
        assert!(c
            .list_naming_instance("svc")
            .send()
            .unwrap()
            .hosts
            .is_empty());
    }
}
