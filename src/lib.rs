//! brooklet: Apache Kafka's semantics in process.
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod error;
pub mod format;

pub use error::{Error, Result};
