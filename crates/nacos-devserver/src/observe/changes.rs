//! The info-level log of what the health rules change on their own, one line each, worded as
//! the log of the calls that change instances (`registered …`, `deregistered …`), and of the
//! defined services the empty-service cleanup drops.

use crate::handlers::address;
use crate::service::{Lapse, LapseKind};

/// Logs one health change of an instance of `grouped` (`group@@name`) in `namespace`.
pub(crate) fn lapse(namespace: &str, grouped: &str, lapse: &Lapse) {
    let Lapse {
        cluster,
        ip,
        port,
        kind,
        silent_ms,
    } = lapse;
    let instance = format!(
        "{grouped} {} cluster={cluster} namespace={namespace}",
        address(ip, *port)
    );
    match kind {
        LapseKind::Unhealthy => log::info!("unhealthy {instance}: no beat for {silent_ms} ms"),
        LapseKind::Recovered => {
            log::info!("healthy again {instance}: a beat after {silent_ms} ms")
        }
        LapseKind::Expired => log::info!("expired {instance}: no beat for {silent_ms} ms"),
    }
}

/// Logs that the defined service `grouped` (`group@@name`) of `namespace` was dropped with its
/// definition after `empty_ms` without instances.
pub(crate) fn cleaned(namespace: &str, grouped: &str, empty_ms: u64) {
    log::info!(
        "removed {grouped} namespace={namespace} and its definition: no instance for {empty_ms} ms"
    );
}
