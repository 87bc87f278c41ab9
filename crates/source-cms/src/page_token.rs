//! Page tokens that resume a local listing exactly.
//!
//! A token holds the query's fingerprint and the sort key of the last
//! campaign of its page (the sorted field and the id that breaks ties), not
//! an offset: the next page starts at the first campaign ordered after that
//! key. So a campaign added or removed between two downloads shifts nothing:
//! campaigns present in both are listed once, none is skipped.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use campaign_core::{
    Campaign, CampaignId, CampaignQuery, Channel, ErrorKind, PageToken, SortField, SourceError,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::PROVIDER;

const VERSION: u8 = 1;

#[derive(Serialize, Deserialize)]
struct TokenBody {
    /// Format version.
    v: u8,
    /// The query's fingerprint, as hex.
    q: String,
    /// Native id of the last campaign of the page.
    id: String,
    /// Its name, when the query sorts by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    /// Its sorted timestamp, when the query sorts by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<DateTime<Utc>>,
}

/// The token after `last` for `query`.
pub(crate) fn encode(query: &CampaignQuery, last: &Campaign) -> PageToken {
    let (n, t) = match query.sort().map(|s| s.field) {
        None => (None, None),
        Some(SortField::Name) => (Some(last.name.clone()), None),
        Some(SortField::CreatedAt) => (None, last.created_at),
        Some(SortField::UpdatedAt) => (None, last.updated_at),
    };
    let body = TokenBody {
        v: VERSION,
        q: format!("{:016x}", query.fingerprint()),
        id: last.id.native.clone(),
        n,
        t,
    };
    // Serializing plain strings and timestamps cannot fail.
    let json = serde_json::to_vec(&body).unwrap_or_default();
    PageToken::new(URL_SAFE_NO_PAD.encode(json))
}

/// A stand-in for the last campaign a token saw: equal to it under
/// `query.compare`, so the next page starts right after it.
pub(crate) fn decode(
    source_id: &str,
    query: &CampaignQuery,
    token: &PageToken,
) -> Result<Campaign, SourceError> {
    let invalid = |why: &str| {
        SourceError::new(
            ErrorKind::InvalidCursor,
            source_id,
            format!("page token {why}"),
        )
        .with_request("resume from a page token")
    };
    let json = URL_SAFE_NO_PAD
        .decode(token.as_str())
        .map_err(|_| invalid("is not one this source issued"))?;
    let body: TokenBody =
        serde_json::from_slice(&json).map_err(|_| invalid("is not one this source issued"))?;
    if body.v != VERSION {
        return Err(invalid("has an unsupported version"));
    }
    if body.q != format!("{:016x}", query.fingerprint()) {
        return Err(invalid(
            "was issued for a different query (filters or sort differ)",
        ));
    }
    let field = query.sort().map(|s| s.field);
    let mut probe = Campaign::new(
        CampaignId::new(source_id, body.id),
        PROVIDER,
        String::new(),
        Channel::Other(String::new()),
    );
    match field {
        None => {}
        Some(SortField::Name) => {
            probe.name = body
                .n
                .ok_or_else(|| invalid("lacks the sort key of its query"))?;
        }
        Some(SortField::CreatedAt) => probe.created_at = body.t,
        Some(SortField::UpdatedAt) => probe.updated_at = body.t,
    }
    Ok(probe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_core::Sort;

    #[test]
    fn tokens_round_trip_and_refuse_other_queries() {
        let by_name = CampaignQuery::builder()
            .sort(Sort::asc(SortField::Name))
            .build()
            .unwrap();
        let mut c = Campaign::new(
            CampaignId::new("cms", "7"),
            PROVIDER,
            "Renewals ü",
            Channel::Voice,
        );
        c.created_at = Some("2026-01-01T00:00:00Z".parse().unwrap());
        let token = encode(&by_name, &c);
        let probe = decode("cms", &by_name, &token).unwrap();
        assert!(by_name.compare(&probe, &c).is_eq());

        let by_created = CampaignQuery::builder()
            .sort(Sort::desc(SortField::CreatedAt))
            .build()
            .unwrap();
        let probe = decode("cms", &by_created, &encode(&by_created, &c)).unwrap();
        assert!(by_created.compare(&probe, &c).is_eq());

        let e = decode("cms", &by_created, &token).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidCursor);
        assert!(e.to_string().contains("different query"), "{e}");
        for garbage in ["", "!!!", "bm90IGpzb24", "conformance-invalid-token"] {
            let e = decode("cms", &by_name, &PageToken::new(garbage)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidCursor, "{garbage}");
        }
        // Page size is not part of the query's identity: it may change mid-walk.
        let bigger = by_name.to_builder().page_size(50).build().unwrap();
        assert!(decode("cms", &bigger, &token).is_ok());
    }
}
