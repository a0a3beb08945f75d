//! Waiting for a condition with a deadline, instead of sleeping.

use std::time::{Duration, Instant};

/// How often a condition is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Polls `condition` every 20 ms until it holds or `deadline` has passed; returns whether it
/// held. The condition is always checked at least once, and once more at the deadline.
///
/// ```
/// use std::time::Duration;
/// let mut calls = 0;
/// assert!(nacos_test_support::wait_until(Duration::from_secs(1), || {
///     calls += 1;
///     calls == 3
/// }));
/// ```
pub fn wait_until(deadline: Duration, mut condition: impl FnMut() -> bool) -> bool {
    wait_for(deadline, || condition().then_some(())).is_some()
}

/// Like [`wait_until`], but panics, naming `what`, when `condition` does not hold in time:
/// for tests, where a condition that never comes is a failure.
pub fn expect_within(what: &str, deadline: Duration, condition: impl FnMut() -> bool) {
    assert!(
        wait_until(deadline, condition),
        "timed out after {deadline:?} waiting for {what}"
    );
}

/// Polls `probe` every 20 ms until it returns `Some` or `deadline` has passed, and returns
/// its last answer: the value awaited, or `None` at the deadline.
pub fn wait_for<T>(deadline: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + deadline;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        let now = Instant::now();
        if now >= end {
            return None;
        }
        std::thread::sleep(POLL_INTERVAL.min(end - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_up_at_the_deadline() {
        let start = Instant::now();
        let mut calls = 0;
        assert!(!wait_until(Duration::from_millis(100), || {
            calls += 1;
            false
        }));
        assert!(start.elapsed() >= Duration::from_millis(100));
        assert!(start.elapsed() < Duration::from_secs(2));
        assert!(
            calls >= 2,
            "checked at the start and at the deadline: {calls}"
        );
    }

    #[test]
    fn returns_the_value_awaited() {
        let mut n = 0;
        assert_eq!(
            wait_for(Duration::from_secs(1), || {
                n += 1;
                (n == 2).then_some("ready")
            }),
            Some("ready")
        );
        assert_eq!(wait_for(Duration::ZERO, || None::<()>), None);
    }
}
