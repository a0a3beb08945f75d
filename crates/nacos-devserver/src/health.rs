//! The health loop: marks ephemeral instances unhealthy after the health timeout without a
//! beat and removes them after the expire timeout.
//!
//! It sleeps until the next deadline the registry reports, not on a fixed period, so
//! millisecond timeouts are honoured in tests and an idle server does nothing. Deadlines of
//! instances registered while it sleeps are never earlier than its wake-up (a new deadline is at
//! least one timeout away), so no wake-up call is needed; shutting the runtime down ends it.

use std::sync::Arc;

use crate::registry::Registry;

/// Runs until the runtime is shut down.
pub(crate) async fn run(registry: Arc<Registry>) {
    let timings = registry.timings();
    let shortest = timings.health_timeout.min(timings.expire_timeout).max(1);
    // Deadlines closer together than this are handled in one pass: with thousands of instances
    // that stopped beating at slightly different times, one scan instead of thousands.
    let coalesce = (shortest / 16).clamp(1, 1_000);
    loop {
        let next = registry.expire();
        let now = registry.now();
        let wake = match next {
            Some(at) => at.max(now.saturating_add(coalesce)),
            None => now.saturating_add(shortest),
        };
        tokio::time::sleep_until(registry.instant(wake).into()).await;
    }
}
