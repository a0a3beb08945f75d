//! Fixtures for this workspace's own tests, not a published crate.
//!
//! The client's conformance suite, the server's tests and the command line's tests need the same
//! few things: a free port on loopback, a way to wait for a condition with a deadline instead of
//! sleeping, a real [rnacos](https://crates.io/crates/rnacos) server started on free ports with a
//! fresh data directory and stopped when the test ends, and the Python peer
//! (nacos-sdk-python 1.0.0) for the wire comparison, and headless Chromium with chromedriver for
//! the devserver console's test.
//!
//! Real servers are optional on a developer's machine: a test that needs one starts with
//! [`skip_unless_rnacos!`] or [`skip_unless_python!`], which print why the test was skipped and
//! return. Under CI (`CI=true`) a missing server is a failure instead, so CI never passes by
//! skipping. `scripts/ci` installs both and exports `RNACOS_BIN` and `NACOS_PYTHON`.
//!
//! ```no_run
//! use std::time::Duration;
//! use nacos_test_support::{skip_unless_rnacos, wait_until, Rnacos};
//!
//! fn lists_services() {
//!     skip_unless_rnacos!();
//!     let server = Rnacos::builder().health_timeout_secs(1).start().unwrap();
//!     let addr = server.address();
//!     assert!(wait_until(Duration::from_secs(5), || {
//!         nacos_test_support::http(&addr, "GET", "/nacos/v1/ns/service/list?pageNo=1&pageSize=10")
//!             .is_ok_and(|answer| answer.status == 200)
//!     }));
//! }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Compiles and runs every Rust example of the repository's README with `cargo test --doc`, so
// the README cannot drift from the API. Here, not in a published crate: the examples start an
// embedded devserver, which a published client crate does not depend on.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme_examples {}

mod browser;
mod http;
mod names;
mod peers;
mod port;
mod received;
mod rnacos;
mod skip;
mod threads;
mod wait;

pub use browser::{chromium_path, Chromedriver, Chromium};
pub use http::{http, HttpAnswer};
pub use names::unique;
pub use peers::{in_ci, python_path, rnacos_path};
pub use port::free_port;
pub use received::{write_response, ReceivedRequest};
pub use rnacos::{Rnacos, RnacosBuilder, RnacosCluster};
pub use skip::{chromium_or_skip, python_or_skip, rnacos_or_skip};
pub use threads::running_threads;
pub use wait::{expect_within, wait_for, wait_until};
