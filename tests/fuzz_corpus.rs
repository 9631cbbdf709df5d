//! Replays every seed and regression input of the `batch_decode` fuzz target (`fuzz/corpus/batch_decode/`) through the target's own checks, so the corpus is a regression test on stable Rust without cargo-fuzz.

#[path = "../fuzz/fuzz_targets/batch_decode_body.rs"]
mod batch_decode_body;

use std::path::Path;

#[test]
fn batch_decode_corpus_passes_the_fuzz_checks() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/batch_decode");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "seed corpus has only {} files",
        files.len()
    );
    for path in &files {
        let data = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Err(panic) = std::panic::catch_unwind(|| batch_decode_body::run(&data)) {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            panic!("fuzz corpus file {name} fails: {msg}");
        }
    }
}

/// The seeds must exercise both sides: `valid_*` files start with a batch that parses
/// and validates (so it goes through the round trip), `broken_*` files with one the
/// decoder rejects.
#[test]
fn seeds_are_valid_or_broken_as_named() {
    use brooklet::format::Batch;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/batch_decode");
    let (mut valid, mut broken) = (0, 0);
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let decoded = Batch::parse(&data).and_then(|b| b.validate());
        if name.starts_with("valid_") {
            assert!(decoded.is_ok(), "{name}: {decoded:?}");
            valid += 1;
        } else if name.starts_with("broken_") {
            assert!(decoded.is_err(), "{name} decodes");
            broken += 1;
        }
    }
    assert!(valid >= 8, "{valid} valid seeds");
    assert!(broken >= 8, "{broken} broken seeds");
}
