//! Where an instance is when it is not where the command line says: servers answer "ok" to
//! the deregistration of an instance they do not have, and a 404 alone does not say that the
//! instance is in another cluster or group.

use nacos_naming::{NamingClient, DEFAULT_CLUSTER, DEFAULT_GROUP};

use crate::cli::InstanceArgs;
use crate::commands::instance_label;
use crate::exit::Failure;

/// Fails, saying where the instance is instead, unless the server has it where `i` says.
pub(crate) fn must_exist(
    client: &NamingClient,
    i: &InstanceArgs,
    verb: &str,
) -> Result<(), Failure> {
    let found = client
        .get_naming_instance(&i.service, &i.ip, i.port)
        .set_cluster_name(i.cluster.clone())
        .set_group_name(i.group.clone())
        .send();
    let what = format!("cannot {verb} {}", instance_label(i));
    match found {
        Ok(_) => Ok(()),
        Err(e) => {
            let failure = Failure::nacos(what.clone(), e);
            if failure.is_not_found() {
                Err(Failure::missing(what, where_it_is(client, i)))
            } else {
                Err(failure)
            }
        }
    }
}

/// `failure` with a hint naming the clusters and groups the instance is in, when a server
/// said it does not exist where asked.
pub(crate) fn explain(client: &NamingClient, i: &InstanceArgs, failure: Failure) -> Failure {
    if !failure.is_not_found() {
        return failure;
    }
    failure.with_hint(where_it_is(client, i))
}

/// `no such instance in cluster DEFAULT of group DEFAULT_GROUP; it is in cluster c1`.
fn where_it_is(client: &NamingClient, i: &InstanceArgs) -> String {
    let cluster = i.cluster.as_deref().unwrap_or(DEFAULT_CLUSTER);
    let group = i.group.as_deref().unwrap_or(DEFAULT_GROUP);
    let places = places(client, i, group);
    if places.is_empty() {
        format!("no such instance in any cluster of group {group}")
    } else {
        format!(
            "no such instance in cluster {cluster} of group {group}; it is in {}",
            places.join(", ")
        )
    }
}

/// `cluster c1`, or `group G, cluster c1` for another group: where the lists show the
/// instance. The group asked, and the default group when another was asked.
fn places(client: &NamingClient, i: &InstanceArgs, group: &str) -> Vec<String> {
    let mut groups = vec![group];
    if group != DEFAULT_GROUP {
        groups.push(DEFAULT_GROUP);
    }
    let mut places = Vec::new();
    for g in groups {
        // A failing list only means fewer places are named.
        let Ok(service) = client.list_naming_instance(&i.service).group_name(g).send() else {
            continue;
        };
        for host in service.hosts {
            if host.ip == i.ip && host.port == i.port {
                places.push(if g == group {
                    format!("cluster {}", host.cluster_name)
                } else {
                    format!("group {g}, cluster {}", host.cluster_name)
                });
            }
        }
    }
    places
}
