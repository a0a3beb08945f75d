//! The wire: how a call reaches a server and how its answer is read (HTTP transport, server
//! list and failover, login, signing, tolerant decoding), and one file per server API
//! generation (`v1`, `v3`) behind [`generation`].

pub(crate) mod api;
pub(crate) mod auth;
pub(crate) mod generation;
pub(crate) mod lenient;
pub(crate) mod line;
pub(crate) mod operation;
pub(crate) mod probe;
pub(crate) mod server_list;
pub(crate) mod signature;
pub(crate) mod transport;
pub(crate) mod v1;
pub(crate) mod v3;
pub(crate) mod values;
