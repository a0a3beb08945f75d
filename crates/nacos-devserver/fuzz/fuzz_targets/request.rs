//! Fuzzes `nacos_devserver::fuzzing::request`: any bytes a client sends, no panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| nacos_devserver::fuzzing::request(data));
