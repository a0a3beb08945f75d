//! What each server was found to speak, remembered per server: servers of one cluster differ
//! while it is upgraded one server at a time.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// A server line as its answers show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// Not heard from yet: spoken to in V1, which every line but 3.2+ serves.
    Unknown,
    /// The V1 API in full: Nacos 1.x, 2.x, rnacos.
    V1,
    /// Nacos 3.0–3.1: the V1 open API, but V1 `get` and `modify` answer 410.
    V1OpenOnly,
    /// Nacos 3.2+: no V1 naming path (404), the v3 client API.
    V3,
}

impl Line {
    fn from_u8(v: u8) -> Line {
        match v {
            1 => Line::V1,
            2 => Line::V1OpenOnly,
            3 => Line::V3,
            _ => Line::Unknown,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Line::Unknown => 0,
            Line::V1 => 1,
            Line::V1OpenOnly => 2,
            Line::V3 => 3,
        }
    }
}

/// How errors name a server's line.
impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Line::Unknown => "server line not known yet",
            Line::V1 => "Nacos 1.x/2.x or rnacos, V1 API",
            Line::V1OpenOnly => "Nacos 3.0–3.1, V1 open API and v3 client API",
            Line::V3 => "Nacos 3.2+, v3 client API",
        })
    }
}

/// One [`Line`] per configured server, and whether it refused the login on its admin API;
/// read and written without a lock from any thread.
#[derive(Debug)]
pub(crate) struct Lines {
    lines: Vec<AtomicU8>,
    admin_refused: Vec<AtomicBool>,
}

impl Lines {
    pub(crate) fn new(servers: usize) -> Lines {
        Lines {
            lines: (0..servers).map(|_| AtomicU8::new(0)).collect(),
            admin_refused: (0..servers).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    pub(crate) fn get(&self, server: usize) -> Line {
        self.lines
            .get(server)
            .map_or(Line::Unknown, |l| Line::from_u8(l.load(Ordering::Relaxed)))
    }

    pub(crate) fn set(&self, server: usize, line: Line) {
        if let Some(l) = self.lines.get(server) {
            l.store(line.to_u8(), Ordering::Relaxed);
        }
    }

    /// Whether this server's admin API refused the login (a user without admin rights): the
    /// client API stands in for it from then on.
    pub(crate) fn admin_refused(&self, server: usize) -> bool {
        self.admin_refused
            .get(server)
            .is_some_and(|r| r.load(Ordering::Relaxed))
    }

    pub(crate) fn refuse_admin(&self, server: usize) {
        if let Some(r) = self.admin_refused.get(server) {
            r.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_each_server_apart() {
        let lines = Lines::new(2);
        assert_eq!(lines.get(0), Line::Unknown);
        lines.set(1, Line::V3);
        assert_eq!((lines.get(0), lines.get(1)), (Line::Unknown, Line::V3));
        lines.set(1, Line::V1OpenOnly);
        assert_eq!(lines.get(1), Line::V1OpenOnly);
        assert_eq!(lines.get(7), Line::Unknown);
        assert!(!lines.admin_refused(0));
        lines.refuse_admin(0);
        assert!(lines.admin_refused(0) && !lines.admin_refused(1));
    }
}
