//! Fuzz target: a valid log whose `.index` and `.timeindex` files are replaced or
//! edited with arbitrary bytes, then opened and read against a model. The checks live
//! in `index_files_body.rs`, which `tests/fuzz_corpus.rs` also runs over the seed
//! corpus on stable Rust.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
#[path = "index_files_body.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
