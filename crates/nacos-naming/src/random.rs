//! Randomness for spreading load: which server a client starts at, which instance it picks.
//!
//! `fastrand`'s generator, one per thread, seeded once from the operating system (through the
//! hash keys std draws for each thread) and then a wyrand step per number: a pick costs a few
//! nanoseconds and no system call. Spreading load needs variety, not secrecy. `rand`'s
//! `SmallRng` is as fast, but would bring `rand` and `rand_core` and still need seeding by hand;
//! `thread_rng` is a ChaCha generator that reseeds itself, a cost paid for secrecy that a pick
//! does not need.

/// A number in `0..n`; 0 when `n` is 0.
pub(crate) fn below(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        fastrand::usize(..n)
    }
}

/// A number in `0.0..1.0`.
pub(crate) fn unit() -> f64 {
    fastrand::f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_in_range_and_varies() {
        let draws: Vec<f64> = (0..1000).map(|_| unit()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        assert!(draws.iter().any(|x| *x < 0.5) && draws.iter().any(|x| *x >= 0.5));
        assert!((0..1000).map(|_| below(3)).all(|i| i < 3));
        assert!((0..100).any(|_| below(3) == 2));
        assert_eq!(below(0), 0);
    }

    #[test]
    fn threads_draw_different_sequences() {
        let draw = || (0..4).map(|_| fastrand::u64(..)).collect::<Vec<_>>();
        let other = std::thread::spawn(draw).join().unwrap();
        assert_ne!(draw(), other);
    }
}
