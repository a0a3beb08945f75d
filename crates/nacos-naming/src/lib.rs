//! A blocking Nacos V1 service-discovery client.
//!
//! (Crate documentation is written with the client; see the README.)

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod beat_info;
mod error;
mod instance;
mod lenient;
mod service_info;
mod validate;

pub use beat_info::{BeatInfo, BEAT_OK, BEAT_RESOURCE_NOT_FOUND};
pub use error::{Attempt, Error, RequestFailure};
pub use instance::{Instance, DEFAULT_CLUSTER, DEFAULT_GROUP, DEFAULT_NAMESPACE};
pub use service_info::{grouped_name, ServiceInfo, GROUP_SEPARATOR};
