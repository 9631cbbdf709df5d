//! Fuzz target: a byte string as a sequence of `PartitionLog` operations compared with a
//! `Vec` model. The checks live in `api_model_body.rs`, which `tests/fuzz_corpus.rs`
//! also runs over the seed corpus on stable Rust.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
#[path = "api_model_body.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
