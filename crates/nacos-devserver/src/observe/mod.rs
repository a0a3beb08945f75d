//! What the server tells about itself: Prometheus metrics and the log of health changes.

mod changes;
mod metrics;

pub(crate) use changes::lapse;
pub(crate) use metrics::{Census, Metrics};
