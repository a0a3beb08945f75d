//! The load generator: N threads, each with its own keep-alive connection, sending requests
//! as fast as the server answers them, for a time or for a number of requests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use crate::raw_http::Connection;

/// When a run ends.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    /// After this long.
    Time(Duration),
    /// When requests with indexes up to this (exclusive) have been sent.
    Count(u64),
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// Answers the check accepted.
    pub ok: u64,
    /// Answers the check refused, and transport errors.
    pub failed: u64,
    /// From the start of the first request to the end of the last.
    pub elapsed: Duration,
    /// The first failure, for the report.
    pub first_failure: Option<String>,
}

impl LoadResult {
    /// Adds another run's figures to these.
    pub fn add(&mut self, other: LoadResult) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.elapsed += other.elapsed;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }

    /// Accepted answers per second.
    pub fn per_second(&self) -> f64 {
        crate::report::rate(self.ok, self.elapsed)
    }
}

/// Sends requests from `threads` threads until `limit`.
///
/// Every request gets a distinct index from `next` (shared, so consecutive runs continue the
/// numbering and never repeat an instance); `make` turns an index into the request's bytes and
/// `check` decides from the status and body whether the answer is a success.
pub fn run(
    addr: SocketAddr,
    threads: usize,
    limit: Limit,
    next: &AtomicU64,
    make: &(dyn Fn(u64) -> Vec<u8> + Sync),
    check: &(dyn Fn(u16, &[u8]) -> bool + Sync),
) -> LoadResult {
    let threads = threads.max(1);
    let start_index = next.load(Ordering::Relaxed);
    let barrier = Barrier::new(threads + 1);
    let stop = AtomicBool::new(false);
    let ok = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let first_failure = Mutex::new(None);
    let elapsed = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut connection = Connection::new(addr);
                    barrier.wait();
                    while !stop.load(Ordering::Relaxed) {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if let Limit::Count(end) = limit {
                            if index >= start_index + end {
                                break;
                            }
                        }
                        let request = make(index);
                        let outcome = match connection.send(&request) {
                            Ok((status, body)) if check(status, body) => Ok(()),
                            Ok((status, body)) => Err(format!(
                                "status {status}: {}",
                                String::from_utf8_lossy(&body[..body.len().min(200)])
                            )),
                            Err(e) => Err(e.to_string()),
                        };
                        match outcome {
                            Ok(()) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(why) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                first_failure
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .get_or_insert(why);
                            }
                        }
                    }
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        if let Limit::Time(duration) = limit {
            std::thread::sleep(duration);
            stop.store(true, Ordering::Relaxed);
        }
        for worker in workers {
            // A panicking worker is a bug of this harness: let it show.
            worker.join().expect("load thread panicked");
        }
        started.elapsed()
    });
    LoadResult {
        ok: ok.into_inner(),
        failed: failed.into_inner(),
        elapsed,
        first_failure: first_failure
            .into_inner()
            .unwrap_or_else(|e| e.into_inner()),
    }
}
