//! Fuzz target: arbitrary bytes through brooklet's RecordBatch v2 decoder, plus the
//! decode -> encode -> decode round trip. The checks live in `batch_decode_body.rs`,
//! which `tests/fuzz_corpus.rs` also runs over the seed corpus on stable Rust.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "batch_decode_body.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
