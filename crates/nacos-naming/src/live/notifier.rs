//! Calls listeners on `nacos-notify` threads, never on the thread that received the change.
//!
//! Each listener has a mailbox handed to one notify thread at a time, so a listener sees its
//! events in order and never concurrently with itself. Listeners take turns (one event, then
//! to the back of the line), a small pool of threads serves them, and a panic is caught: a
//! listener that panics or blocks holds up only itself (and, while it blocks, one thread of the
//! pool).
//!
//! A mailbox holds at most one list, as watch APIs do: a change arriving while the last one is
//! still waiting replaces it, and the listener is told the newest list and what changed since
//! the list it last received (computed when it is delivered, so a flood of changes costs one
//! pointer swap each). A listener that falls behind misses intermediate lists, never the
//! current one, and memory is bounded by the number of listeners, not by how fast lists
//! change or how many pushes arrive. The lists are shared with the subscription that holds
//! them, not copied: a mailbox costs a list of its own only while its listener has not yet
//! been told of the newest one.

use std::collections::{HashMap, VecDeque};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::live::subscription::ListenerId;
use crate::live::worker::{self, Worker};
use crate::service_event::ServiceEvent;
use crate::service_info::ServiceInfo;

/// A user's subscription callback.
pub(crate) type Listener = dyn Fn(&ServiceEvent) + Send + Sync + 'static;

/// The notify threads and the listeners' mailboxes.
pub(crate) struct Notifier {
    shared: Arc<Shared>,
    max_threads: usize,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
}

#[derive(Default)]
struct State {
    mailboxes: HashMap<ListenerId, Mailbox>,
    /// Mailboxes with events and no thread working on them, in turn order.
    ready: VecDeque<ListenerId>,
    workers: Vec<Worker>,
    idle: usize,
    stopping: bool,
}

struct Mailbox {
    listener: Arc<Listener>,
    /// The newest list, not yet delivered.
    pending: Option<Arc<ServiceInfo>>,
    /// The last list the listener was told of: what it believes the service looks like.
    last: Option<Arc<ServiceInfo>>,
    /// In `ready`, or being delivered: either way a thread will look at it again.
    scheduled: bool,
}

impl Notifier {
    /// A notifier that starts threads on demand, up to `max_threads` (at least 1).
    pub(crate) fn new(max_threads: usize) -> Notifier {
        Notifier {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                work: Condvar::new(),
            }),
            max_threads: max_threads.max(1),
        }
    }

    /// Gives `listener` a mailbox under `id`.
    pub(crate) fn add(&self, id: ListenerId, listener: Arc<Listener>) {
        self.shared.lock().mailboxes.insert(
            id,
            Mailbox {
                listener,
                pending: None,
                last: None,
                scheduled: false,
            },
        );
    }

    /// Drops `id`'s mailbox and its pending events; a call in progress finishes.
    pub(crate) fn remove(&self, id: ListenerId) {
        let mut state = self.shared.lock();
        state.mailboxes.remove(&id);
        state.ready.retain(|r| *r != id);
    }

    /// Leaves the `newest` list for listener `id` (replacing one it has not received yet),
    /// starting a thread if every thread is busy.
    pub(crate) fn send(&self, id: ListenerId, newest: Arc<ServiceInfo>) {
        let mut state = self.shared.lock();
        if state.stopping {
            return;
        }
        let Some(mailbox) = state.mailboxes.get_mut(&id) else {
            return;
        };
        mailbox.pending = Some(newest);
        if mailbox.scheduled {
            return;
        }
        mailbox.scheduled = true;
        state.ready.push_back(id);
        if state.idle > 0 {
            self.shared.work.notify_one();
        } else if state.workers.len() < self.max_threads {
            let shared = self.shared.clone();
            match Worker::spawn("nacos-notify".into(), move || shared.run()) {
                Ok(worker) => state.workers.push(worker),
                // The threads already running deliver it, later.
                Err(e) => log::warn!("cannot start a notify thread: {e}"),
            }
        }
    }

    /// Stops the threads, waiting at most `timeout` for listeners still running. Returns the
    /// names of threads that did not stop in time.
    pub(crate) fn stop(&self, timeout: Duration) -> Vec<String> {
        let workers = {
            let mut state = self.shared.lock();
            state.stopping = true;
            state.mailboxes.clear();
            state.ready.clear();
            std::mem::take(&mut state.workers)
        };
        self.shared.work.notify_all();
        worker::join_all(workers, timeout)
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
    }
}

/// What a listener that was last told of `last` is told about `newest`: the whole list if it
/// knows none, else what changed (`None` when nothing it knows did).
fn catch_up(newest: &ServiceInfo, last: Option<&ServiceInfo>) -> Option<ServiceEvent> {
    match last {
        None => Some(ServiceEvent::initial(newest.clone())),
        Some(last) => ServiceEvent::between(last, newest.clone()),
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Listeners never run under this lock, so a poisoned lock holds consistent data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self) {
        let mut state = self.lock();
        loop {
            if state.stopping {
                return;
            }
            let Some(id) = state.ready.pop_front() else {
                state.idle += 1;
                state = self.work.wait(state).unwrap_or_else(|e| e.into_inner());
                state.idle -= 1;
                continue;
            };
            let Some(mailbox) = state.mailboxes.get_mut(&id) else {
                continue;
            };
            let Some(pending) = mailbox.pending.take() else {
                mailbox.scheduled = false;
                continue;
            };
            let last = mailbox.last.take();
            let listener = mailbox.listener.clone();
            drop(state);

            // Outside the lock: a catch-up compares two whole lists.
            let event = catch_up(&pending, last.as_deref());
            drop(last);
            if let Some(event) = &event {
                let call = panic::catch_unwind(AssertUnwindSafe(|| listener(event)));
                if call.is_err() {
                    log::error!(
                        "a listener of {} panicked; it stays subscribed",
                        event.service.grouped_name()
                    );
                }
            }

            drop(event);
            state = self.lock();
            if let Some(mailbox) = state.mailboxes.get_mut(&id) {
                // Told of it, or nothing the listener knows changed: either way, it is what
                // the listener knows now.
                mailbox.last = Some(pending);
                if mailbox.pending.is_none() {
                    mailbox.scheduled = false;
                } else {
                    // To the back of the line: other listeners get their turn first.
                    state.ready.push_back(id);
                }
            }
        }
    }
}

/// For tests: a listener that sends the ports of each event's instances, and their receiver.
#[cfg(test)]
pub(crate) fn port_recorder() -> (Arc<Listener>, std::sync::mpsc::Receiver<Vec<u16>>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = Mutex::new(tx);
    let listener: Arc<Listener> = Arc::new(move |e: &ServiceEvent| {
        let ports = e.service.hosts.iter().map(|h| h.port).collect();
        let _ = tx.lock().unwrap().send(ports);
    });
    (listener, rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::Instance;
    use crate::service_info::ServiceInfo;
    use std::sync::mpsc;
    use std::time::Instant;

    fn list(ports: &[u16]) -> Arc<ServiceInfo> {
        let mut s = ServiceInfo::new("svc", "G");
        s.hosts = ports.iter().map(|p| Instance::new("h", *p)).collect();
        Arc::new(s)
    }

    const WAIT: Duration = Duration::from_secs(5);

    #[test]
    fn delivers_in_order_on_a_notify_thread() {
        let n = Notifier::new(2);
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        n.add(
            ListenerId(1),
            Arc::new(move |e: &ServiceEvent| {
                let name = std::thread::current().name().map(str::to_owned);
                let _ = tx.lock().unwrap().send((e.service.hosts.len(), name));
            }),
        );
        for len in 0..50u16 {
            n.send(ListenerId(1), list(&(0..len).collect::<Vec<_>>()));
        }
        // In order, the newest last; lists replaced while the listener ran are skipped.
        let mut previous = None;
        loop {
            let (got, thread) = rx.recv_timeout(WAIT).unwrap();
            assert!(previous < Some(got), "{previous:?} then {got}");
            assert_eq!(thread.as_deref(), Some("nacos-notify"));
            previous = Some(got);
            if got == 49 {
                break;
            }
        }
        assert!(n.stop(WAIT).is_empty());
    }

    #[test]
    fn a_panicking_listener_keeps_its_subscription_and_harms_no_one() {
        let n = Notifier::new(1);
        n.add(
            ListenerId(1),
            Arc::new(|_: &ServiceEvent| panic!("listener bug")),
        );
        let (ok, rx) = port_recorder();
        n.add(ListenerId(2), ok);
        for port in 1..=3 {
            n.send(ListenerId(1), list(&[port]));
            n.send(ListenerId(2), list(&[port]));
            assert_eq!(rx.recv_timeout(WAIT).unwrap(), vec![port]);
        }
        assert!(n.stop(WAIT).is_empty());
    }

    #[test]
    fn a_blocked_listener_does_not_hold_up_the_others() {
        let n = Notifier::new(2);
        let (release, blocked) = mpsc::channel::<()>();
        let blocked = Mutex::new(blocked);
        n.add(
            ListenerId(1),
            Arc::new(move |_: &ServiceEvent| {
                let _ = blocked.lock().unwrap().recv();
            }),
        );
        let (ok, rx) = port_recorder();
        n.add(ListenerId(2), ok);
        n.send(ListenerId(1), list(&[1]));
        n.send(ListenerId(1), list(&[2]));
        for port in 1..=20 {
            n.send(ListenerId(2), list(&[port]));
            assert_eq!(rx.recv_timeout(WAIT).unwrap(), vec![port]);
        }
        // Stopping does not wait forever for the blocked listener.
        let started = Instant::now();
        assert_eq!(n.stop(Duration::from_millis(50)), vec!["nacos-notify"]);
        assert!(started.elapsed() < WAIT);
        release.send(()).unwrap();
    }

    #[test]
    fn a_removed_listener_is_not_called_again() {
        let n = Notifier::new(1);
        let (l, rx) = port_recorder();
        n.add(ListenerId(1), l);
        n.remove(ListenerId(1));
        n.send(ListenerId(1), list(&[1]));
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
    }

    #[test]
    fn a_catch_up_tells_the_change_since_the_last_list_received() {
        let ports = |v: &[Instance]| v.iter().map(|i| i.port).collect::<Vec<_>>();
        let last = list(&[1, 2]);
        let newest = list(&[2, 3]);
        let folded = catch_up(&newest, Some(&last)).unwrap();
        assert_eq!(ports(&folded.service.hosts), vec![2, 3]);
        assert_eq!(ports(&folded.added), vec![3]);
        assert_eq!(ports(&folded.removed), vec![1]);
        let first = catch_up(&newest, None).unwrap();
        assert_eq!(ports(&first.added), vec![2, 3]);
        // Back where the listener started: nothing to tell.
        assert!(catch_up(&list(&[1, 2]), Some(&last)).is_none());
    }

    #[test]
    fn a_sleeping_listener_under_a_flood_holds_one_event_and_gets_the_newest() {
        let n = Notifier::new(1);
        let (release, asleep) = mpsc::channel::<()>();
        let asleep = Mutex::new(asleep);
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        n.add(
            ListenerId(1),
            Arc::new(move |e: &ServiceEvent| {
                let ports = |v: &[Instance]| v.iter().map(|i| i.port).collect::<Vec<_>>();
                let seen = (ports(&e.service.hosts), ports(&e.added), ports(&e.removed));
                let _ = tx.lock().unwrap().send(seen);
                let _ = asleep.lock().unwrap().recv();
            }),
        );
        n.send(ListenerId(1), list(&[1]));
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), (vec![1], vec![1], vec![]));
        // The listener sleeps in its first call while 10,000 lists arrive.
        for port in 2..10_002u16 {
            n.send(ListenerId(1), list(&[port, port.wrapping_add(1)]));
        }
        {
            let state = n.shared.lock();
            let mailbox = &state.mailboxes[&ListenerId(1)];
            let pending = mailbox.pending.as_ref().unwrap();
            assert_eq!(
                pending.hosts[0].port, 10_001,
                "only the newest list is held"
            );
        }
        release.send(()).unwrap();
        let newest = (vec![10_001, 10_002], vec![10_001, 10_002], vec![1]);
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), newest);
        release.send(()).unwrap();
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        assert!(n.stop(WAIT).is_empty());
    }
    #[test]
    fn a_delivered_list_is_shared_with_the_sender_not_copied() {
        let n = Notifier::new(1);
        let (l, rx) = port_recorder();
        n.add(ListenerId(1), l);
        let newest = list(&[1, 2]);
        n.send(ListenerId(1), newest.clone());
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), vec![1, 2]);
        // Once told, the mailbox keeps the sender's list as what the listener knows.
        let deadline = Instant::now() + WAIT;
        loop {
            let shared = {
                let state = n.shared.lock();
                let mailbox = &state.mailboxes[&ListenerId(1)];
                mailbox.pending.is_none()
                    && mailbox
                        .last
                        .as_ref()
                        .is_some_and(|l| Arc::ptr_eq(l, &newest))
            };
            if shared {
                break;
            }
            assert!(Instant::now() < deadline, "the mailbox never took the list");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(n.stop(WAIT).is_empty());
    }
}
