//! A Nacos-compatible V1 naming server (being built).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod registry;
mod service;
mod store;
