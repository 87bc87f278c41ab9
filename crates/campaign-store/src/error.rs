//! What can go wrong with a store, in terms a caller can act on.

use campaign_core::{ErrorKind, SourceError};

/// A store failure. Messages never hold a password: URLs are shown with
/// their credentials removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL is not `sqlite://PATH` or `postgres://...`.
    #[error("store URL {url:?} is not sqlite://PATH or postgres://...: {why}")]
    BadUrl {
        /// The URL, credentials removed.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// No store at this URL, where one was to be read, or no directory to
    /// create it in.
    #[error("no campaigns store at {url}: {why}")]
    Missing {
        /// The URL, credentials removed.
        url: String,
        /// What is missing.
        why: String,
    },
    /// The database holds something else than a campaigns store.
    #[error("{url} is not a campaigns store: {why}")]
    NotAStore {
        /// The URL, credentials removed.
        url: String,
        /// What was found.
        why: String,
    },
    /// The store was written by a newer version of this program.
    #[error(
        "{url} was written by a newer version of campaigns (schema version {found}; this one \
         knows up to {known}); upgrade campaigns to use it"
    )]
    NewerSchema {
        /// The URL, credentials removed.
        url: String,
        /// The newest schema version the store has.
        found: i64,
        /// The newest this program knows.
        known: i64,
    },
    /// Another process syncs this source now.
    #[error("source {source_id:?} is being synced by {holder}; try again later")]
    Busy {
        /// The source.
        source_id: String,
        /// Who holds it (host and process, or "another session").
        holder: String,
    },
    /// The lock file that keeps two syncs of a source apart could not be used.
    #[error("cannot use the lock file {path}: {cause}")]
    Lock {
        /// The file.
        path: String,
        /// Why.
        #[source]
        cause: std::io::Error,
    },
    /// A stored row could not be read back.
    #[error("stored campaign {id} could not be read: {why}")]
    Corrupt {
        /// The campaign's id.
        id: String,
        /// Why.
        why: String,
    },
    /// The database refused or failed an operation.
    #[error("{what}: {cause}")]
    Database {
        /// What was being done.
        what: String,
        /// The database's error.
        #[source]
        cause: sqlx::Error,
    },
}

impl StoreError {
    /// A database error while doing `what`.
    pub(crate) fn db(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Self {
        let what = what.into();
        move |cause| StoreError::Database { what, cause }
    }

    /// This error as a source failure of the store source `source_id`.
    pub fn to_source_error(&self, source_id: &str) -> SourceError {
        let kind = match self {
            StoreError::BadUrl { .. }
            | StoreError::NotAStore { .. }
            | StoreError::Missing { .. } => ErrorKind::Config,
            StoreError::NewerSchema { .. } => ErrorKind::Config,
            StoreError::Busy { .. } => ErrorKind::RateLimited,
            StoreError::Lock { .. } => ErrorKind::Config,
            StoreError::Corrupt { .. } => ErrorKind::Decode,
            StoreError::Database { .. } => ErrorKind::Transport,
        };
        SourceError::new(kind, source_id, self.to_string())
    }
}

/// `url` without its password or user, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.local:5432/campaigns"),
            "postgres://…@db.local:5432/campaigns"
        );
        assert_eq!(redact_url("sqlite://campaigns.db"), "sqlite://campaigns.db");
    }
}
