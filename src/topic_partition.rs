//! `TopicPartition`, a leaf below `error` so that errors can name a partition without
//! a module cycle (`record` imports `format`, which imports `error`).

/// A topic and a partition number (Kafka's `TopicPartition`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    topic: String,
    partition: u32,
}

impl TopicPartition {
    /// `topic`-`partition`.
    pub fn new(topic: impl Into<String>, partition: u32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }
    /// The partition number.
    pub fn partition(&self) -> u32 {
        self.partition
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

impl TopicPartition {
    /// The partition a log directory named `<topic>-<partition>` holds: split at the
    /// last `-` (topic names may contain `-`, partition numbers may not). A name that
    /// does not parse (a standalone `PartitionLog` opened on any directory, as tests
    /// do) is the whole name as topic with partition 0, so errors still name the
    /// directory.
    pub(crate) fn from_dir_name(name: &str) -> TopicPartition {
        match name.rsplit_once('-') {
            Some((topic, p)) if !topic.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                match p.parse() {
                    Ok(partition) => TopicPartition::new(topic, partition),
                    Err(_) => TopicPartition::new(name, 0),
                }
            }
            _ => TopicPartition::new(name, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TopicPartition;

    #[test]
    fn dir_names_parse_at_the_last_dash() {
        let tp = |t: &str, p| TopicPartition::new(t, p);
        assert_eq!(TopicPartition::from_dir_name("t-0"), tp("t", 0));
        assert_eq!(TopicPartition::from_dir_name("a-b-12"), tp("a-b", 12));
        assert_eq!(TopicPartition::from_dir_name("log"), tp("log", 0));
        assert_eq!(TopicPartition::from_dir_name("-3"), tp("-3", 0));
        assert_eq!(TopicPartition::from_dir_name("t-"), tp("t-", 0));
        assert_eq!(TopicPartition::from_dir_name("t-+1"), tp("t-+1", 0));
        assert_eq!(
            TopicPartition::from_dir_name("t-99999999999"),
            tp("t-99999999999", 0)
        );
    }
}
