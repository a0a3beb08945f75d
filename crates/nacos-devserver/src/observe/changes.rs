//! The info-level log of what the health rules change on their own, one line each, worded as
//! the log of the calls that change instances (`registered …`, `deregistered …`).

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
