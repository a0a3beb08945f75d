//! Fuzzes `nacos_devserver::fuzzing::request_v3`: any bytes a client sends to a 3.2 server (the
//! v3 client and admin APIs, the token `fuzz` accepted), no panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| nacos_devserver::fuzzing::request_v3(data));
