#![no_main]

use gatehouse_fuzz::acl::{run, Format};

libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data, Format::Toml));
