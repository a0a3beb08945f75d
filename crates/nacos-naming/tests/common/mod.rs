//! What the client's integration suites share: a recording server.
//!
//! Each test binary uses part of it.
#![allow(dead_code)]

pub mod recorder;
