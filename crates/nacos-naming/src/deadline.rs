//! Deadlines from durations of any length.
//!
//! A duration from a setting or a server can be anything up to `Duration::MAX`, and
//! `Instant + Duration` panics when the sum does not fit. `Duration::MAX` is the natural way
//! to say "forever", so every deadline is computed here: a duration too long to add becomes a
//! deadline a century away, which no process outlives, and waiting for it is waiting forever.

use std::time::{Duration, Instant};

/// The longest wait ever computed: a century stands for "never".
pub(crate) const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// `start + wait`, or a century after `start` when that does not fit.
pub(crate) fn after(start: Instant, wait: Duration) -> Instant {
    start
        .checked_add(wait.min(NEVER))
        // A clock this close to its own end is not one to plan on: wait what still fits.
        .unwrap_or(start)
}

/// `now + wait`, saturating as [`after`] does.
pub(crate) fn from_now(wait: Duration) -> Instant {
    after(Instant::now(), wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_duration_gives_a_deadline_and_max_means_a_century() {
        let now = Instant::now();
        assert_eq!(after(now, Duration::ZERO), now);
        assert_eq!(
            after(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        assert_eq!(after(now, Duration::MAX), now + NEVER);
        assert!(from_now(Duration::MAX) > now + NEVER / 2);
    }
}
