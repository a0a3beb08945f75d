//! What the client's integration suites share: a recording server and unique names.
//!
//! Each test binary uses part of it.
#![allow(dead_code)]

pub mod recorder;

use std::sync::atomic::{AtomicU32, Ordering};

/// A service name no other test uses, so tests can share a server.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
