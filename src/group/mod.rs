//! Consumer groups: the in-process coordinator, Kafka's assignors, committed offsets.

pub(crate) mod assignor;
pub(crate) mod coordinator;
pub(crate) mod offsets;
