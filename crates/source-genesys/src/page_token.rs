//! Page tokens: where a walk stands.
//!
//! A token records the server page to read (1-based `pageNumber`) and its
//! size, the walk it belongs to (server pages are shared within a walk
//! only), the id of the listing's first campaign (to catch a server that
//! ignores `pageNumber`), the `total` the walk started with (to warn when it
//! moves), and, once the listing is sorted locally, where in that listing
//! the walk stands. It is `gen1.` plus base64url of compact JSON, bound to
//! the query's fingerprint so it cannot resume a different query.

use campaign_core::paging::{LocalPosition, TokenEnvelope};
use campaign_core::{CampaignQuery, PageToken, SourceError};
use serde::{Deserialize, Serialize};

use crate::config::MAX_PAGE_SIZE;

const TOKENS: TokenEnvelope = TokenEnvelope::base64("gen1.");

/// The largest page number a token may hold (`pageNumber` is an int32).
const MAX_PAGE: u64 = i32::MAX as u64;

/// A walk's position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pos {
    /// The server page to read, 1-based.
    #[serde(rename = "p")]
    pub(crate) page: u64,
    /// The `pageSize` every request of the walk sends.
    #[serde(rename = "s")]
    pub(crate) size: u32,
    /// The walk (random, from its first page).
    #[serde(rename = "w", default)]
    pub(crate) walk: u64,
    /// Id of the first campaign of page 1.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub(crate) anchor: Option<String>,
    /// `total` reported by page 1.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub(crate) total: Option<u64>,
    /// Set once the listing is read whole and sorted locally. Its `page`
    /// is the server page where the server-ordered part of the walk stopped
    /// (page 1, index 0: nothing was listed in the server's order).
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub(crate) local: Option<LocalPosition>,
}

impl Pos {
    /// The start of a walk with pages of `size`.
    pub(crate) fn start(size: u32) -> Self {
        Self {
            page: 1,
            size,
            walk: 0,
            anchor: None,
            total: None,
            local: None,
        }
    }
}

/// Encodes `pos` of a walk over `query`.
pub(crate) fn encode(query: &CampaignQuery, pos: &Pos) -> PageToken {
    TOKENS.seal(query, pos)
}

/// Decodes a token issued for `query`; `None` gives the start of a walk
/// with pages of `size`.
pub(crate) fn decode(
    source_id: &str,
    query: &CampaignQuery,
    size: u32,
    token: Option<&PageToken>,
) -> Result<Pos, SourceError> {
    let Some(token) = token else {
        return Ok(Pos::start(size));
    };
    let pos: Pos = TOKENS.open(source_id, query, token)?;
    let pages_ok = |page: u64| (1..=MAX_PAGE).contains(&page);
    if !pages_ok(pos.page) || !(1..=MAX_PAGE_SIZE).contains(&pos.size) {
        return Err(TokenEnvelope::invalid(
            source_id,
            "its page is out of range",
        ));
    }
    if pos.local.as_ref().is_some_and(|l| !pages_ok(l.page)) {
        return Err(TokenEnvelope::invalid(
            source_id,
            "its page is out of range",
        ));
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_core::paging::LocalPosition as LocalPos;
    use campaign_core::{ErrorKind, Status};

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_query() {
        let query = CampaignQuery::builder()
            .status(Status::Active)
            .build()
            .unwrap();
        let mut pos = Pos::start(25);
        pos.page = 4;
        pos.walk = 7;
        pos.anchor = Some("c-1".into());
        pos.local = Some(LocalPos {
            page: 2,
            index: 3,
            after: None,
        });
        let token = encode(&query, &pos);
        assert_eq!(decode("g", &query, 100, Some(&token)).unwrap(), pos);
        assert_eq!(decode("g", &query, 100, None).unwrap(), Pos::start(100));
        let kind = |r: Result<Pos, SourceError>| r.unwrap_err().kind();
        assert_eq!(
            kind(decode("g", &CampaignQuery::all(), 25, Some(&token))),
            ErrorKind::InvalidCursor
        );
        for bad in [(0, 25), (MAX_PAGE + 1, 25), (1, 0), (1, 101)] {
            let mut p = pos.clone();
            (p.page, p.size) = bad;
            let t = encode(&query, &p);
            assert_eq!(
                kind(decode("g", &query, 25, Some(&t))),
                ErrorKind::InvalidCursor
            );
        }
        for bogus in ["", "gen1.!!", "gen1.e30", "kore1.e30"] {
            let t = PageToken::new(bogus);
            assert_eq!(
                kind(decode("g", &query, 25, Some(&t))),
                ErrorKind::InvalidCursor
            );
        }
    }
}
