//! Fuzz target: arbitrary bytes as a partition's segment files, then open and read.
//! The checks live in `segment_recovery_body.rs`, which `tests/fuzz_corpus.rs` also
//! runs over the seed corpus on stable Rust.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
#[path = "segment_recovery_body.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
