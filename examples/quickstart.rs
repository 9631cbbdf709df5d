//! Opens a data directory, publishes records with headers to a topic and reads them
//! back with a consumer.
//!
//! `cargo run --release --example quickstart`

use std::time::Duration;

use brooklet::{Broker, ConsumerConfig, OffsetReset, ProducerRecord, TopicConfig, TopicPartition};

fn main() -> brooklet::Result<()> {
    let dir = std::env::temp_dir().join(format!("brooklet-quickstart-{}", std::process::id()));
    let broker = Broker::open(&dir)?;
    broker.create_topic("greetings", TopicConfig::new(1))?;

    let producer = broker.producer();
    let words = ["hello", "bonjour", "hallo", "hej"];
    for (i, word) in words.iter().enumerate() {
        let meta = producer.send(
            ProducerRecord::new("greetings")
                .key(format!("user-{i}"))
                .value(*word)
                .timestamp(1_700_000_000_000 + i as i64)
                .header("lang", "en"),
        )?;
        println!("appended {word:>8} at offset {}", meta.offset());
    }

    let mut consumer =
        broker.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest));
    consumer.assign(&[TopicPartition::new("greetings", 0)])?;
    let mut read = 0;
    while read < words.len() {
        for r in consumer.poll(Duration::from_millis(100))?.iter() {
            let headers: Vec<_> = r
                .headers()
                .map(|h| {
                    let v = h.value.unwrap_or_default();
                    format!(
                        "{}={}",
                        String::from_utf8_lossy(h.key),
                        String::from_utf8_lossy(v)
                    )
                })
                .collect();
            println!(
                "read offset {} key {:?} value {:?} headers {headers:?}",
                r.offset(),
                String::from_utf8_lossy(r.key().unwrap_or_default()),
                String::from_utf8_lossy(r.value().unwrap_or_default())
            );
            read += 1;
        }
    }
    consumer.close()?;
    broker.close()?;
    println!("log files in {}", dir.display());
    std::fs::remove_dir_all(&dir).map_err(|e| brooklet::Error::Io {
        path: dir,
        source: std::sync::Arc::new(e),
    })?;
    Ok(())
}
