//! What the server tells about itself: Prometheus metrics and the start banner.

mod metrics;

pub(crate) use metrics::{Census, Metrics};
