//! Consumer groups: the in-process coordinator, Kafka's assignors, committed offsets.

pub(crate) mod assignor;
pub(crate) mod coordinator;
pub(crate) mod offsets;

use crate::error::{Error, Result};

/// Kafka refuses an empty group id: the consumer with `InvalidGroupIdException` ("The
/// configured group.id should not be an empty string or whitespace."), the group
/// coordinator with `INVALID_GROUP_ID` for every group call
/// (`GroupCoordinatorService.isGroupIdNotEmpty`).
pub(crate) fn validate_group_id(group: &str) -> Result<()> {
    if group.is_empty() {
        return Err(Error::InvalidArgument(
            "the group_id is empty; Kafka refuses an empty group id (INVALID_GROUP_ID): name the group, or leave group_id unset to read without a group".into(),
        ));
    }
    Ok(())
}
