//! The open connections: a cap on how many are served at once, and which one gives way when a
//! new one arrives at the cap.
//!
//! At the cap a newcomer is not refused: the connection that has waited longest for a request
//! (idle between requests, or with a head or body trickling in) is closed to make room. Refusing
//! newcomers instead (or answering them 503) would hand the server to whoever holds the cap: a
//! flood of slow bodies would lock every real client out until its requests time out. Closing the
//! longest waiter sheds exactly what such a flood is made of, while a client that sends its
//! request promptly is never the longest waiter for long, and an idle keep-alive client that
//! loses its connection simply opens another. Only when every connection is busy answering is
//! the newcomer turned away (503).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;
use tokio::time::Instant;

/// The table of open connections.
#[derive(Debug)]
pub(crate) struct Connections {
    max: usize,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    open: HashMap<u64, Entry>,
}

#[derive(Debug)]
struct Entry {
    /// Since when it waits for (the rest of) a request; `None` while a request is answered.
    waiting_since: Option<Instant>,
    close: Arc<Notify>,
}

impl Connections {
    /// A table that holds at most `max` connections (at least one).
    pub(crate) fn new(max: usize) -> Connections {
        Connections {
            max: max.max(1),
            table: Mutex::new(Table::default()),
        }
    }

    /// Takes a new connection in, closing the longest waiter if the table is full; `None` when
    /// it is full of connections being answered.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Connection> {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if table.open.len() >= self.max {
            let longest_waiter = table
                .open
                .iter()
                .filter_map(|(id, entry)| Some((entry.waiting_since?, *id)))
                .min()
                .map(|(_, id)| id)?;
            if let Some(entry) = table.open.remove(&longest_waiter) {
                // A permit is kept if its task is not waiting yet: the close is never lost.
                entry.close.notify_one();
            }
        }
        let id = table.next_id;
        table.next_id += 1;
        let close = Arc::new(Notify::new());
        table.open.insert(
            id,
            Entry {
                waiting_since: Some(Instant::now()),
                close: close.clone(),
            },
        );
        Some(Connection {
            id,
            connections: self.clone(),
            close,
        })
    }

    /// How many connections are open.
    #[cfg(test)]
    fn len(&self) -> usize {
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.open.len()
    }

    fn set_waiting(&self, id: u64, waiting_since: Option<Instant>) {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = table.open.get_mut(&id) {
            entry.waiting_since = waiting_since;
        }
    }
}

/// One admitted connection; it leaves the table when dropped.
#[derive(Debug)]
pub(crate) struct Connection {
    id: u64,
    connections: Arc<Connections>,
    close: Arc<Notify>,
}

impl Connection {
    /// A whole request is in: this connection is not to be shed while it is answered.
    pub(crate) fn answering(&self) {
        self.connections.set_waiting(self.id, None);
    }

    /// The answer is out: the connection waits for its next request from now on.
    pub(crate) fn waiting(&self) {
        self.connections.set_waiting(self.id, Some(Instant::now()));
    }

    /// Resolves when the connection is shed to make room for a newcomer.
    pub(crate) async fn shed(&self) {
        self.close.notified().await;
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let mut table = self
            .connections
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        table.open.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    fn is_shed(connection: &Connection) -> bool {
        let mut shed = pin!(connection.shed());
        shed.as_mut().poll(&mut Context::from_waker(Waker::noop())) == Poll::Ready(())
    }

    #[test]
    fn at_the_cap_the_longest_waiter_gives_way() {
        let connections = Arc::new(Connections::new(2));
        let oldest = connections.admit().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let younger = connections.admit().unwrap();
        assert_eq!(connections.len(), 2);

        let newcomer = connections.admit().unwrap();
        assert!(is_shed(&oldest));
        assert!(!is_shed(&younger));
        assert_eq!(connections.len(), 2);
        drop(oldest);
        assert_eq!(connections.len(), 2, "the shed one had left already");

        // Connections being answered are never shed; with all busy, the newcomer is refused.
        younger.answering();
        newcomer.answering();
        assert!(connections.admit().is_none());
        newcomer.waiting();
        let last = connections.admit().unwrap();
        assert!(is_shed(&newcomer));
        assert!(!is_shed(&younger));
        drop((younger, last));
        assert_eq!(connections.len(), 0);
    }
}
