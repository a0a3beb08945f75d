//! Names no other test uses, so that tests can share one server.

use std::sync::atomic::{AtomicU32, Ordering};

/// `{prefix}-{process id}-{counter}`: unique among the tests of this run, and among test
/// binaries running at once against the same server.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
