//! What a source reports about a page without failing it: anomalies, and
//! records it could not use.

use std::fmt;

use serde::Serialize;

use crate::error::{Result, SourceError};

/// An anomaly a source noticed on a page that did not stop its listing: a
/// total count that moved, a record it skipped, a sort it had to redo.
///
/// Never carries a secret: built from messages and request descriptions
/// that are safe to print, like [`SourceError`]'s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Warning {
    /// What happened, in one sentence.
    pub message: String,
    /// The request whose answer it concerns, where one does.
    pub request: Option<String>,
    /// The partition of the source it concerns (`contact_center=7`), where one does.
    pub partition: Option<String>,
    /// The record that was skipped, when the warning reports one: the
    /// listing it belongs to is then incomplete.
    pub skipped: Option<SkippedRecord>,
    /// The provider did not sort as asked, so the source sorted the listing
    /// itself (reading it whole): its order is right, but no reader may
    /// count on the provider's order for this listing (to stop early, say).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sorted_locally: bool,
}

/// A record a source left out of its listing because it could not use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRecord {
    /// Its place in the response it came in (0-based).
    pub index: usize,
    /// Its native id, where the record had a readable one.
    pub id: Option<String>,
}

impl Warning {
    /// A warning saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            request: None,
            partition: None,
            skipped: None,
            sorted_locally: false,
        }
    }

    /// Marks the warning as saying the provider's order was not kept and
    /// the source sorted the listing locally.
    pub fn sorted_locally(mut self) -> Self {
        self.sorted_locally = true;
        self
    }

    /// Names the request whose answer the warning concerns.
    pub fn with_request(mut self, request: impl Into<String>) -> Self {
        self.request = Some(request.into());
        self
    }

    /// Names the partition the warning concerns.
    pub fn with_partition(mut self, partition: impl Into<String>) -> Self {
        self.partition = Some(partition.into());
        self
    }

    /// The warning for record `index` (native id `id`, if readable) that was
    /// skipped because of `error`: its message, request and partition are
    /// the error's.
    pub fn skipped_record(index: usize, id: Option<String>, error: &SourceError) -> Self {
        let which = match &id {
            Some(id) => format!("record {index} (id {id:?})"),
            None => format!("record {index} (no readable id)"),
        };
        let mut cause = error.message().to_owned();
        if let Some(code) = error.code() {
            cause = format!("{code}: {cause}");
        }
        Self {
            message: format!("skipped {which}: {cause}"),
            request: error.request().map(str::to_owned),
            partition: error.partition().map(str::to_owned),
            skipped: Some(SkippedRecord { index, id }),
            sorted_locally: false,
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(partition) = &self.partition {
            write!(f, "{partition}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(request) = &self.request {
            write!(f, " [request: {request}]")?;
        }
        Ok(())
    }
}

impl From<String> for Warning {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for Warning {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

/// What a source does with the records of a response it cannot use: by
/// default each is skipped and reported as a [`Warning`] (naming the
/// source's request, the record's index and id, and the cause), so one bad
/// record does not sink the others; when strict, the first one fails the page.
///
/// ```
/// use campaign_core::{ErrorKind, RecordIssues, SourceError};
///
/// let bad = || SourceError::new(ErrorKind::Decode, "cms", "processId: expected an integer")
///     .with_request("GET campaigns contactCenterId=1");
/// let mut lenient = RecordIssues::new(false);
/// lenient.skip(3, Some("17".into()), bad())?;
/// let warnings = lenient.into_warnings();
/// assert_eq!(warnings[0].skipped.as_ref().map(|s| s.index), Some(3));
/// assert!(warnings[0].to_string().contains("record 3 (id \"17\")"));
///
/// let mut strict = RecordIssues::new(true);
/// assert!(strict.skip(3, Some("17".into()), bad()).is_err());
/// # Ok::<(), SourceError>(())
/// ```
#[derive(Debug, Default)]
pub struct RecordIssues {
    strict: bool,
    warnings: Vec<Warning>,
}

impl RecordIssues {
    /// Skips and reports bad records, or (`strict`) fails on the first.
    pub fn new(strict: bool) -> Self {
        Self {
            strict,
            warnings: Vec::new(),
        }
    }

    /// Whether a bad record fails its page.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Handles record `index` (native id `id`, where readable), unusable
    /// because of `error` (which names the source and the request): a
    /// warning, or under strict mode `error` itself, saying which record.
    pub fn skip(&mut self, index: usize, id: Option<String>, error: SourceError) -> Result<()> {
        if self.strict {
            let which = match &id {
                Some(id) => format!("record {index} (id {id:?}); strict mode fails the page"),
                None => format!("record {index}; strict mode fails the page"),
            };
            return Err(error.with_context(which));
        }
        self.warnings
            .push(Warning::skipped_record(index, id, &error));
        Ok(())
    }

    /// How many records were skipped.
    pub fn skipped(&self) -> usize {
        self.warnings.len()
    }

    /// The warnings, one per skipped record, in the order they were met.
    pub fn into_warnings(self) -> Vec<Warning> {
        self.warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn a_skipped_record_names_request_partition_index_id_and_cause() {
        let error = SourceError::new(ErrorKind::Decode, "cms", "processId: invalid type")
            .with_request("GET campaigns contactCenterId=2")
            .with_partition("contact_center=2");
        let warning = Warning::skipped_record(4, None, &error);
        assert_eq!(
            warning.to_string(),
            "contact_center=2: skipped record 4 (no readable id): processId: invalid type \
             [request: GET campaigns contactCenterId=2]"
        );
        assert_eq!(warning.skipped, Some(SkippedRecord { index: 4, id: None }));
        let plain: Warning = "totalResults moved".into();
        assert_eq!(plain.to_string(), "totalResults moved");
        assert!(plain.skipped.is_none());
    }

    #[test]
    fn strict_mode_fails_with_the_records_error() {
        let mut issues = RecordIssues::new(true);
        let error = SourceError::new(ErrorKind::Decode, "kore", "bad").with_request("POST x");
        let failed = issues.skip(0, Some("cd-1".into()), error).unwrap_err();
        assert_eq!(failed.kind(), ErrorKind::Decode);
        assert!(
            failed.to_string().contains("record 0 (id \"cd-1\")"),
            "{failed}"
        );
        assert_eq!(issues.skipped(), 0);
    }
}
