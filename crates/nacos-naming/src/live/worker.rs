//! Named background threads that can be joined with a deadline, and never by themselves.
//!
//! Every background thread of the client is a [`Worker`]. Stopping one is two steps: the owner
//! signals it (each module has its own flag and condvar or socket), then [`join_all`] waits for
//! it. Joining is bounded because a thread may be inside a user's listener that never returns,
//! and skips the calling thread because a listener may drop the last client handle, which
//! stops the very thread it runs on: that thread is left to finish on its own.

use std::io;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A running background thread.
#[derive(Debug)]
pub(crate) struct Worker {
    handle: JoinHandle<()>,
    exited: Arc<Exited>,
}

#[derive(Debug, Default)]
struct Exited {
    done: Mutex<bool>,
    changed: Condvar,
}

/// Marks the thread exited when dropped, so also when the thread unwinds.
struct ExitGuard(Arc<Exited>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        *self.0.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.0.changed.notify_all();
    }
}

impl Worker {
    /// Starts `body` on a thread called `name`.
    pub(crate) fn spawn(name: String, body: impl FnOnce() + Send + 'static) -> io::Result<Worker> {
        let exited = Arc::new(Exited::default());
        let guard = ExitGuard(exited.clone());
        let handle = thread::Builder::new().name(name).spawn(move || {
            let _guard = guard;
            body();
        })?;
        Ok(Worker { handle, exited })
    }

    /// Whether the thread has finished its body.
    pub(crate) fn is_finished(&self) -> bool {
        *self.exited.done.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait_until(&self, deadline: Instant) -> bool {
        let mut done = self.exited.done.lock().unwrap_or_else(|e| e.into_inner());
        while !*done {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            done = self
                .exited
                .changed
                .wait_timeout(done, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

/// Joins `workers` (already told to stop), waiting at most `timeout` in all.
///
/// The calling thread, if it is one of them, is not waited for. Returns the names of the
/// threads still running when the time was up; they are detached and end on their own once
/// whatever holds them (a listener, a request) returns.
pub(crate) fn join_all(workers: Vec<Worker>, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let me = thread::current().id();
    let mut still_running = Vec::new();
    for worker in workers {
        if worker.handle.thread().id() == me {
            continue;
        }
        if worker.wait_until(deadline) {
            // The body has returned; joining only reaps the thread.
            let _ = worker.handle.join();
        } else {
            still_running.push(worker.handle.thread().name().unwrap_or("?").to_owned());
        }
    }
    still_running
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn joins_finished_threads_and_reports_stuck_ones() {
        let quick = Worker::spawn("nacos-test-quick".into(), || {}).unwrap();
        let (release, stuck_waits) = mpsc::channel::<()>();
        let stuck = Worker::spawn("nacos-test-stuck".into(), move || {
            let _ = stuck_waits.recv();
        })
        .unwrap();
        let started = Instant::now();
        let left = join_all(vec![quick, stuck], Duration::from_millis(50));
        assert_eq!(left, vec!["nacos-test-stuck".to_owned()]);
        assert!(started.elapsed() < Duration::from_secs(2));
        release.send(()).unwrap();
    }

    #[test]
    fn a_thread_joining_itself_skips_itself() {
        let slot: Arc<Mutex<Option<Worker>>> = Arc::default();
        let inner = slot.clone();
        let (tx, rx) = mpsc::channel();
        let lock = slot.lock().unwrap();
        let worker = Worker::spawn("nacos-test-self".into(), move || {
            let me = inner.lock().unwrap().take().unwrap();
            tx.send(join_all(vec![me], Duration::from_secs(5))).unwrap();
        })
        .unwrap();
        let mut lock = lock;
        *lock = Some(worker);
        drop(lock);
        assert!(rx.recv_timeout(Duration::from_secs(2)).unwrap().is_empty());
    }

    #[test]
    fn a_panicking_thread_counts_as_finished() {
        let w = Worker::spawn("nacos-test-panic".into(), || panic!("boom")).unwrap();
        assert!(join_all(vec![w], Duration::from_secs(5)).is_empty());
    }
}
