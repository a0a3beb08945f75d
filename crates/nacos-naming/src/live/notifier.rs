//! Calls listeners on `nacos-notify` threads, never on the thread that received the change.
//!
//! Each listener has a mailbox: its events in order, handed to one notify thread at a time, so
//! a listener sees its events in order and never concurrently with itself. Listeners take turns
//! (one event, then to the back of the line), a small pool of threads serves them, and a
//! panic is caught: a listener that panics or blocks holds up only itself (and, while it
//! blocks, one thread of the pool). A listener that falls far behind has its backlog folded
//! into one event, so memory stays bounded and what it is told stays true.

use std::collections::{HashMap, VecDeque};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::live::subscription::ListenerId;
use crate::live::worker::{self, Worker};
use crate::service_event::ServiceEvent;

/// A user's subscription callback.
pub(crate) type Listener = dyn Fn(&ServiceEvent) + Send + Sync + 'static;

/// Events waiting for one listener beyond this are folded into one.
const BACKLOG_LIMIT: usize = 256;

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
    queue: VecDeque<Arc<ServiceEvent>>,
    /// The last event handed to the listener: what it believes the service looks like.
    last: Option<Arc<ServiceEvent>>,
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
                queue: VecDeque::new(),
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

    /// Queues `event` for listener `id`, starting a thread if every thread is busy.
    pub(crate) fn send(&self, id: ListenerId, event: Arc<ServiceEvent>) {
        let mut state = self.shared.lock();
        if state.stopping {
            return;
        }
        let Some(mailbox) = state.mailboxes.get_mut(&id) else {
            return;
        };
        mailbox.queue.push_back(event);
        if mailbox.queue.len() > BACKLOG_LIMIT {
            mailbox.fold_backlog();
        }
        if mailbox.scheduled || mailbox.queue.is_empty() {
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

impl Mailbox {
    /// Replaces the backlog by one event from what the listener last saw to the newest list.
    fn fold_backlog(&mut self) {
        let Some(newest) = self.queue.back() else {
            return;
        };
        let newest = newest.service.clone();
        let folded = match &self.last {
            None => Some(ServiceEvent::initial(newest)),
            Some(last) => ServiceEvent::between(&last.service, newest),
        };
        self.queue.clear();
        self.queue.extend(folded.map(Arc::new));
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
            let Some(event) = mailbox.queue.pop_front() else {
                mailbox.scheduled = false;
                continue;
            };
            mailbox.last = Some(event.clone());
            let listener = mailbox.listener.clone();
            drop(state);

            let call = panic::catch_unwind(AssertUnwindSafe(|| listener(&event)));
            if call.is_err() {
                log::error!(
                    "a listener of {} panicked; it stays subscribed",
                    event.service.grouped_name()
                );
            }

            state = self.lock();
            if let Some(mailbox) = state.mailboxes.get_mut(&id) {
                if mailbox.queue.is_empty() {
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

    fn event(ports: &[u16]) -> Arc<ServiceEvent> {
        let mut s = ServiceInfo::new("svc", "G");
        s.hosts = ports.iter().map(|p| Instance::new("h", *p)).collect();
        Arc::new(ServiceEvent::initial(s))
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
            n.send(ListenerId(1), event(&(0..len).collect::<Vec<_>>()));
        }
        for len in 0..50 {
            let (got, thread) = rx.recv_timeout(WAIT).unwrap();
            assert_eq!(got, len);
            assert_eq!(thread.as_deref(), Some("nacos-notify"));
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
            n.send(ListenerId(1), event(&[port]));
            n.send(ListenerId(2), event(&[port]));
        }
        for port in 1..=3 {
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
        n.send(ListenerId(1), event(&[1]));
        n.send(ListenerId(1), event(&[2]));
        for port in 1..=20 {
            n.send(ListenerId(2), event(&[port]));
        }
        for port in 1..=20 {
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
        n.send(ListenerId(1), event(&[1]));
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
    }

    #[test]
    fn a_backlog_folds_into_one_true_event() {
        let mut mailbox = Mailbox {
            listener: Arc::new(|_: &ServiceEvent| {}),
            queue: VecDeque::new(),
            last: Some(event(&[1, 2])),
            scheduled: true,
        };
        mailbox.queue.push_back(event(&[1, 2, 3]));
        mailbox.queue.push_back(event(&[2, 3]));
        mailbox.fold_backlog();
        let folded = mailbox.queue.pop_front().unwrap();
        assert!(mailbox.queue.is_empty());
        let ports = |v: &[Instance]| v.iter().map(|i| i.port).collect::<Vec<_>>();
        assert_eq!(ports(&folded.added), vec![3]);
        assert_eq!(ports(&folded.removed), vec![1]);
        // Back where the listener started: nothing to tell.
        mailbox.queue.push_back(event(&[1, 2]));
        mailbox.fold_backlog();
        assert!(mailbox.queue.is_empty());
    }
}
