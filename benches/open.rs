//! Opening a partition of 1,000 segments (DESIGN.md target: < 50 ms), cleanly and after
//! a crash, and the heap a log costs per segment (target: independent of log size).
//! Heap is counted by a wrapping global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use brooklet::format::RecordIn;
use brooklet::storage::{Background, LogConfig, PartitionLog};
use criterion::{Criterion, criterion_group, criterion_main};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn config(segment_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        prefault: false,
        ..LogConfig::default()
    }
}

/// A closed log of `segments` segments of about `segment_bytes` each.
fn build(dir: &std::path::Path, segments: usize, segment_bytes: u64) {
    let log = PartitionLog::open(dir, config(segment_bytes)).unwrap();
    let value = vec![7u8; 100];
    let recs: Vec<RecordIn> = (0..8)
        .map(|i| RecordIn {
            key: None,
            value: Some(&value),
            timestamp: i,
            headers: &[],
        })
        .collect();
    while log.segment_count() < segments {
        log.append(&recs).unwrap();
    }
    log.close().unwrap();
}

fn open(c: &mut Criterion) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    build(&dir, 1000, 16 * 1024);
    let bg = Background::new("bench").unwrap();
    let mut g = c.benchmark_group("open");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("1000 segments, clean", |b| {
        b.iter(|| {
            let log = PartitionLog::open_with(&dir, config(16 * 1024), &bg).unwrap();
            assert_eq!(log.segment_count(), 1000);
            log.close().unwrap();
        })
    });
    g.bench_function("1000 segments, after a crash", |b| {
        b.iter_batched(
            || {
                // Remove the clean-shutdown marker: recovery validates the active segment.
                let _ = std::fs::remove_file(dir.join(".clean-shutdown"));
            },
            |_| {
                let log = PartitionLog::open_with(&dir, config(16 * 1024), &bg).unwrap();
                assert_eq!(log.segment_count(), 1000);
                log.close().unwrap();
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();

    // Heap per segment: open logs of different sizes and segment sizes, count live heap.
    for (segments, seg_bytes) in [
        (250usize, 16 * 1024u64),
        (1000, 16 * 1024),
        (1000, 64 * 1024),
    ] {
        let d = root.path().join(format!("h{segments}-{seg_bytes}-0"));
        build(&d, segments, seg_bytes);
        let before = LIVE.load(Ordering::Relaxed);
        let log = PartitionLog::open_with(&d, config(seg_bytes), &bg).unwrap();
        let heap = LIVE.load(Ordering::Relaxed) - before;
        let size = log.size_bytes();
        println!(
            "heap: {segments} segments of {} KiB ({:.1} MiB of log): {heap} bytes, {} bytes per segment",
            seg_bytes / 1024,
            size as f64 / (1 << 20) as f64,
            heap / segments
        );
        log.close().unwrap();
    }
}

criterion_group!(benches, open);
criterion_main!(benches);
