//! Writes records to one partition log and reads them back.
//!
//! `cargo run --release --example quickstart`

use brooklet::format::{Header, RecordIn};
use brooklet::storage::{LogConfig, PartitionLog};

fn main() -> brooklet::Result<()> {
    let dir = std::env::temp_dir().join(format!("brooklet-quickstart-{}", std::process::id()));
    let log = PartitionLog::open(dir.join("greetings-0"), LogConfig::default())?;
    let headers = [Header::new("lang", "en")];
    for (i, word) in ["hello", "bonjour", "hallo", "hej"].iter().enumerate() {
        let key = format!("user-{i}");
        let info = log.append(&[RecordIn {
            key: Some(key.as_bytes()),
            value: Some(word.as_bytes()),
            timestamp: 1_700_000_000_000 + i as i64,
            headers: &headers,
        }])?;
        println!("appended {word:>8} at offset {}", info.base_offset);
    }
    let fetched = log.read(0, 1 << 20)?;
    for r in fetched.records() {
        let r = r?;
        println!(
            "read offset {} key {:?} value {:?}",
            r.offset(),
            String::from_utf8_lossy(r.key().unwrap_or_default()),
            String::from_utf8_lossy(r.value().unwrap_or_default())
        );
    }
    log.close()?;
    println!("log files in {}", dir.display());
    std::fs::remove_dir_all(&dir).map_err(|e| brooklet::Error::Io {
        path: dir,
        source: e,
    })?;
    Ok(())
}
