//! Fuzzes `nacos_naming::fuzzing::login_answer`: any bytes, no panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| nacos_naming::fuzzing::login_answer(data));
