//! The client conformance suite: every seed call with every parameter the seed names, against
//! real servers.
//!
//! The cases are written once (module `cases`) and run against each server through a
//! [`Profile`](profile::Profile): the devserver (in-process, held to the official
//! server's behaviour) as each official server line (2.x, its default, then 1.4, 3.0–3.1 and
//! 3.2+, with a client given no setting, so on 3.x without admin credentials), and rnacos
//! 0.8.8 (a child process). What a line or rnacos does differently from the 2.x the cases were
//! written for is tolerated case by case, each through a named method of the profile. A test
//! whose server is absent says so and passes, except under `CI=true`.
//!
//! Run one server's cases with `cargo test -p nacos-naming --test conformance rnacos::` or
//! `… devserver::nacos_3_2::`.

mod common;
#[path = "common/profile.rs"]
mod profile;

use std::collections::BTreeMap;
use std::time::Duration;

use nacos_naming::{Error, Instance, NamingClient, BEAT_OK};
use nacos_test_support::{free_port, unique, wait_until};

use common::recorder::Recorder;
use profile::{Options, Profile};

/// The cases, each a function of the server profile.
mod cases {
    use super::*;

    const IP: &str = "127.0.0.1";
    const OTHER_IP: &str = "127.0.0.2";

    fn metadata(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn find<'a>(hosts: &'a [Instance], ip: &str, port: u16) -> Option<&'a Instance> {
        hosts.iter().find(|h| h.ip == ip && h.port == port)
    }

    pub fn add_with_required_arguments_only(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("add-minimal");
        client
            .add_naming_instance(&service, IP, 8080)
            .send()
            .unwrap();

        let listed = client.list_naming_instance(&service).send().unwrap();
        assert_eq!(listed.name, service);
        assert_eq!(listed.group_name, "DEFAULT_GROUP");
        assert_eq!(listed.hosts.len(), 1, "{listed:?}");
        let host = &listed.hosts[0];
        assert_eq!((host.ip.as_str(), host.port), (IP, 8080));
        assert_eq!(host.weight, 1.0);
        assert!(host.healthy && host.enabled && host.ephemeral, "{host:?}");
        assert_eq!(
            host.cluster_name, "DEFAULT",
            "no cluster named None, as Python's client makes"
        );
        assert!(host.metadata.is_empty(), "{host:?}");

        let got = client
            .get_naming_instance(&service, IP, 8080)
            .send()
            .unwrap();
        assert_eq!((got.ip.as_str(), got.port), (IP, 8080));
        assert_eq!(got.cluster_name, "DEFAULT");
        assert_eq!(got.weight, 1.0);
    }

    pub fn add_with_every_parameter(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("add-every");
        client
            .add_naming_instance(&service, IP, 8080)
            .cluster_name("production")
            .weight(1.5)
            .metadata([("version", "1.0.0"), ("region", "us-west-1")])
            .ephemeral(true)
            .enabled(true)
            .healthy(true)
            .group_name("microservices")
            .send()
            .unwrap();

        let listed = client
            .list_naming_instance(&service)
            .group_name("microservices")
            .send()
            .unwrap();
        assert_eq!(listed.group_name, "microservices");
        let host = find(&listed.hosts, IP, 8080).expect("listed in its group");
        assert_eq!(host.cluster_name, "production");
        assert_eq!(host.weight, 1.5);
        assert_eq!(
            host.metadata,
            metadata(&[("version", "1.0.0"), ("region", "us-west-1")])
        );
        assert!(host.ephemeral && host.enabled && host.healthy, "{host:?}");

        let got = client
            .get_naming_instance(&service, IP, 8080)
            .cluster_name("production")
            .group_name("microservices")
            .send()
            .unwrap();
        assert_eq!(got.weight, 1.5);
        assert_eq!(got.metadata["region"], "us-west-1");
        assert_eq!(got.cluster_name, "production");

        let default_group = client.list_naming_instance(&service).send().unwrap();
        assert!(
            default_group.hosts.is_empty(),
            "another group is another service: {default_group:?}"
        );
    }

    pub fn groups_keep_services_apart(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("groups");
        client
            .add_naming_instance(&service, IP, 1001)
            .group_name("G1")
            .send()
            .unwrap();
        client
            .add_naming_instance(&service, IP, 1002)
            .group_name("G2")
            .send()
            .unwrap();
        for (group, port) in [("G1", 1001), ("G2", 1002)] {
            let listed = client
                .list_naming_instance(&service)
                .group_name(group)
                .send()
                .unwrap();
            let ports: Vec<u16> = listed.hosts.iter().map(|h| h.port).collect();
            assert_eq!(ports, [port], "group {group}");
        }
        assert_eq!(server.hosts(&service, "G1", None).len(), 1);
    }

    pub fn namespaces_keep_services_apart(profile: &Profile) {
        let server = profile.start();
        let scoped = server.client_builder().namespace("ns-a").build().unwrap();
        let default = server.client();
        let service = unique("namespaces");
        scoped
            .add_naming_instance(&service, IP, 8080)
            .send()
            .unwrap();

        assert_eq!(
            scoped
                .list_naming_instance(&service)
                .send()
                .unwrap()
                .hosts
                .len(),
            1
        );
        assert!(
            default
                .list_naming_instance(&service)
                .send()
                .unwrap()
                .hosts
                .is_empty(),
            "the public namespace does not see ns-a"
        );
        let by_parameter = default
            .list_naming_instance(&service)
            .namespace_id("ns-a")
            .send()
            .unwrap();
        assert_eq!(by_parameter.hosts.len(), 1, "namespace_id on the call");
        assert_eq!(
            server.hosts(&service, "DEFAULT_GROUP", Some("ns-a")).len(),
            1
        );

        scoped
            .get_naming_instance(&service, IP, 8080)
            .send()
            .unwrap();
        let beat = scoped.send_heartbeat(&service, IP, 8080).send().unwrap();
        assert_eq!(beat.code, BEAT_OK);
        scoped
            .remove_naming_instance(&service, IP, 8080)
            .send()
            .unwrap();
        assert!(server
            .hosts(&service, "DEFAULT_GROUP", Some("ns-a"))
            .is_empty());
    }

    pub fn clusters_filter_the_list(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("clusters");
        for (cluster, port) in [("production", 1001), ("staging", 1002), ("DEFAULT", 1003)] {
            client
                .add_naming_instance(&service, IP, port)
                .cluster_name(cluster)
                .send()
                .unwrap();
        }
        let listed = client
            .list_naming_instance(&service)
            .clusters(["production", "staging"])
            .send()
            .unwrap();
        let mut clusters: Vec<(&str, u16)> = listed
            .hosts
            .iter()
            .map(|h| (h.cluster_name.as_str(), h.port))
            .collect();
        clusters.sort();
        if profile.filters_clusters() {
            assert_eq!(clusters, [("production", 1001), ("staging", 1002)]);
        } else {
            // rnacos ignores `clusters` and lists every cluster; the
            // clusters asked for are there, with the right names.
            assert_eq!(
                clusters,
                [("DEFAULT", 1003), ("production", 1001), ("staging", 1002)]
            );
        }
        let one = client
            .list_naming_instance(&service)
            .clusters(["staging"])
            .send()
            .unwrap();
        assert!(one
            .hosts
            .iter()
            .any(|h| h.port == 1002 && h.cluster_name == "staging"));
        if profile.filters_clusters() {
            assert_eq!(one.hosts.len(), 1, "{one:?}");
        }
    }

    pub fn metadata_round_trips(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("metadata");
        let sent = metadata(&[
            ("version", "1.0.0"),
            ("with space", "a b"),
            ("comma", "a,b=c"),
            ("quote", "say \"hi\" & 'bye'"),
            ("unicode", "région ✓"),
            ("empty", ""),
            ("json", "{\"nested\":[1,2]}"),
        ]);
        client
            .add_naming_instance(&service, IP, 8080)
            .metadata(sent.clone())
            .send()
            .unwrap();
        let listed = client.list_naming_instance(&service).send().unwrap();
        assert_eq!(listed.hosts[0].metadata, sent);
        let got = client
            .get_naming_instance(&service, IP, 8080)
            .send()
            .unwrap();
        assert_eq!(got.metadata, sent);
    }

    pub fn weights_round_trip(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("weights");
        let weights = [(1001, 0.0), (1002, 0.5), (1003, 2.25), (1004, 10_000.0)];
        for (port, weight) in weights {
            client
                .add_naming_instance(&service, IP, port)
                .weight(weight)
                .send()
                .unwrap();
        }
        let listed = client.list_naming_instance(&service).send().unwrap();
        for (port, weight) in weights {
            let host = find(&listed.hosts, IP, port).expect("listed");
            assert_eq!(host.weight, weight, "port {port}");
        }
    }

    pub fn disabled_instances_are_left_out_of_lists(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("disabled");
        client
            .add_naming_instance(&service, IP, 1001)
            .send()
            .unwrap();
        client
            .add_naming_instance(&service, IP, 1002)
            .enabled(false)
            .send()
            .unwrap();
        for healthy_only in [false, true] {
            let listed = client
                .list_naming_instance(&service)
                .healthy_only(healthy_only)
                .send()
                .unwrap();
            let ports: Vec<u16> = listed.hosts.iter().map(|h| h.port).collect();
            assert_eq!(ports, [1001], "healthy_only={healthy_only}");
        }
        let got = client.get_naming_instance(&service, IP, 1002).send();
        if profile.gets_disabled_instances() {
            assert!(!got.unwrap().enabled);
        } else {
            assert_invisible_when_disabled(got.map(drop));
        }
    }

    pub fn persistent_instances(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("persistent");
        client
            .add_naming_instance(&service, IP, 8080)
            .ephemeral(false)
            .send()
            .unwrap();
        // rnacos applies a persistent write through its Raft log: the write is acknowledged
        // before every read sees it, so the reads below wait (briefly) for it.
        let mut listed = Vec::new();
        wait_until(Duration::from_secs(5), || {
            listed = client.list_naming_instance(&service).send().unwrap().hosts;
            !listed.is_empty()
        });
        let host = find(&listed, IP, 8080).expect("listed");
        assert!(!host.ephemeral, "{host:?}");

        client
            .remove_naming_instance(&service, IP, 8080)
            .ephemeral(false)
            .send()
            .unwrap();
        assert!(
            wait_until(Duration::from_secs(5), || client
                .list_naming_instance(&service)
                .send()
                .unwrap()
                .hosts
                .is_empty()),
            "removed as persistent"
        );
    }

    pub fn healthy_flag_is_kept_and_filtered(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("healthy-flag");
        // Two instances: one unhealthy among healthy ones is below the protection threshold.
        client
            .add_naming_instance(&service, IP, 1001)
            .ephemeral(false)
            .send()
            .unwrap();
        client
            .add_naming_instance(&service, IP, 1002)
            .ephemeral(false)
            .healthy(false)
            .send()
            .unwrap();
        let all = client
            .list_naming_instance(&service)
            .healthy_only(false)
            .send()
            .unwrap();
        let flagged = find(&all.hosts, IP, 1002).expect("listed with healthy_only(false)");
        let healthy = client
            .list_naming_instance(&service)
            .healthy_only(true)
            .send()
            .unwrap();
        let mut ports: Vec<u16> = healthy.hosts.iter().map(|h| h.port).collect();
        ports.sort();
        if profile.keeps_registered_unhealthy_flag() {
            assert!(!flagged.healthy, "{flagged:?}");
            assert_eq!(ports, [1001]);
        } else {
            // rnacos registers every instance healthy, whatever the flag.
            assert!(flagged.healthy, "{flagged:?}");
            assert_eq!(ports, [1001, 1002]);
        }
    }

    pub fn healthy_only_leaves_out_an_instance_without_beats(profile: &Profile) {
        let server = profile.start_with(Options {
            short_health_timeout: true,
        });
        let client = server.client();
        let service = unique("health");
        // Registered behind the client's back, so that nothing beats them but this test.
        server.register_raw(&service, IP, 1001);
        server.register_raw(&service, OTHER_IP, 1002);

        let became_unhealthy = wait_until(profile.unhealthy_within(), || {
            let beat = client.send_heartbeat(&service, IP, 1001).send().unwrap();
            assert_eq!(beat.code, BEAT_OK);
            let all = client
                .list_naming_instance(&service)
                .healthy_only(false)
                .send()
                .unwrap();
            find(&all.hosts, OTHER_IP, 1002).is_some_and(|h| !h.healthy)
        });
        assert!(
            became_unhealthy,
            "the instance left without beats turns unhealthy"
        );
        let beaten = find(
            &client.list_naming_instance(&service).send().unwrap().hosts,
            IP,
            1001,
        )
        .cloned();
        assert!(
            beaten.is_some_and(|h| h.healthy),
            "the beaten instance stays healthy"
        );

        let healthy = client
            .list_naming_instance(&service)
            .healthy_only(true)
            .send()
            .unwrap();
        let addresses: Vec<String> = healthy.hosts.iter().map(Instance::address).collect();
        assert_eq!(addresses, [format!("{IP}:1001")]);
        // healthy_only defaults to false, as in the seed, on every server: rnacos defaults to
        // true when the parameter is left out, so the client always sends it.
        let by_default = client.list_naming_instance(&service).send().unwrap();
        assert_eq!(by_default.hosts.len(), 2, "{by_default:?}");

        // A beat heals at once.
        client
            .send_heartbeat(&service, OTHER_IP, 1002)
            .send()
            .unwrap();
        let healed = client
            .list_naming_instance(&service)
            .healthy_only(true)
            .send()
            .unwrap();
        assert_eq!(healed.hosts.len(), 2, "{healed:?}");
    }

    pub fn remove_with_every_parameter(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("remove");
        client
            .add_naming_instance(&service, IP, 8080)
            .cluster_name("production")
            .group_name("microservices")
            .send()
            .unwrap();
        client
            .add_naming_instance(&service, IP, 8081)
            .cluster_name("production")
            .group_name("microservices")
            .send()
            .unwrap();
        client
            .remove_naming_instance(&service, IP, 8080)
            .cluster_name("production")
            .ephemeral(true)
            .group_name("microservices")
            .send()
            .unwrap();
        let ports: Vec<u16> = server
            .hosts(&service, "microservices", None)
            .iter()
            .map(|h| h.port)
            .collect();
        assert_eq!(ports, [8081], "only the instance named is removed");

        // Removing what is not there is not an error on any server.
        client
            .remove_naming_instance(&service, IP, 9999)
            .group_name("microservices")
            .send()
            .unwrap();
        client
            .remove_naming_instance(unique("never-registered"), IP, 1)
            .send()
            .unwrap();
    }

    pub fn modify_changes_only_what_is_named(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("modify");
        client
            .add_naming_instance(&service, IP, 8080)
            .weight(1.5)
            .metadata([("version", "1.0.0")])
            .send()
            .unwrap();
        let get = || {
            client
                .get_naming_instance(&service, IP, 8080)
                .send()
                .unwrap()
        };

        client
            .modify_naming_instance(&service, IP, 8080)
            .weight(2.0)
            .send()
            .unwrap();
        let after_weight = get();
        assert_eq!(after_weight.weight, 2.0);
        assert_eq!(
            after_weight.metadata,
            metadata(&[("version", "1.0.0")]),
            "metadata kept"
        );
        assert!(after_weight.enabled, "enabled kept");

        client
            .modify_naming_instance(&service, IP, 8080)
            .metadata([("status", "updated")])
            .send()
            .unwrap();
        let after_metadata = get();
        let modified = if profile.modify_merges_metadata() {
            metadata(&[("version", "1.0.0"), ("status", "updated")])
        } else {
            metadata(&[("status", "updated")])
        };
        assert_eq!(after_metadata.metadata, modified);
        assert_eq!(after_metadata.weight, 2.0, "weight kept");
        assert!(after_metadata.enabled, "enabled kept");

        client
            .modify_naming_instance(&service, IP, 8080)
            .enabled(false)
            .send()
            .unwrap();
        if profile.gets_disabled_instances() {
            let after_disable = get();
            assert!(!after_disable.enabled);
            assert_eq!(after_disable.weight, 2.0, "weight kept");
            assert_eq!(after_disable.metadata, modified, "metadata kept");
        } else {
            let read = client.get_naming_instance(&service, IP, 8080).send();
            assert_invisible_when_disabled(read.map(drop));
        }
        assert!(
            client
                .list_naming_instance(&service)
                .send()
                .unwrap()
                .hosts
                .is_empty(),
            "a disabled instance is left out"
        );

        let enable = client
            .modify_naming_instance(&service, IP, 8080)
            .enabled(true)
            .weight(1.0);
        if profile.gets_disabled_instances() {
            enable.send().unwrap();
        } else {
            // Without a read of the disabled instance, only a modify naming every field works.
            assert_invisible_when_disabled(enable.send());
            client
                .modify_naming_instance(&service, IP, 8080)
                .enabled(true)
                .weight(1.0)
                .metadata(modified.clone())
                .send()
                .unwrap();
        }
        let after_enable = get();
        assert!(after_enable.enabled);
        if profile.applies_weight_one_on_modify() {
            assert_eq!(after_enable.weight, 1.0);
        } else {
            // rnacos ignores weight=1.0 on a modify.
            assert_eq!(after_enable.weight, 2.0);
        }
        assert_eq!(
            client
                .list_naming_instance(&service)
                .send()
                .unwrap()
                .hosts
                .len(),
            1
        );
    }

    pub fn modify_with_every_parameter(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("modify-every");
        client
            .add_naming_instance(&service, IP, 8080)
            .cluster_name("production")
            .group_name("microservices")
            .metadata([("version", "1.0.0")])
            .send()
            .unwrap();
        client
            .modify_naming_instance(&service, IP, 8080)
            .weight(2.0)
            .metadata([("status", "updated")])
            .enabled(false)
            .cluster_name("production")
            .group_name("microservices")
            .send()
            .unwrap();
        let host = server
            .hosts(&service, "microservices", None)
            .into_iter()
            .find(|h| h.port == 8080);
        let got = client
            .get_naming_instance(&service, IP, 8080)
            .cluster_name("production")
            .group_name("microservices")
            .send();
        if !profile.gets_disabled_instances() {
            assert_invisible_when_disabled(got.map(drop));
            assert!(host.is_none(), "disabled, so not listed: {host:?}");
            return;
        }
        let got = got.unwrap();
        assert_eq!(got.weight, 2.0);
        let modified = if profile.modify_merges_metadata() {
            metadata(&[("version", "1.0.0"), ("status", "updated")])
        } else {
            metadata(&[("status", "updated")])
        };
        assert_eq!(got.metadata, modified);
        assert!(!got.enabled);
        assert_eq!(got.cluster_name, "production");
        assert!(host.is_none(), "disabled, so not listed: {host:?}");
    }

    pub fn get_with_group_and_cluster(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("get");
        // The instance registered in `cluster` says where it is in its metadata.
        let register_in = |cluster: &str| {
            client
                .add_naming_instance(&service, IP, 8080)
                .cluster_name(cluster)
                .group_name("microservices")
                .metadata([("where", cluster)])
                .send()
                .unwrap()
        };
        let get_in = |cluster: &str| {
            client
                .get_naming_instance(&service, IP, 8080)
                .cluster_name(cluster)
                .group_name("microservices")
                .send()
                .unwrap()
        };
        register_in("production");
        let got = get_in("production");
        assert_eq!(got.metadata["where"], "production");
        assert_eq!(got.cluster_name, "production");

        if profile.moves_between_clusters() && profile.get_honours_cluster() {
            // The same ip:port registered in another cluster is the same instance, moved.
            register_in("staging");
            let staging = get_in("staging");
            assert_eq!(staging.metadata["where"], "staging");
            assert_eq!(staging.cluster_name, "staging");
            let production = client
                .get_naming_instance(&service, IP, 8080)
                .cluster_name("production")
                .group_name("microservices")
                .send();
            assert_server_refusal(profile, production.map(drop), profile.not_found_status());
        } else if profile.get_honours_cluster() {
            // 1.4: one instance per cluster, so the first stays where it was.
            register_in("staging");
            assert_eq!(get_in("staging").metadata["where"], "staging");
            assert_eq!(get_in("production").metadata["where"], "production");
        }

        // Without the group, the default group is asked, where the instance is not.
        let wrong_group = client.get_naming_instance(&service, IP, 8080).send();
        assert_server_refusal(profile, wrong_group.map(drop), profile.not_found_status());
    }

    pub fn heartbeat_answers(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("beat");
        client
            .add_naming_instance(&service, IP, 8080)
            .cluster_name("production")
            .group_name("microservices")
            .send()
            .unwrap();
        let beat = client
            .send_heartbeat(&service, IP, 8080)
            .weight(1.5)
            .metadata([("status", "running")])
            .ephemeral(true)
            .cluster_name("production")
            .group_name("microservices")
            .send()
            .unwrap();
        assert_eq!(beat.code, BEAT_OK);
        assert!(
            beat.client_beat_interval > 0 && beat.client_beat_interval <= 60_000,
            "{beat:?}"
        );
        let hosts = server.hosts(&service, "microservices", None);
        assert_eq!(
            hosts.len(),
            1,
            "the beat refreshed the instance, made no new one: {hosts:?}"
        );
        assert!(hosts[0].healthy);
        assert_eq!(
            hosts[0].cluster_name, "production",
            "the beat keeps the instance in its cluster (rnacos takes the cluster from the \
             beat's clusterName query parameter, not from the beat body)"
        );

        // The default group's service is another one, where no instance is yet.
        let minimal = client.send_heartbeat(&service, IP, 8080).send().unwrap();
        if profile.beat_recreates_unknown_instance() {
            assert_eq!(minimal.code, BEAT_OK, "the beat registers it");
        } else {
            assert!(minimal.instance_not_found(), "{minimal:?}");
        }
    }

    pub fn heartbeat_for_an_unknown_instance(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("beat-unknown");
        // A full beat (the client always sends the beat body) re-creates the instance.
        let beat = client
            .send_heartbeat(&service, IP, 8080)
            .metadata([("from", "beat")])
            .send()
            .unwrap();
        let hosts = server.hosts(&service, "DEFAULT_GROUP", None);
        if profile.beat_recreates_unknown_instance() {
            assert_eq!(beat.code, BEAT_OK, "{beat:?}");
            let host = find(&hosts, IP, 8080).expect("re-created from the beat");
            assert_eq!(host.metadata.get("from").map(String::as_str), Some("beat"));
        } else {
            assert!(beat.instance_not_found(), "{beat:?}");
            assert!(hosts.is_empty(), "{hosts:?}");
        }

        let light = server.light_beat_raw(&format!("DEFAULT_GROUP@@{}", unique("light")), IP, 1);
        assert_eq!(light, profile.light_beat_for_unknown_code());
    }

    pub fn list_of_an_unknown_service_is_empty(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let listed = client
            .list_naming_instance(unique("nobody"))
            .healthy_only(false)
            .send()
            .unwrap();
        assert!(listed.hosts.is_empty(), "{listed:?}");
    }

    pub fn list_with_every_parameter(profile: &Profile) {
        let server = profile.start();
        let scoped = server
            .client_builder()
            .namespace("production")
            .build()
            .unwrap();
        let client = server.client();
        let service = unique("list-every");
        scoped
            .add_naming_instance(&service, IP, 8080)
            .cluster_name("production")
            .group_name("microservices")
            .send()
            .unwrap();
        let listed = client
            .list_naming_instance(&service)
            .clusters(["production", "staging"])
            .healthy_only(true)
            .namespace_id("production")
            .group_name("microservices")
            .send()
            .unwrap();
        assert_eq!(listed.name, service);
        assert_eq!(listed.group_name, "microservices");
        let host = find(&listed.hosts, IP, 8080).expect("listed");
        assert_eq!(host.cluster_name, "production");
        assert!(listed.cache_millis > 0);
    }

    pub fn bad_input_reaches_no_server(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("bad-input");
        client
            .add_naming_instance(&service, IP, 8080)
            .send()
            .unwrap();
        let before = server.hosts(&service, "DEFAULT_GROUP", None);

        let refusals: Vec<(&str, Result<(), Error>)> = vec![
            ("port", client.add_naming_instance(&service, IP, 0).send()),
            (
                "weight",
                client
                    .add_naming_instance(&service, IP, 8081)
                    .weight(-1.0)
                    .send(),
            ),
            (
                "ip",
                client
                    .add_naming_instance(&service, "999.1.1.1", 8082)
                    .send(),
            ),
            (
                "cluster_name",
                client
                    .modify_naming_instance(&service, IP, 8080)
                    .cluster_name("not_valid")
                    .weight(3.0)
                    .send(),
            ),
            (
                "metadata",
                client
                    .modify_naming_instance(&service, IP, 8080)
                    .metadata([("", "empty key")])
                    .send(),
            ),
            (
                "group_name",
                client
                    .remove_naming_instance(&service, IP, 8080)
                    .group_name("a@@b")
                    .send(),
            ),
        ];
        for (param, result) in refusals {
            assert_invalid(result, param);
        }
        assert_eq!(
            server.hosts(&service, "DEFAULT_GROUP", None),
            before,
            "nothing changed"
        );
    }

    pub fn failover_past_a_closed_port(profile: &Profile) {
        let server = profile.start();
        let closed = format!("127.0.0.1:{}", free_port());
        let client = NamingClient::builder()
            .server_addresses(format!("{closed},{}", server.address()))
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let service = unique("failover");
        // Several rounds, so that the random first server is the closed one at least once.
        for port in 8080..8086 {
            client
                .add_naming_instance(&service, IP, port)
                .metadata([("round", "1")])
                .send()
                .unwrap();
            client
                .modify_naming_instance(&service, IP, port)
                .weight(2.0)
                .send()
                .unwrap();
            client
                .get_naming_instance(&service, IP, port)
                .send()
                .unwrap();
            client.send_heartbeat(&service, IP, port).send().unwrap();
            client.list_naming_instance(&service).send().unwrap();
            client
                .remove_naming_instance(&service, IP, port)
                .send()
                .unwrap();
        }
        assert!(server.hosts(&service, "DEFAULT_GROUP", None).is_empty());
    }

    pub fn server_refusal_keeps_the_servers_text(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let result = client
            .get_naming_instance(unique("no-such-service"), IP, 8080)
            .send();
        assert_server_refusal(profile, result.map(drop), profile.not_found_status());
    }

    pub fn malformed_grouped_name_is_the_servers_refusal(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        // `@@name` passes the client's checks (a grouped name is allowed) but names no group.
        let name = unique("no-group");
        let service = format!("@@{name}");
        let result = client.add_naming_instance(&service, IP, 8080).send();
        if !profile.refuses_grouped_name_without_group() {
            result.unwrap();
            assert_eq!(server.hosts(&name, "DEFAULT_GROUP", None).len(), 1);
            return;
        }
        if let Err(Error::Server { message, .. }) = &result {
            assert!(
                message.contains("serviceName"),
                "names the parameter: {message}"
            );
        }
        assert_server_refusal(profile, result, profile.bad_request_status());
    }

    pub fn modify_of_an_unknown_instance_is_refused(profile: &Profile) {
        let server = profile.start();
        let client = server.client();
        let service = unique("modify-unknown");
        let result = client
            .modify_naming_instance(&service, IP, 8080)
            .weight(2.0)
            .send();
        assert_server_refusal(profile, result, profile.not_found_status());
        assert!(
            server.hosts(&service, "DEFAULT_GROUP", None).is_empty(),
            "nothing was created"
        );
    }

    /// An `Error::Server` with the expected status and a non-empty text from the server,
    /// shown in the error's one-line `Display`.
    fn assert_server_refusal(profile: &Profile, result: Result<(), Error>, status: u16) {
        match result {
            Err(Error::Server {
                status: got,
                ref message,
                ..
            }) => {
                assert_eq!(got, status, "{:?}: {message}", profile.kind);
                assert!(!message.trim().is_empty(), "the server's text is kept");
                let shown = result.as_ref().unwrap_err().to_string();
                assert!(shown.contains(message.trim()), "{shown}");
                assert!(!shown.contains('\n'), "one line: {shown}");
            }
            other => panic!("expected Error::Server({status}), got {other:?}"),
        }
    }

    /// The client's 404 for a disabled instance it looked for in the v3 client list, saying
    /// why it could not be seen.
    fn assert_invisible_when_disabled(result: Result<(), Error>) {
        match result {
            Err(Error::Server {
                status: 404,
                message,
                ..
            }) => assert!(
                message.contains("leaves disabled instances out"),
                "{message}"
            ),
            other => panic!("expected the client's 404 for a disabled instance, got {other:?}"),
        }
    }

    /// An `Error::InvalidParam` naming `param`.
    pub fn assert_invalid(result: Result<(), Error>, param: &str) {
        match result {
            Err(Error::InvalidParam { param: got, .. }) => assert_eq!(got, param),
            other => panic!("expected InvalidParam({param}), got {other:?}"),
        }
    }
}

/// One `#[test]` per case for a server; `$profile` is a `Profile` constructor that returns
/// `None` (after printing the skip) when the server is absent.
macro_rules! conformance {
    ($profile:expr) => {
        use super::cases;

        fn profile() -> Option<super::Profile> {
            $profile
        }

        /// Add with ip and port only: default group, cluster DEFAULT, weight 1, healthy, enabled.
        #[test]
        fn add_with_required_arguments_only() {
            let Some(p) = profile() else { return };
            cases::add_with_required_arguments_only(&p);
        }

        /// Add with every seed parameter; list and get give each one back.
        #[test]
        fn add_with_every_parameter() {
            let Some(p) = profile() else { return };
            cases::add_with_every_parameter(&p);
        }

        /// One service name in two groups is two services.
        #[test]
        fn groups_keep_services_apart() {
            let Some(p) = profile() else { return };
            cases::groups_keep_services_apart(&p);
        }

        /// A client namespace and a call's namespace_id scope every call.
        #[test]
        fn namespaces_keep_services_apart() {
            let Some(p) = profile() else { return };
            cases::namespaces_keep_services_apart(&p);
        }

        /// `clusters([..])` lists the named clusters only (rnacos: all, tolerated).
        #[test]
        fn clusters_filter_the_list() {
            let Some(p) = profile() else { return };
            cases::clusters_filter_the_list(&p);
        }

        /// Metadata with spaces, commas, quotes, unicode and empty values comes back intact.
        #[test]
        fn metadata_round_trips() {
            let Some(p) = profile() else { return };
            cases::metadata_round_trips(&p);
        }

        /// Weights from 0 to 10000, fractional ones too, come back as sent.
        #[test]
        fn weights_round_trip() {
            let Some(p) = profile() else { return };
            cases::weights_round_trip(&p);
        }

        /// A disabled instance is left out of every list, and get still shows it.
        #[test]
        fn disabled_instances_are_left_out_of_lists() {
            let Some(p) = profile() else { return };
            cases::disabled_instances_are_left_out_of_lists(&p);
        }

        /// A persistent instance is listed as such and removed as persistent.
        #[test]
        fn persistent_instances() {
            let Some(p) = profile() else { return };
            cases::persistent_instances(&p);
        }

        /// An instance registered unhealthy is listed so, and left out by healthy_only.
        #[test]
        fn healthy_flag_is_kept_and_filtered() {
            let Some(p) = profile() else { return };
            cases::healthy_flag_is_kept_and_filtered(&p);
        }

        /// Of two instances, the one left without beats turns unhealthy and healthy_only drops it.
        #[test]
        fn healthy_only_leaves_out_an_instance_without_beats() {
            let Some(p) = profile() else { return };
            cases::healthy_only_leaves_out_an_instance_without_beats(&p);
        }

        /// Remove with cluster, ephemeral and group removes that instance only; unknown is ok.
        #[test]
        fn remove_with_every_parameter() {
            let Some(p) = profile() else { return };
            cases::remove_with_every_parameter(&p);
        }

        /// Modify changes weight, metadata, enabled one at a time, keeping the rest.
        #[test]
        fn modify_changes_only_what_is_named() {
            let Some(p) = profile() else { return };
            cases::modify_changes_only_what_is_named(&p);
        }

        /// The seed's modify with every parameter, in a group and cluster.
        #[test]
        fn modify_with_every_parameter() {
            let Some(p) = profile() else { return };
            cases::modify_with_every_parameter(&p);
        }

        /// Get finds an instance by group and cluster; the wrong group is the server's 404.
        #[test]
        fn get_with_group_and_cluster() {
            let Some(p) = profile() else { return };
            cases::get_with_group_and_cluster(&p);
        }

        /// A beat with every parameter answers 10200 and a sane clientBeatInterval.
        #[test]
        fn heartbeat_answers() {
            let Some(p) = profile() else { return };
            cases::heartbeat_answers(&p);
        }

        /// A full beat re-creates an unknown instance; a light one answers 20404 (not rnacos).
        #[test]
        fn heartbeat_for_an_unknown_instance() {
            let Some(p) = profile() else { return };
            cases::heartbeat_for_an_unknown_instance(&p);
        }

        /// Listing a service nobody registered gives an empty list, not an error.
        #[test]
        fn list_of_an_unknown_service_is_empty() {
            let Some(p) = profile() else { return };
            cases::list_of_an_unknown_service_is_empty(&p);
        }

        /// The seed's list with clusters, healthy_only, namespace_id and group_name.
        #[test]
        fn list_with_every_parameter() {
            let Some(p) = profile() else { return };
            cases::list_with_every_parameter(&p);
        }

        /// Bad input is refused with InvalidParam and the server's instances stay unchanged.
        #[test]
        fn bad_input_reaches_no_server() {
            let Some(p) = profile() else { return };
            cases::bad_input_reaches_no_server(&p);
        }

        /// With a closed port first in the list, every seed call succeeds.
        #[test]
        fn failover_past_a_closed_port() {
            let Some(p) = profile() else { return };
            cases::failover_past_a_closed_port(&p);
        }

        /// A grouped name without a group is the server's 400 (rnacos: 500) naming serviceName.
        #[test]
        fn malformed_grouped_name_is_the_servers_refusal() {
            let Some(p) = profile() else { return };
            cases::malformed_grouped_name_is_the_servers_refusal(&p);
        }

        /// Modifying an instance that does not exist is the server's not-found, creating nothing.
        #[test]
        fn modify_of_an_unknown_instance_is_refused() {
            let Some(p) = profile() else { return };
            cases::modify_of_an_unknown_instance_is_refused(&p);
        }

        /// A refusal is Error::Server with the server's status and its own text.
        #[test]
        fn server_refusal_keeps_the_servers_text() {
            let Some(p) = profile() else { return };
            cases::server_refusal_keeps_the_servers_text(&p);
        }
    };
}

/// The devserver as each official server line: its default, 2.x, first.
mod devserver {
    use super::*;
    use nacos_devserver::NacosVersion;
    conformance!(Profile::devserver(NacosVersion::V2));

    mod nacos_1_4 {
        use super::*;
        conformance!(Profile::devserver(NacosVersion::V1_4));
    }

    mod nacos_3_1 {
        use super::*;
        conformance!(Profile::devserver(NacosVersion::V3_1));
    }

    mod nacos_3_2 {
        use super::*;
        conformance!(Profile::devserver(NacosVersion::V3_2));
    }
}

mod rnacos {
    use super::*;
    conformance!(Profile::rnacos());
}

// A recorder stands in for the server and counts what reaches it.
/// Every kind of bad input is InvalidParam naming the parameter, and no request is sent.
#[test]
fn bad_input_sends_no_request() {
    let recorder = Recorder::start();
    let client = NamingClient::new(recorder.address().as_str()).unwrap();
    let svc = "user-service";
    let ip = "127.0.0.1";
    let cases: Vec<(&str, Result<(), Error>)> = vec![
        ("service_name", client.add_naming_instance("", ip, 1).send()),
        (
            "service_name",
            client.add_naming_instance("  ", ip, 1).send(),
        ),
        (
            "service_name",
            client.list_naming_instance(" ").send().map(drop),
        ),
        (
            "group_name",
            client.add_naming_instance(svc, ip, 1).group_name("").send(),
        ),
        (
            "group_name",
            client
                .add_naming_instance(svc, ip, 1)
                .group_name("a@@b")
                .send(),
        ),
        (
            "group_name",
            client
                .list_naming_instance(svc)
                .group_name("")
                .send()
                .map(drop),
        ),
        ("ip", client.add_naming_instance(svc, "", 1).send()),
        ("ip", client.add_naming_instance(svc, "999.1.1.1", 1).send()),
        ("ip", client.remove_naming_instance(svc, "a b", 1).send()),
        (
            "ip",
            client.get_naming_instance(svc, "-bad", 1).send().map(drop),
        ),
        ("port", client.add_naming_instance(svc, ip, 0).send()),
        ("port", client.send_heartbeat(svc, ip, 0).send().map(drop)),
        (
            "weight",
            client
                .add_naming_instance(svc, ip, 1)
                .weight(f64::NAN)
                .send(),
        ),
        (
            "weight",
            client.add_naming_instance(svc, ip, 1).weight(-0.5).send(),
        ),
        (
            "weight",
            client
                .add_naming_instance(svc, ip, 1)
                .weight(10_000.5)
                .send(),
        ),
        (
            "weight",
            client
                .modify_naming_instance(svc, ip, 1)
                .weight(f64::INFINITY)
                .send(),
        ),
        (
            "weight",
            client
                .send_heartbeat(svc, ip, 1)
                .weight(-1.0)
                .send()
                .map(drop),
        ),
        (
            "cluster_name",
            client
                .add_naming_instance(svc, ip, 1)
                .cluster_name("a_b")
                .send(),
        ),
        (
            "cluster_name",
            client
                .add_naming_instance(svc, ip, 1)
                .cluster_name("")
                .send(),
        ),
        (
            "cluster_name",
            client
                .get_naming_instance(svc, ip, 1)
                .cluster_name("x y")
                .send()
                .map(drop),
        ),
        (
            "cluster_name",
            client
                .list_naming_instance(svc)
                .clusters(["ok", "not ok"])
                .send()
                .map(drop),
        ),
        (
            "metadata",
            client
                .add_naming_instance(svc, ip, 1)
                .metadata([("", "v")])
                .send(),
        ),
        (
            "metadata",
            client
                .send_heartbeat(svc, ip, 1)
                .metadata([("", "v")])
                .send()
                .map(drop),
        ),
        (
            "namespace_id",
            client
                .list_naming_instance(svc)
                .namespace_id("")
                .send()
                .map(drop),
        ),
    ];
    for (param, result) in cases {
        cases::assert_invalid(result, param);
    }
    for bad in [
        "",
        " , ",
        "127.0.0.1:notaport",
        "http://",
        "127.0.0.1:70000",
    ] {
        match NamingClient::new(bad) {
            Err(Error::InvalidParam { .. }) => {}
            other => panic!("server address {bad:?}: expected InvalidParam, got {other:?}"),
        }
    }
    assert!(recorder.requests().is_empty(), "{:?}", recorder.requests());
}
