//! Free ports on loopback.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

/// A TCP port on 127.0.0.1 that was free a moment ago and that no earlier call in this process
/// returned.
///
/// The port is found by binding port 0 and letting the listener go, so another process may
/// still take it before the caller binds it; fixtures that start servers retry with a new port
/// when that happens. Remembering the ports handed out keeps parallel tests of one process
/// from ever being given the same one.
///
/// # Panics
///
/// When no port can be bound on 127.0.0.1 at all (no loopback interface).
pub fn free_port() -> u16 {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(Default::default);
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("bind a port on 127.0.0.1")
            .port();
        if given.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return port;
        }
    }
    panic!("no new free port on 127.0.0.1 after 100 tries");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_hands_out_a_port_twice() {
        let ports: HashSet<u16> = (0..50).map(|_| free_port()).collect();
        assert_eq!(ports.len(), 50);
        for port in ports {
            assert_ne!(port, 0);
        }
    }
}
