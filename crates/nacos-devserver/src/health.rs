//! The health loop: marks ephemeral instances unhealthy after the health timeout without a
//! beat and removes them after the expire timeout.
//!
//! It sleeps until the next deadline the registry reports, not on a fixed period, so
//! millisecond timeouts are honoured in tests and an idle server does nothing. An instance
//! registered while it sleeps is due no earlier than its wake-up (a new deadline is at least one
//! server timeout away), except one whose metadata sets shorter timeouts of its own
//! (`preserved.heart.beat.timeout`, `preserved.ip.delete.timeout`): the registry then wakes it.
//! Shutting the runtime down ends it.

use std::sync::Arc;

use crate::registry::Registry;

/// Runs until the runtime is shut down.
pub(crate) async fn run(registry: Arc<Registry>) {
    loop {
        let shortest = registry.shortest_timeout().max(1);
        let next = registry.expire();
        let scanned = registry.now();
        let wake = match next {
            Some(at) => at.max(scanned.saturating_add(coalescing(shortest))),
            None => scanned.saturating_add(shortest),
        };
        tokio::select! {
            () = tokio::time::sleep_until(registry.instant(wake).into()) => {}
            () = registry.woken() => {
                // Woken by an instance with shorter timeouts of its own; still no more than one
                // scan per coalescing period, however many such instances register.
                let shortest = registry.shortest_timeout().max(1);
                let earliest = scanned.saturating_add(coalescing(shortest));
                tokio::time::sleep_until(registry.instant(earliest).into()).await;
            }
        }
    }
}

/// Deadlines closer together than this are handled in one pass: with thousands of instances that
/// stopped beating at slightly different times, one scan, not thousands.
fn coalescing(shortest_timeout: u64) -> u64 {
    (shortest_timeout / 16).clamp(1, 1_000)
}
