//! Setup the fuzz target bodies share: a scratch directory, the storage layer's
//! background thread, and a reader over the fuzz input. Bodies name it
//! `crate::common`: each fuzz target declares `#[path = "common.rs"] mod common;` next
//! to its body, and so does `tests/fuzz_corpus.rs`, which includes every body.
// Each fuzz target uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use brooklet::storage::Background;

/// The background thread of every log the bodies open, started on first use.
pub fn background() -> &'static Background {
    static BG: OnceLock<Background> = OnceLock::new();
    BG.get_or_init(|| Background::new("fuzz-background").expect("background thread"))
}

/// A scratch directory, removed on drop (on tmpfs when there is one).
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A fresh directory named after `what`, the process and a counter.
    pub fn new(what: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let shm = Path::new("/dev/shm");
        let root = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = root.join(format!(
            "brooklet-fuzz-{what}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reads the input front to back; past its end everything is zero.
pub struct Input<'a>(pub &'a [u8]);

impl Input<'_> {
    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    pub fn i64(&mut self) -> i64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.u8();
        }
        i64::from_be_bytes(b)
    }
    /// A length byte (0xff: `None`), then that many bytes.
    pub fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.u8();
        (n != 0xff).then(|| (0..n).map(|_| self.u8()).collect())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
