#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sam_fuzz::command(data));
