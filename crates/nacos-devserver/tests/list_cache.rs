//! The list-answer cache bounded for the whole server (`max_list_cache_memory`): lists of many
//! services with many filters past a small budget, or with none, are answered right through
//! changes; a miss only renders again.

mod common;

use common::Api;
use nacos_devserver::DevServer;

/// Lists every service with every filter, after each of three registrations per service, and
/// checks each answer shows exactly what is registered in the clusters asked for.
fn lists_stay_right(api: &Api) {
    let services: Vec<String> = (0..12).map(|i| format!("cached-{i}")).collect();
    let filters = [
        ("", [1, 1]),
        ("a", [1, 0]),
        ("b", [0, 1]),
        ("a,b", [1, 1]),
        ("c", [0, 0]),
    ];
    for round in 0..3u16 {
        for service in &services {
            // One address per cluster: 2.x identifies an instance by its address alone.
            for (cluster, ip) in [("a", "10.8.0.1"), ("b", "10.8.0.2")] {
                api.register(service, ip, round + 1, &[("clusterName", cluster)]);
            }
        }
        for service in &services {
            for (clusters, [in_a, in_b]) in filters {
                for healthy_only in ["false", "true"] {
                    let info = api.list(
                        service,
                        &[("clusters", clusters), ("healthyOnly", healthy_only)],
                    );
                    let want = usize::from(round + 1) * (in_a + in_b);
                    assert_eq!(
                        info.hosts.len(),
                        want,
                        "{service} clusters {clusters:?} round {round}"
                    );
                    assert!(info.name.ends_with(service.as_str()), "{}", info.name);
                }
            }
        }
    }
}

/// The list cache's gauges in the metrics: answers kept and their bytes.
fn cache_gauges(api: &Api) -> (u64, u64) {
    let (status, text) = api.call("GET", "/nacos/actuator/prometheus", &[]);
    assert_eq!(status, 200, "{text}");
    let gauge = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} not in\n{text}"))
    };
    (
        gauge("nacos_devserver_list_cache_answers"),
        gauge("nacos_devserver_list_cache_bytes"),
    )
}

#[test]
fn a_small_budget_across_many_services_and_filters_answers_right() {
    let api = Api::with(DevServer::builder().max_list_cache_memory(4096));
    lists_stay_right(&api);
    let (answers, bytes) = cache_gauges(&api);
    assert!(answers > 0 && bytes > 0, "{answers} answers, {bytes} bytes");
    assert!(
        bytes <= 4096,
        "{bytes} bytes kept within a 4096-byte budget"
    );
}

#[test]
fn no_budget_renders_every_answer() {
    let api = Api::with(DevServer::builder().max_list_cache_memory(0));
    lists_stay_right(&api);
    assert_eq!(cache_gauges(&api), (0, 0));
}
