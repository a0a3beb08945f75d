//! Randomness for spreading load: which server a client starts at, which instance it picks.
//!
//! Drawn from the operating system through `getrandom`, which the TLS stack already brings, so
//! the client needs no generator crate of its own.

/// A uniformly distributed `u64`. Where the system has no randomness to give, the clock's
/// nanoseconds stand in: spreading load needs variety, not secrecy.
fn next_u64() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_ok() {
        return u64::from_le_bytes(bytes);
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A number in `0..n`; 0 when `n` is 0. The modulo bias is below 2^-40 for any list of servers.
pub(crate) fn below(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (next_u64() % n as u64) as usize
    }
}

/// A number in `0.0..1.0` with 53 random bits.
pub(crate) fn unit() -> f64 {
    (next_u64() >> 11) as f64 / (1u64 << 53) as f64
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
}
