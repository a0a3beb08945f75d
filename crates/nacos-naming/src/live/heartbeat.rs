//! Keeps registered ephemeral instances alive: one scheduler, a few `nacos-beat-N` threads.
//!
//! Every instance has one entry and a deadline in one heap. A worker sleeps until the earliest
//! deadline (or a change), beats that instance and puts it back in the heap at its next
//! deadline, so the cost of an instance is one entry, not one thread: the threads are started
//! on demand up to a small maximum and end when no instance is left.
//!
//! What a beat answer changes: `clientBeatInterval` becomes the interval (unless one was
//! configured), `lightBeatEnabled` lets the next beats leave the instance out, and code 20404
//! (the server lost the instance: a restart, an expiry) re-registers it with its full
//! registration. A failed beat (the transport has already tried every server) is logged and the
//! instance beats again at its next deadline, with the full body: beats never stop on errors.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::beat_info::BeatInfo;
use crate::deadline;
use crate::error::Error;
use crate::live::worker::{self, Worker};

/// The interval until a server says otherwise, as official clients use.
pub(crate) const DEFAULT_BEAT_INTERVAL: Duration = Duration::from_secs(5);

/// The shortest and longest interval taken from a server's answer; a 0 or an absurd value
/// must neither spin nor let the instance expire.
const SERVER_INTERVAL_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(300));

/// Metadata key with which an instance asks for its own beat interval (milliseconds), as
/// official clients read it.
pub(crate) const BEAT_INTERVAL_METADATA: &str = "preserved.heart.beat.interval";

/// Sends what the scheduler decides to send.
pub(crate) trait Beater: Send + Sync + 'static {
    /// Which instance: the server's identity of a registration.
    type Key: Clone + Eq + Hash + Send + 'static;
    /// All an instance's beats and re-registrations need.
    type Registration: Send + Sync + 'static;

    /// The instance as log lines name it.
    fn describe(key: &Self::Key) -> String;

    /// One beat; a light beat leaves the instance's description out.
    fn beat(&self, registration: &Self::Registration, light: bool) -> Result<BeatInfo, Error>;

    /// Registers the instance again, in full.
    fn register(&self, registration: &Self::Registration) -> Result<(), Error>;

    /// Deregisters the instance: the caller's deregistration, repeated after a beat that
    /// outlasted the wait for it.
    fn deregister(&self, registration: &Self::Registration) -> Result<(), Error>;
}

/// How many beat threads at most, and the interval used before a server answers.
#[derive(Debug, Clone)]
pub(crate) struct BeatConfig {
    pub(crate) max_threads: usize,
    /// Overrides the server's `clientBeatInterval` for every instance.
    pub(crate) interval: Option<Duration>,
}

/// The scheduler.
pub(crate) struct Heartbeats<B: Beater> {
    shared: Arc<Shared<B>>,
}

struct Shared<B: Beater> {
    state: Mutex<State<B::Key, B::Registration>>,
    /// Wakes workers: an earlier deadline, or stop.
    wake: Condvar,
    /// Signalled when a beat ends, for a removal waiting on it.
    beat_done: Condvar,
    beater: Arc<B>,
    config: BeatConfig,
}

struct State<K, R> {
    entries: HashMap<u64, Entry<K, R>>,
    ids: HashMap<K, u64>,
    /// `(deadline, id, schedule)`: an item whose `schedule` no longer matches its entry's is
    /// stale (the entry was removed or rescheduled) and skipped.
    heap: BinaryHeap<Reverse<(Instant, u64, u64)>>,
    next_id: u64,
    next_schedule: u64,
    /// Entries with a beat in progress: never two at once, and a removal waits for it.
    beating: HashSet<u64>,
    /// Entries deregistered while their beat was still in progress, past the wait for it:
    /// when that beat ends, the deregistration is sent again, unless the instance has been
    /// added anew meanwhile.
    deregister_after_beat: HashMap<u64, K>,
    workers: Vec<(usize, Worker)>,
    /// Workers that ended for want of instances, joined later (they are past the lock).
    retired: Vec<Worker>,
    idle: usize,
    stopping: bool,
}

struct Entry<K, R> {
    key: K,
    registration: Arc<R>,
    /// From `.heartbeat_interval(d)` or the instance's metadata; beats the server's interval.
    interval_override: Option<Duration>,
    interval: Duration,
    light: bool,
    schedule: u64,
    failing: bool,
}

impl<B: Beater> Heartbeats<B> {
    pub(crate) fn new(beater: Arc<B>, config: BeatConfig) -> Heartbeats<B> {
        Heartbeats {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    entries: HashMap::new(),
                    ids: HashMap::new(),
                    heap: BinaryHeap::new(),
                    next_id: 0,
                    next_schedule: 0,
                    beating: HashSet::new(),
                    deregister_after_beat: HashMap::new(),
                    workers: Vec::new(),
                    retired: Vec::new(),
                    idle: 0,
                    stopping: false,
                }),
                wake: Condvar::new(),
                beat_done: Condvar::new(),
                beater,
                config,
            }),
        }
    }

    /// Keeps `key` alive with `registration`, replacing what an earlier call gave for the
    /// same instance (its beats then carry the new registration). `interval` overrides every
    /// other source of the interval. Without any override the first beat goes at once, to
    /// learn the interval the server wants; with one, an interval from now.
    pub(crate) fn add(
        &self,
        key: B::Key,
        registration: B::Registration,
        interval: Option<Duration>,
    ) -> Result<(), Error> {
        let shared = &self.shared;
        let mut state = shared.lock();
        if state.stopping {
            return Err(Error::Shutdown);
        }
        let interval_override = interval.or(shared.config.interval);
        let registration = Arc::new(registration);
        if let Some(id) = state.ids.get(&key).copied() {
            let entry = state.entries.get_mut(&id).expect("ids and entries agree");
            let changed = entry.interval_override != interval_override;
            entry.registration = registration;
            entry.interval_override = interval_override;
            if changed {
                entry.interval = interval_override.unwrap_or(entry.interval);
                let at = deadline::from_now(entry.interval);
                state.schedule(id, at);
                shared.wake.notify_one();
            }
            return Ok(());
        }
        let id = state.next_id;
        state.next_id += 1;
        let interval = interval_override.unwrap_or(DEFAULT_BEAT_INTERVAL);
        let first = if interval_override.is_some() {
            interval
        } else {
            Duration::ZERO
        };
        state.ids.insert(key.clone(), id);
        state.entries.insert(
            id,
            Entry {
                key,
                registration,
                interval_override,
                interval,
                light: false,
                schedule: 0,
                failing: false,
            },
        );
        state.schedule(id, deadline::from_now(first));
        shared.ensure_worker(&mut state)?;
        shared.wake.notify_one();
        Ok(())
    }

    /// Replaces what `key`'s beats carry by `change` of it, if it is kept alive; returns
    /// whether it is.
    pub(crate) fn update(
        &self,
        key: &B::Key,
        change: impl FnOnce(&B::Registration) -> B::Registration,
    ) -> bool {
        let mut state = self.shared.lock();
        let Some(id) = state.ids.get(key).copied() else {
            return false;
        };
        let entry = state.entries.get_mut(&id).expect("ids and entries agree");
        entry.registration = Arc::new(change(&entry.registration));
        // The body carries the change to servers that take it from beats.
        entry.light = false;
        true
    }

    /// Stops beating for `key`, waiting up to `wait` for a beat of it in progress to end (a
    /// beat arriving after a deregistration would register it again on servers that take
    /// instances from beats); returns whether it was kept alive.
    pub(crate) fn remove(&self, key: &B::Key, wait: Duration) -> bool {
        self.remove_then(key, wait, false)
    }

    /// [`remove`](Self::remove) before the instance is deregistered: a beat still in progress
    /// after `wait` deregisters the instance again when it ends, so that it cannot leave the
    /// instance registered.
    pub(crate) fn remove_for_deregistration(&self, key: &B::Key, wait: Duration) -> bool {
        self.remove_then(key, wait, true)
    }

    fn remove_then(&self, key: &B::Key, wait: Duration, deregistering: bool) -> bool {
        let mut state = self.shared.lock();
        let Some(id) = state.ids.remove(key) else {
            return false;
        };
        state.entries.remove(&id);
        // Its heap item is now stale; workers with nothing left to beat end.
        self.shared.wake.notify_all();
        let until = deadline::from_now(wait);
        while state.beating.contains(&id) {
            let now = Instant::now();
            if now >= until {
                break;
            }
            state = self
                .shared
                .beat_done
                .wait_timeout(state, until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if deregistering && state.beating.contains(&id) {
            state.deregister_after_beat.insert(id, key.clone());
        }
        true
    }

    /// The registrations kept alive now.
    pub(crate) fn registrations(&self) -> Vec<Arc<B::Registration>> {
        let state = self.shared.lock();
        state
            .entries
            .values()
            .map(|e| e.registration.clone())
            .collect()
    }

    /// How many instances are kept alive.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shared.lock().entries.len()
    }

    /// Stops every beat and the threads, waiting at most `timeout` for beats in progress.
    /// Returns the names of threads that did not stop in time.
    pub(crate) fn stop(&self, timeout: Duration) -> Vec<String> {
        self.stop_then(timeout, false)
    }

    /// [`stop`](Self::stop) before the instances are deregistered: a beat in progress
    /// deregisters its instance again when it ends (see
    /// [`remove_for_deregistration`](Self::remove_for_deregistration)).
    pub(crate) fn stop_for_deregistration(&self, timeout: Duration) -> Vec<String> {
        self.stop_then(timeout, true)
    }

    fn stop_then(&self, timeout: Duration, deregistering: bool) -> Vec<String> {
        let workers = {
            let mut state = self.shared.lock();
            if deregistering {
                let beating: Vec<(u64, B::Key)> = state
                    .beating
                    .iter()
                    .filter_map(|id| Some((*id, state.entries.get(id)?.key.clone())))
                    .collect();
                state.deregister_after_beat.extend(beating);
            }
            state.stopping = true;
            state.entries.clear();
            state.ids.clear();
            state.heap.clear();
            let mut workers: Vec<Worker> = state.workers.drain(..).map(|(_, w)| w).collect();
            workers.append(&mut state.retired);
            workers
        };
        self.shared.wake.notify_all();
        worker::join_all(workers, timeout)
    }
}

impl<B: Beater> Drop for Heartbeats<B> {
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
    }
}

impl<K, R> State<K, R> {
    fn schedule(&mut self, id: u64, at: Instant) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        self.next_schedule += 1;
        entry.schedule = self.next_schedule;
        self.heap.push(Reverse((at, id, self.next_schedule)));
    }

    /// Drops stale items from the top of the heap; the earliest live deadline.
    fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, id, schedule))) = self.heap.peek().copied() {
            match self.entries.get(&id) {
                Some(entry) if entry.schedule == schedule => return Some(at),
                _ => {
                    self.heap.pop();
                }
            }
        }
        None
    }
}

impl<B: Beater> Shared<B> {
    fn lock(&self) -> MutexGuard<'_, State<B::Key, B::Registration>> {
        // Beats are sent without the lock held; a poisoned lock still holds consistent data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The deregistration that a beat which outlasted it may have undone, sent again.
    fn deregister_after_late_beat(&self, key: &B::Key, registration: &B::Registration) {
        let name = B::describe(key);
        match self.beater.deregister(registration) {
            Ok(()) => log::info!("deregistered {name} again after a beat that outlasted it"),
            Err(e) => log::warn!(
                "a beat of {name} outlasted its deregistration, and deregistering it again \
                 failed: {e}"
            ),
        }
    }

    /// Starts a worker when none is free and the maximum is not reached.
    fn ensure_worker(
        self: &Arc<Self>,
        state: &mut State<B::Key, B::Registration>,
    ) -> Result<(), Error> {
        let (done, retired) = std::mem::take(&mut state.retired)
            .into_iter()
            .partition(Worker::is_finished);
        state.retired = retired;
        // A worker that ended without retiring (a panic outside a beat) is replaced.
        let (ended, running): (Vec<_>, Vec<_>) = std::mem::take(&mut state.workers)
            .into_iter()
            .partition(|(_, w)| w.is_finished());
        state.workers = running;
        worker::join_all(ended.into_iter().map(|(_, w)| w).collect(), Duration::ZERO);
        // Finished: joining does not wait.
        worker::join_all(done, Duration::ZERO);
        if state.idle > 0 || state.workers.len() >= self.config.max_threads.max(1) {
            return Ok(());
        }
        let index = (0..)
            .find(|i| state.workers.iter().all(|(used, _)| used != i))
            .expect("a free index");
        let shared = self.clone();
        let worker = Worker::spawn(format!("nacos-beat-{index}"), move || shared.run(index));
        match worker {
            Ok(worker) => {
                state.workers.push((index, worker));
                Ok(())
            }
            // Without any thread nothing would beat: the caller must know.
            Err(e) if state.workers.is_empty() => Err(Error::Io(e)),
            Err(e) => {
                log::warn!("cannot start another beat thread: {e}");
                Ok(())
            }
        }
    }

    fn run(self: Arc<Self>, index: usize) {
        let mut state = self.lock();
        loop {
            if state.stopping {
                return;
            }
            if state.entries.is_empty() {
                // Nothing to keep alive: end, and let the next instance start a thread.
                if let Some(at) = state.workers.iter().position(|(i, _)| *i == index) {
                    let (_, me) = state.workers.swap_remove(at);
                    state.retired.push(me);
                }
                return;
            }
            let now = Instant::now();
            match state.next_deadline() {
                Some(at) if at <= now => {}
                wait => {
                    state.idle += 1;
                    state = match wait {
                        Some(at) => {
                            self.wake
                                .wait_timeout(state, at - now)
                                .unwrap_or_else(|e| e.into_inner())
                                .0
                        }
                        None => self.wake.wait(state).unwrap_or_else(|e| e.into_inner()),
                    };
                    state.idle -= 1;
                    continue;
                }
            }
            let Reverse((_, id, _)) = state.heap.pop().expect("a live deadline");
            if !state.beating.insert(id) {
                // Rescheduled while beating: the beat in progress schedules the next one.
                continue;
            }
            let entry = state.entries.get(&id).expect("a live entry");
            let (key, registration, light) =
                (entry.key.clone(), entry.registration.clone(), entry.light);
            // More beats due than threads awake: another thread takes them.
            if state.next_deadline().is_some_and(|at| at <= now) {
                let _ = self.ensure_worker(&mut state);
            }
            drop(state);

            // A panic costs this beat only: the instance is unmarked below and beats on.
            let (answer, reregistered) = worker::contain(
                || format!("the beat of {}", B::describe(&key)),
                || {
                    let answer = self.beater.beat(&registration, light);
                    let reregistered = match &answer {
                        Ok(info) if info.instance_not_found() => {
                            Some(self.beater.register(&registration))
                        }
                        _ => None,
                    };
                    (answer, reregistered)
                },
            )
            .unwrap_or_else(|message| (Err(panicked("beat", &message)), None));

            state = self.lock();
            state.beating.remove(&id);
            self.beat_done.notify_all();
            let Some(entry) = state.entries.get_mut(&id) else {
                // Removed while beating.
                if let Some(key) = state.deregister_after_beat.remove(&id) {
                    if !state.ids.contains_key(&key) {
                        drop(state);
                        self.deregister_after_late_beat(&key, &registration);
                        state = self.lock();
                    }
                }
                continue;
            };
            let name = B::describe(&entry.key);
            entry.note(&name, answer, reregistered);
            let at = deadline::from_now(entry.interval);
            state.schedule(id, at);
        }
    }
}

impl<K, R> Entry<K, R> {
    /// Takes in a beat's answer (and the re-registration it caused).
    fn note(
        &mut self,
        name: &str,
        answer: Result<BeatInfo, Error>,
        reregistered: Option<Result<(), Error>>,
    ) {
        match answer {
            Ok(info) => {
                self.light = info.light_beat_enabled;
                self.interval = self.interval_override.unwrap_or_else(|| {
                    if info.client_beat_interval == 0 {
                        DEFAULT_BEAT_INTERVAL
                    } else {
                        Duration::from_millis(info.client_beat_interval)
                            .clamp(SERVER_INTERVAL_RANGE.0, SERVER_INTERVAL_RANGE.1)
                    }
                });
                match reregistered {
                    Some(Ok(())) => log::info!("the server had lost {}: registered again", name),
                    Some(Err(e)) => {
                        // A beat with the full body may bring it back on servers that allow it.
                        self.light = false;
                        log::warn!(
                            "the server lost {} and registering it again failed: {e}",
                            name
                        );
                    }
                    None if self.failing => log::info!("beats of {} succeed again", name),
                    None => {}
                }
                self.failing = false;
            }
            Err(e) => {
                // The full body lets a server that lost the instance take it back at once.
                self.light = false;
                if !self.failing {
                    log::warn!("beat of {} failed, beating on: {e}", name);
                } else {
                    log::debug!("beat of {} failed again: {e}", name);
                }
                self.failing = true;
            }
        }
    }
}

/// The error a unit of background work that panicked stands for.
pub(crate) fn panicked(what: &str, message: &str) -> Error {
    Error::Io(std::io::Error::other(format!(
        "the {what} panicked: {message}"
    )))
}

/// The interval an instance asks for in its metadata, if it does.
pub(crate) fn interval_from_metadata<'a>(
    mut metadata: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<Duration> {
    metadata
        .find(|(k, _)| *k == BEAT_INTERVAL_METADATA)
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beat_info::{BEAT_OK, BEAT_RESOURCE_NOT_FOUND};
    use nacos_test_support::expect_within;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    /// A server in memory: records beats, can forget instances and fail.
    #[derive(Default)]
    struct FakeServer {
        log: Mutex<Vec<(String, &'static str)>>,
        known: Mutex<std::collections::HashSet<String>>,
        failing: AtomicBool,
        interval_ms: AtomicU64,
        light_enabled: AtomicBool,
        in_flight: AtomicU64,
        max_in_flight: AtomicU64,
        beat_time: Mutex<Duration>,
        /// How many of the next beats panic.
        panics: AtomicU64,
    }

    impl Beater for FakeServer {
        type Key = u16;
        type Registration = String;

        fn describe(key: &u16) -> String {
            format!("instance {key}")
        }

        fn beat(&self, name: &String, light: bool) -> Result<BeatInfo, Error> {
            let panic_now = self
                .panics
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if panic_now {
                self.log.lock().unwrap().push((name.clone(), "panic"));
                panic!("a bug in a beat");
            }
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(*self.beat_time.lock().unwrap());
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let kind = if light { "light" } else { "full" };
            self.log.lock().unwrap().push((name.clone(), kind));
            if self.failing.load(Ordering::SeqCst) {
                return Err(Error::Shutdown);
            }
            let known = self.known.lock().unwrap().contains(name);
            Ok(BeatInfo {
                client_beat_interval: self.interval_ms.load(Ordering::SeqCst),
                code: if known {
                    BEAT_OK
                } else {
                    BEAT_RESOURCE_NOT_FOUND
                },
                light_beat_enabled: self.light_enabled.load(Ordering::SeqCst),
            })
        }

        fn register(&self, name: &String) -> Result<(), Error> {
            self.log.lock().unwrap().push((name.clone(), "register"));
            self.known.lock().unwrap().insert(name.clone());
            Ok(())
        }

        fn deregister(&self, name: &String) -> Result<(), Error> {
            self.log.lock().unwrap().push((name.clone(), "deregister"));
            self.known.lock().unwrap().remove(name);
            Ok(())
        }
    }

    impl FakeServer {
        fn count(&self, name: &str, kind: &str) -> usize {
            let log = self.log.lock().unwrap();
            log.iter().filter(|(n, k)| n == name && *k == kind).count()
        }

        fn beats(&self, name: &str) -> usize {
            self.count(name, "light") + self.count(name, "full")
        }
    }

    fn key(port: u16) -> u16 {
        port
    }

    fn config(interval_ms: u64, max_threads: usize) -> BeatConfig {
        BeatConfig {
            max_threads,
            interval: Some(Duration::from_millis(interval_ms)),
        }
    }

    const WAIT: Duration = Duration::from_secs(10);

    /// A scheduler keeping "a" (known to the server) alive, returned while its first beat,
    /// which takes `beat_ms`, is in flight.
    fn beating_for(beat_ms: u64) -> (Arc<FakeServer>, Heartbeats<FakeServer>) {
        let server = Arc::new(FakeServer::default());
        server.known.lock().unwrap().insert("a".into());
        *server.beat_time.lock().unwrap() = Duration::from_millis(beat_ms);
        let beats = Heartbeats::new(server.clone(), config(1, 1));
        beats.add(key(1), "a".into(), None).unwrap();
        expect_within("a beat in flight", WAIT, || {
            server.in_flight.load(Ordering::SeqCst) == 1
        });
        (server, beats)
    }

    fn beat_threads() -> usize {
        nacos_test_support::running_threads("nacos-beat-").map_or(0, |names| names.len())
    }

    #[test]
    fn beats_at_the_interval_and_stops_on_remove() {
        let server = Arc::new(FakeServer::default());
        server.known.lock().unwrap().insert("a".into());
        let beats = Heartbeats::new(server.clone(), config(10, 2));
        beats.add(key(1), "a".into(), None).unwrap();
        expect_within("five beats", WAIT, || server.beats("a") >= 5);
        assert!(beats.remove(&key(1), Duration::from_secs(5)));
        // The beat in flight, if any, has ended: none comes after.
        let after_remove = server.beats("a");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(server.beats("a"), after_remove);
        assert_eq!(beats.len(), 0);
        assert!(beats.stop(Duration::from_secs(5)).is_empty());
    }

    #[test]
    fn a_beat_that_outlasts_a_deregistration_is_followed_by_another() {
        let (server, beats) = beating_for(300);
        // The wait ends before the beat: the beat thread deregisters once the beat is over.
        assert!(beats.remove_for_deregistration(&key(1), Duration::from_millis(1)));
        assert_eq!(server.count("a", "deregister"), 0);
        expect_within("the deregistration after the beat", WAIT, || {
            server.count("a", "deregister") == 1
        });
        let log = server.log.lock().unwrap().clone();
        assert_eq!(log.last(), Some(&("a".to_owned(), "deregister")));
        assert!(!server.known.lock().unwrap().contains("a"));
        beats.stop(Duration::from_secs(5));
    }

    #[test]
    fn a_beat_in_flight_at_a_deregistering_stop_deregisters_when_it_ends() {
        let (server, beats) = beating_for(200);
        let stuck = beats.stop_for_deregistration(Duration::ZERO);
        assert_eq!(stuck.len(), 1, "the beating thread is still running");
        expect_within("the deregistration after the beat", WAIT, || {
            server.count("a", "deregister") == 1
        });
    }

    #[test]
    fn no_second_deregistration_after_a_plain_removal_or_a_new_registration() {
        for registered_again in [false, true] {
            let (server, beats) = beating_for(100);
            let ended_before = server.beats("a");
            if registered_again {
                assert!(beats.remove_for_deregistration(&key(1), Duration::ZERO));
                beats.add(key(1), "a".into(), None).unwrap();
            } else {
                // Removed without deregistering (made persistent, say).
                assert!(beats.remove(&key(1), Duration::ZERO));
            }
            expect_within("the beat in flight to end", WAIT, || {
                server.beats("a") > ended_before
            });
            std::thread::sleep(Duration::from_millis(50));
            assert_eq!(server.count("a", "deregister"), 0, "{registered_again}");
            beats.stop(Duration::from_secs(5));
        }
    }

    #[test]
    fn reregisters_in_full_when_the_server_lost_the_instance_and_goes_on() {
        let server = Arc::new(FakeServer::default());
        let beats = Heartbeats::new(server.clone(), config(5, 1));
        beats.add(key(1), "a".into(), None).unwrap();
        expect_within("a re-registration", WAIT, || {
            server.count("a", "register") == 1
        });
        expect_within("beats after it", WAIT, || server.beats("a") >= 3);
        assert_eq!(server.count("a", "register"), 1);
        beats.stop(Duration::from_secs(5));
    }

    #[test]
    fn takes_the_servers_interval_and_light_beats() {
        let server = Arc::new(FakeServer::default());
        server.known.lock().unwrap().insert("a".into());
        server.interval_ms.store(500, Ordering::SeqCst);
        server.light_enabled.store(true, Ordering::SeqCst);
        let beats = Heartbeats::new(
            server.clone(),
            BeatConfig {
                max_threads: 1,
                interval: None,
            },
        );
        // An overridden interval holds: 1 ms beats, not the server's 500 ms.
        beats
            .add(key(1), "a".into(), Some(Duration::from_millis(1)))
            .unwrap();
        expect_within("a light beat", WAIT, || server.count("a", "light") >= 1);
        assert_eq!(server.count("a", "full"), 1);
        let started = Instant::now();
        let before = server.beats("a");
        expect_within("ten more beats", WAIT, || server.beats("a") >= before + 10);
        assert!(started.elapsed() < Duration::from_millis(450));
        // Without one, the first beat goes at once and the server's interval follows.
        let started = Instant::now();
        beats.add(key(2), "b".into(), None).unwrap();
        expect_within("a first beat", WAIT, || server.beats("b") == 1);
        assert!(started.elapsed() < Duration::from_millis(400));
        expect_within("a second beat", WAIT, || server.beats("b") == 2);
        assert!(started.elapsed() >= Duration::from_millis(500));
        beats.stop(Duration::from_secs(5));
    }

    #[test]
    fn beats_on_through_errors_with_the_full_body() {
        let server = Arc::new(FakeServer::default());
        server.known.lock().unwrap().insert("a".into());
        server.light_enabled.store(true, Ordering::SeqCst);
        let beats = Heartbeats::new(server.clone(), config(2, 1));
        beats.add(key(1), "a".into(), None).unwrap();
        expect_within("light beats", WAIT, || server.count("a", "light") >= 2);
        server.failing.store(true, Ordering::SeqCst);
        let failed_from = server.beats("a");
        expect_within("failing beats", WAIT, || {
            server.beats("a") >= failed_from + 5
        });
        let full_before = server.count("a", "full");
        server.failing.store(false, Ordering::SeqCst);
        expect_within("recovery", WAIT, || server.count("a", "full") > full_before);
        expect_within("light again", WAIT, || server.count("a", "light") >= 4);
        beats.stop(Duration::from_secs(5));
    }

    #[test]
    fn updates_change_what_beats_carry_and_readding_keeps_one_entry() {
        let server = Arc::new(FakeServer::default());
        server.known.lock().unwrap().insert("a".into());
        server.known.lock().unwrap().insert("a2".into());
        let beats = Heartbeats::new(server.clone(), config(2, 1));
        beats.add(key(1), "a".into(), None).unwrap();
        expect_within("a beat", WAIT, || server.beats("a") >= 1);
        assert!(beats.update(&key(1), |old| format!("{old}2")));
        assert!(!beats.update(&key(9), |_| "x".into()));
        expect_within("the new body", WAIT, || server.beats("a2") >= 1);
        beats.add(key(1), "a".into(), None).unwrap();
        assert_eq!(beats.len(), 1);
        assert_eq!(*beats.registrations()[0], "a");
        beats.stop(Duration::from_secs(5));
    }

    #[test]
    fn a_few_threads_serve_many_instances_and_end_when_none_is_left() {
        let server = Arc::new(FakeServer::default());
        *server.beat_time.lock().unwrap() = Duration::from_millis(1);
        let beats = Heartbeats::new(server.clone(), config(20, 3));
        for port in 1..=500 {
            beats.add(key(port), format!("i{port}"), None).unwrap();
        }
        expect_within("every instance beaten", WAIT, || {
            server.log.lock().unwrap().len() >= 1000
        });
        assert!(server.max_in_flight.load(Ordering::SeqCst) <= 3);
        assert!(
            beat_threads() <= 3 + 3,
            "other tests may run beat threads too"
        );
        for port in 1..=500 {
            beats.remove(&key(port), Duration::from_secs(5));
        }
        let shared = beats.shared.clone();
        expect_within("workers to end", WAIT, || {
            let state = shared.lock();
            state.workers.is_empty() && state.retired.iter().all(Worker::is_finished)
        });
        // A new instance starts a thread again.
        beats.add(key(1), "i1".into(), None).unwrap();
        let before = server.beats("i1");
        expect_within("beats again", WAIT, || server.beats("i1") > before);
        assert!(beats.stop(Duration::from_secs(5)).is_empty());
    }

    #[test]
    fn a_beat_that_panics_costs_that_beat_only() {
        let server = Arc::new(FakeServer::default());
        server.known.lock().unwrap().insert("a".into());
        server.panics.store(3, Ordering::SeqCst);
        let beats = Heartbeats::new(server.clone(), config(2, 1));
        beats.add(key(1), "a".into(), None).unwrap();
        expect_within("beats after three panics", WAIT, || server.beats("a") >= 3);
        assert_eq!(server.count("a", "panic"), 3);
        // Never left marked in flight: removing it does not wait for a beat that never ends.
        let started = Instant::now();
        assert!(beats.remove(&key(1), Duration::from_secs(30)));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(beats.stop(Duration::from_secs(5)).is_empty());
    }

    #[test]
    fn intervals_and_waits_of_duration_max_mean_forever() {
        let server = Arc::new(FakeServer::default());
        server.known.lock().unwrap().insert("a".into());
        let beats = Heartbeats::new(
            server.clone(),
            BeatConfig {
                max_threads: 1,
                interval: Some(Duration::MAX),
            },
        );
        beats.add(key(1), "a".into(), None).unwrap();
        beats.add(key(2), "b".into(), Some(Duration::MAX)).unwrap();
        // Re-adding with another override reschedules.
        beats
            .add(key(2), "b".into(), Some(Duration::from_secs(3600)))
            .unwrap();
        beats.add(key(2), "b".into(), Some(Duration::MAX)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(server.beats("a") + server.beats("b"), 0);
        assert!(beats.remove(&key(1), Duration::MAX));
        assert!(beats.stop(Duration::MAX).is_empty());

        // The server's interval is clamped whatever it says.
        server.interval_ms.store(u64::MAX, Ordering::SeqCst);
        let beats = Heartbeats::new(
            server.clone(),
            BeatConfig {
                max_threads: 1,
                interval: None,
            },
        );
        beats.add(key(1), "a".into(), None).unwrap();
        expect_within("the first beat", WAIT, || server.beats("a") >= 1);
        assert!(beats.stop(Duration::from_secs(5)).is_empty());
    }

    #[test]
    fn stopped_scheduler_refuses_new_instances() {
        let beats = Heartbeats::new(Arc::new(FakeServer::default()), config(10, 1));
        beats.stop(Duration::from_secs(1));
        assert!(matches!(
            beats.add(key(1), "a".into(), None),
            Err(Error::Shutdown)
        ));
    }

    #[test]
    fn reads_the_interval_from_metadata() {
        let md = [("preserved.heart.beat.interval", "1500"), ("x", "y")];
        assert_eq!(
            interval_from_metadata(md.into_iter()),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            interval_from_metadata([("preserved.heart.beat.interval", "x")].into_iter()),
            None
        );
        assert_eq!(interval_from_metadata([].into_iter()), None);
    }
}
