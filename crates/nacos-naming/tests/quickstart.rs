//! The quickstart example (`cargo run --example quickstart`), run in this process.

use std::time::{Duration, Instant};

#[path = "../examples/quickstart.rs"]
mod quickstart;

/// The quickstart walks through every step on its embedded server within seconds, and leaves
/// no thread of the client or the server behind.
#[test]
fn quickstart_runs_to_the_end_and_stops_everything() {
    // The embedded server, whatever the environment names (this binary has no other test
    // reading the environment).
    std::env::remove_var("NACOS_SERVER_ADDR");
    let threads_before = threads();
    let started = Instant::now();

    quickstart::main().expect("the quickstart failed");

    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "the quickstart took {took:?}"
    );
    if let Some(before) = threads_before {
        let after = threads().unwrap_or_default();
        assert_eq!(after, before, "threads left behind");
    }
}

/// The client's and the server's threads (all named `nacos-...`) still running, where the
/// system tells (Linux). The test harness's and the HTTP library's own threads come and go on
/// their own and are not counted.
fn threads() -> Option<Vec<String>> {
    nacos_test_support::running_threads("nacos-")
}
