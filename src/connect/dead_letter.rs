//! The error policy of a connector (Kafka Connect's `errors.tolerance` and dead-letter
//! queue) and the transform chain, shared by source and sink runners.

use std::sync::Arc;

use super::config::{ConnectorConfig, ErrorTolerance, Transform};
use super::record::ConnectRecord;
use super::status::Control;
use crate::{Error, Header, Result, TopicPartition};

/// Why a record is bad: the error of the stage that refused it.
pub(crate) type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// A [`Cause`] that is only a message (a converter's or a sink task's reason).
pub(crate) fn cause_from(message: &str) -> Cause {
    let b: Box<dyn std::error::Error + Send + Sync> = message.into();
    Arc::from(b)
}

/// Where in the pipeline a record failed (Kafka's `__connect.errors.stage` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The source could not convert its input.
    Conversion,
    /// A transform returned an error.
    Transformation,
    /// A sink task reported the record as bad in `put`.
    TaskPut,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Conversion => "VALUE_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::TaskPut => "TASK_PUT",
        }
    }
}

/// What became of one record after the transforms.
pub(crate) enum Outcome {
    /// Write or deliver this.
    Keep(ConnectRecord),
    /// A filter dropped it.
    Filtered,
    /// It was bad and is skipped; write this dead letter if there is one.
    Skipped(Option<ConnectRecord>),
}

/// Applies the transform chain and the error policy for one task.
pub(crate) struct Policy {
    connector: String,
    task: usize,
    tolerance: ErrorTolerance,
    dead_letter_topic: Option<String>,
    context_headers: bool,
    transforms: Vec<Transform>,
    control: Arc<Control>,
}

impl Policy {
    pub(crate) fn new(config: &ConnectorConfig, task: usize, control: Arc<Control>) -> Policy {
        Policy {
            connector: config.name.clone(),
            task,
            tolerance: config.errors_tolerance,
            dead_letter_topic: config.dead_letter_topic.clone(),
            context_headers: config.dead_letter_context_headers,
            transforms: config.transforms.clone(),
            control,
        }
    }

    /// Runs the transforms over `record`; a failing transform goes to [`Self::bad`].
    pub(crate) fn transform(
        &self,
        record: ConnectRecord,
        origin: Option<(&TopicPartition, i64)>,
    ) -> Result<Outcome> {
        let mut current = record.clone();
        for t in &self.transforms {
            match t(current) {
                Ok(Some(next)) => current = next,
                Ok(None) => {
                    self.control.update(self.task, |s| s.filtered += 1);
                    return Ok(Outcome::Filtered);
                }
                Err(e) => {
                    return self
                        .bad(&record, origin, Stage::Transformation, Arc::new(e))
                        .map(Outcome::Skipped);
                }
            }
        }
        Ok(Outcome::Keep(current))
    }

    /// A bad record: under `ErrorTolerance::None` the error that stops the task;
    /// under `All`, counted, and its dead letter (when a dead-letter topic is set).
    pub(crate) fn bad(
        &self,
        original: &ConnectRecord,
        origin: Option<(&TopicPartition, i64)>,
        stage: Stage,
        cause: Cause,
    ) -> Result<Option<ConnectRecord>> {
        let at = match origin {
            Some((tp, o)) => format!(" (record {tp}@{o})"),
            None => String::new(),
        };
        if self.tolerance == ErrorTolerance::None {
            return Err(Error::Task {
                task: format!("connector `{}` task {}", self.connector, self.task),
                reason: format!(
                    "bad record in stage {}{at}, and the task stops because errors_tolerance is `None` (set ErrorTolerance::All to skip bad records)",
                    stage.name()
                ),
                source: cause,
            });
        }
        let reason = cause.to_string();
        self.control.update(self.task, |s| {
            s.skipped += 1;
            s.last_skipped_error = Some(format!("{}{at}: {reason}", stage.name()));
        });
        let Some(topic) = &self.dead_letter_topic else {
            return Ok(None);
        };
        let mut dl = original.clone();
        dl.topic = topic.clone();
        dl.partition = None;
        if self.context_headers {
            let mut h = |k: &str, v: String| {
                dl.headers
                    .push(Header::new(format!("__connect.errors.{k}"), v.into_bytes()))
            };
            if let Some((tp, o)) = origin {
                h("topic", tp.topic().to_string());
                h("partition", tp.partition().to_string());
                h("offset", o.to_string());
            }
            h("connector.name", self.connector.clone());
            h("task.id", self.task.to_string());
            h("stage", stage.name().to_string());
            h("exception.message", reason.clone());
        }
        Ok(Some(dl))
    }
}
