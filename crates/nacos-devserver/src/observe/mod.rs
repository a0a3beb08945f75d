//! What the server tells about itself: Prometheus metrics and the log of the changes the
//! server makes on its own (health, empty-service cleanup).

mod changes;
mod metrics;

pub(crate) use changes::{cleaned, lapse};
pub(crate) use metrics::{Census, Metrics};
