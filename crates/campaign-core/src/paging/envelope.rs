//! The envelope of a page token: the source's prefix, and its position as
//! compact JSON bound to the query it was issued for.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, Result, SourceError};
use crate::query::CampaignQuery;
use crate::source::PageToken;

/// How a source's page tokens are written: `prefix`, then a JSON object of
/// the query's fingerprint (`"q"`, hex) and the position's own fields,
/// base64url (or, for a token nested in another one, plain JSON).
///
/// The prefix tells a source's tokens from others' at a glance; the
/// fingerprint keeps a token from resuming a different query (filters or
/// sort differ; the page size is not part of it). What a token that opens
/// holds is the source's to check further (ranges, partitions), with
/// [`invalid`](Self::invalid) for its errors.
///
/// ```
/// use campaign_core::paging::TokenEnvelope;
/// use campaign_core::{CampaignQuery, ErrorKind, Status};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Pos {
///     page: u64,
/// }
///
/// const TOKENS: TokenEnvelope = TokenEnvelope::base64("demo1.");
/// let query = CampaignQuery::builder().status(Status::Ready).build()?;
/// let token = TOKENS.seal(&query, &Pos { page: 3 });
/// assert!(token.as_str().starts_with("demo1."));
/// assert_eq!(TOKENS.open::<Pos>("demo", &query, &token)?, Pos { page: 3 });
/// let other = CampaignQuery::all();
/// let e = TOKENS.open::<Pos>("demo", &other, &token).unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::InvalidCursor);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenEnvelope {
    prefix: &'static str,
    base64: bool,
}

#[derive(Serialize)]
struct Sealed<'a, T> {
    /// The query's fingerprint, hex.
    q: String,
    #[serde(flatten)]
    body: &'a T,
}

#[derive(Deserialize)]
struct Opened<T> {
    q: String,
    #[serde(flatten)]
    body: T,
}

impl TokenEnvelope {
    /// Tokens `prefix` + base64url of the JSON: what a source hands out.
    pub const fn base64(prefix: &'static str) -> Self {
        Self {
            prefix,
            base64: true,
        }
    }

    /// Tokens `prefix` + the JSON as is: for a token that holds other
    /// tokens (already opaque), which base64 would only make longer.
    pub const fn json(prefix: &'static str) -> Self {
        Self {
            prefix,
            base64: false,
        }
    }

    /// The token of `body` (a position: plain fields, which always
    /// serialize) in a walk over `query`.
    pub fn seal<T: Serialize>(&self, query: &CampaignQuery, body: &T) -> PageToken {
        let sealed = Sealed {
            q: fingerprint(query),
            body,
        };
        // Serializing plain strings and numbers cannot fail.
        let json = serde_json::to_vec(&sealed).unwrap_or_default();
        let text = if self.base64 {
            URL_SAFE_NO_PAD.encode(json)
        } else {
            String::from_utf8(json).unwrap_or_default()
        };
        PageToken::new(format!("{}{text}", self.prefix))
    }

    /// The position a token of this envelope holds, when it was issued for
    /// `query`; else an [`InvalidCursor`](ErrorKind::InvalidCursor) error of
    /// `source_id` saying why.
    pub fn open<T: DeserializeOwned>(
        &self,
        source_id: &str,
        query: &CampaignQuery,
        token: &PageToken,
    ) -> Result<T> {
        let invalid = |why: &str| Self::invalid(source_id, why);
        let body = token
            .as_str()
            .strip_prefix(self.prefix)
            .ok_or_else(|| invalid("unknown format"))?;
        let opened: Opened<T> = if self.base64 {
            let json = URL_SAFE_NO_PAD
                .decode(body)
                .map_err(|_| invalid("not base64url"))?;
            serde_json::from_slice(&json)
        } else {
            serde_json::from_str(body)
        }
        .map_err(|_| invalid("unreadable contents"))?;
        if opened.q != fingerprint(query) {
            return Err(invalid("it belongs to a different query"));
        }
        Ok(opened.body)
    }

    /// The error for a token of `source_id` that is not one it issued for
    /// this query, for `why`.
    pub fn invalid(source_id: &str, why: &str) -> SourceError {
        SourceError::new(
            ErrorKind::InvalidCursor,
            source_id,
            format!("page token not issued by this source for this query: {why}"),
        )
    }
}

fn fingerprint(query: &CampaignQuery) -> String {
    format!("{:016x}", query.fingerprint())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Pos {
        #[serde(rename = "ch")]
        channels: Vec<u64>,
    }

    #[test]
    fn tokens_keep_their_layout_and_refuse_what_they_did_not_issue() {
        let query = CampaignQuery::builder()
            .status(Status::Ready)
            .build()
            .unwrap();
        let pos = Pos {
            channels: vec![1, 2],
        };
        let plain = TokenEnvelope::json("p1:");
        let token = plain.seal(&query, &pos);
        // The fingerprint first, then the position's own fields.
        let expected = format!("p1:{{\"q\":\"{:016x}\",\"ch\":[1,2]}}", query.fingerprint());
        assert_eq!(token.as_str(), expected);
        assert_eq!(plain.open::<Pos>("s", &query, &token).unwrap(), pos);
        let sealed = TokenEnvelope::base64("b1.");
        let token = sealed.seal(&query, &pos);
        assert_eq!(sealed.open::<Pos>("s", &query, &token).unwrap(), pos);
        let why = |token: &str| {
            let e = sealed
                .open::<Pos>("s", &query, &PageToken::new(token))
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidCursor);
            e.to_string()
        };
        assert!(why("").contains("unknown format"));
        assert!(why("b1.!!").contains("not base64url"));
        assert!(why("b1.e30").contains("unreadable contents"));
        let other = sealed.seal(&CampaignQuery::all(), &pos);
        assert!(why(other.as_str()).contains("different query"));
    }
}
