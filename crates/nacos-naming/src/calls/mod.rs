//! The calls: one file per operation of the client's API, each a builder that checks its
//! arguments and `send()`s them through the wire layer.

pub(crate) mod builder_setters;
pub(crate) mod deregister;
pub(crate) mod get;
pub(crate) mod heartbeat_request;
pub(crate) mod list;
pub(crate) mod modify;
pub(crate) mod params;
pub(crate) mod register;
pub(crate) mod select;
pub(crate) mod service_list;
pub(crate) mod subscribe;
pub(crate) mod validate;
