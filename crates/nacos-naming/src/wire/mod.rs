//! The wire: how a call reaches a server and how its answer is read (HTTP transport, server
//! list and failover, login, signing, tolerant decoding).

pub(crate) mod auth;
pub(crate) mod lenient;
pub(crate) mod server_list;
pub(crate) mod signature;
pub(crate) mod transport;
