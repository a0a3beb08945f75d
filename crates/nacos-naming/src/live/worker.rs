//! Named background threads that can be joined with a deadline, and never by themselves.
//!
//! Every background thread of the client is a [`Worker`]. Stopping one is two steps: the owner
//! signals it (each module has its own flag and condvar or socket), then [`join_all`] waits for
//! it. Joining is bounded because a thread may be inside a user's listener that never returns,
//! and skips the calling thread because a listener may drop the last client handle, which
//! stops the very thread it runs on: that thread is left to finish on its own.

use std::any::Any;
use std::io;
use std::panic::{self, AssertUnwindSafe};
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
    let deadline = crate::deadline::from_now(timeout);
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

/// Runs one unit of a background thread's work (a beat, a poll, a packet), catching a panic
/// in it so that the thread carries on: a bug or an input nobody foresaw costs that unit, not
/// every later one. The panic is logged with `what` the unit was; its message is returned.
pub(crate) fn contain<T>(
    what: impl FnOnce() -> String,
    work: impl FnOnce() -> T,
) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(work)).map_err(|payload| {
        let message = panic_message(payload.as_ref());
        log::error!("{} panicked, carrying on: {message}", what());
        message
    })
}

/// The text a panic was raised with.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
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
    fn contain_returns_the_result_or_the_panic_message() {
        assert_eq!(contain(|| "sum".into(), || 1 + 1), Ok(2));
        let text = contain(|| "unit".into(), || -> u8 { panic!("bad {}", 7) });
        assert_eq!(text, Err("bad 7".to_owned()));
        let fixed = contain(|| "unit".into(), || -> u8 { panic!("fixed") });
        assert_eq!(fixed, Err("fixed".to_owned()));
    }

    #[test]
    fn joining_with_a_timeout_of_max_waits_without_overflow() {
        let quick = Worker::spawn("nacos-test-max".into(), || {}).unwrap();
        assert!(join_all(vec![quick], Duration::MAX).is_empty());
    }

    #[test]
    fn a_panicking_thread_counts_as_finished() {
        let w = Worker::spawn("nacos-test-panic".into(), || panic!("boom")).unwrap();
        assert!(join_all(vec![w], Duration::from_secs(5)).is_empty());
    }
}
