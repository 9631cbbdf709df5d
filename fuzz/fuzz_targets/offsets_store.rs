//! Fuzz target: `__consumer_offsets` records with well-formed, damaged or arbitrary
//! keys and values, replayed by a reopened broker and checked through the group API
//! against a model. The checks live in `offsets_store_body.rs`, which
//! `tests/fuzz_corpus.rs` also runs over the seed corpus on stable Rust.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
#[path = "offsets_store_body.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
