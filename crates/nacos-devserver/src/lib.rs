//! A Nacos-compatible V1 naming server (being built).
