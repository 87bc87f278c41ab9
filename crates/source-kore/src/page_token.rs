//! Page tokens: where each channel's request stream stands.
//!
//! A token records, per channel the query covers, the server offset (`skip`)
//! of the next campaign to read, whether the channel is finished, the id of
//! the channel's first campaign (to catch a server that ignores `skip`) and
//! the `totalResults` the walk started with (to warn when it drifts). It is
//! `kore1.` plus base64url of compact JSON, bound to the query's
//! fingerprint so it cannot resume a different query.

use campaign_core::paging::{LocalPosition, TokenEnvelope};
use campaign_core::{CampaignQuery, Channel, PageToken, SourceError};
use serde::{Deserialize, Serialize};

use crate::config::MAX_PAGE_SIZE;

const TOKENS: TokenEnvelope = TokenEnvelope::base64("kore1.");

/// The largest offset a page token may hold (2^53, JavaScript's largest exact integer).
const MAX_SKIP: u64 = 1 << 53;

/// One channel's position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChannelPos {
    /// `voice` or `sms`.
    #[serde(rename = "c")]
    pub(crate) channel: String,
    /// Server offset of the next campaign.
    #[serde(rename = "s")]
    pub(crate) skip: u64,
    /// Nothing more to read in this channel.
    #[serde(rename = "d", default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) done: bool,
    /// Id of the first campaign at offset 0.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub(crate) anchor: Option<String>,
    /// `totalResults` reported by the channel's first page.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub(crate) total: Option<u64>,
    /// The listing moved during the walk (`totalResults` changed): from here
    /// pages are read one after another, never ahead. Set, it also makes the
    /// token differ from the announced one, which drops the walker's plan.
    #[serde(rename = "r", default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) resync: bool,
    /// Server offset of the page before this one, where the run of equal
    /// sort keys this page may continue is looked up.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub(crate) prev: Option<u64>,
    /// Whether the page before was read page by page (`resync`), which
    /// tells which read of it this page looks back at.
    #[serde(rename = "q", default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) prev_resync: bool,
    /// The walk this position belongs to (random, from its first page):
    /// server pages are shared between the pages of one walk only, so a new
    /// walk always reads the server afresh.
    #[serde(rename = "w", default)]
    pub(crate) walk: u64,
    /// Set once the server's order was found broken: the rest of the
    /// channel is read whole and sorted locally. Its `page` is the server
    /// offset of the page where the server-ordered part of the walk stopped.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub(crate) local: Option<LocalPosition>,
    /// The `limit` asked after the channel's first page when the server
    /// echoed a smaller one there (it caps pages): asking its own size keeps
    /// `page` and `skip` on the same records. `None`: the query's size.
    #[serde(rename = "z", default, skip_serializing_if = "Option::is_none")]
    pub(crate) size: Option<u32>,
}

impl ChannelPos {
    /// The start of `channel`'s listing.
    pub(crate) fn start(channel: &Channel) -> Self {
        Self {
            channel: channel.as_str().to_owned(),
            skip: 0,
            done: false,
            anchor: None,
            total: None,
            resync: false,
            prev: None,
            prev_resync: false,
            walk: 0,
            local: None,
            size: None,
        }
    }

    /// The `limit` to ask for this walk's page at `skip`, `asked` being the
    /// query's: the first page is asked with it (it shows whether the server
    /// caps pages), the later ones with [`size`](Self::size) when set, so
    /// each page is read, and read again, with the same limit.
    pub(crate) fn limit_at(&self, skip: u64, asked: u32) -> u32 {
        match self.size {
            Some(size) if skip > 0 => size,
            _ => asked,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Position {
    ch: Vec<ChannelPos>,
}

/// Encodes the positions of a walk over `query`.
pub(crate) fn encode(query: &CampaignQuery, channels: Vec<ChannelPos>) -> PageToken {
    TOKENS.seal(query, &Position { ch: channels })
}

/// Decodes a token issued for `query` over `channels` (in that order);
/// `None` gives the start of every channel.
pub(crate) fn decode(
    source_id: &str,
    query: &CampaignQuery,
    channels: &[Channel],
    token: Option<&PageToken>,
) -> Result<Vec<ChannelPos>, SourceError> {
    let Some(token) = token else {
        return Ok(channels.iter().map(ChannelPos::start).collect());
    };
    let invalid = |why: &str| TokenEnvelope::invalid(source_id, why);
    let position: Position = TOKENS.open(source_id, query, token)?;
    let same_channels = position.ch.len() == channels.len()
        && position
            .ch
            .iter()
            .zip(channels)
            .all(|(pos, channel)| pos.channel == channel.as_str());
    if !same_channels {
        return Err(invalid("it covers different channels"));
    }
    // The API's numbers are JavaScript numbers: no offset beyond 2^53 is real.
    let far = |n: &u64| *n > MAX_SKIP;
    let bad_size = |size: &u32| !(1..=MAX_PAGE_SIZE).contains(size);
    if position
        .ch
        .iter()
        .any(|pos| pos.size.as_ref().is_some_and(bad_size))
    {
        return Err(invalid("its page size is out of range"));
    }
    if position.ch.iter().any(|pos| {
        far(&pos.skip)
            || pos.prev.as_ref().is_some_and(far)
            || pos.local.as_ref().is_some_and(|l| far(&l.page))
    }) {
        return Err(invalid("its offset is out of range"));
    }
    Ok(position.ch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_core::{ErrorKind, Status};

    #[test]
    fn tokens_round_trip_and_are_bound_to_query_and_channels() {
        let query = CampaignQuery::builder()
            .status(Status::Ready)
            .build()
            .unwrap();
        let channels = [Channel::Voice, Channel::Sms];
        let mut positions: Vec<ChannelPos> = channels.iter().map(ChannelPos::start).collect();
        positions[0].skip = 50;
        positions[0].anchor = Some("cd-1".into());
        positions[1].done = true;
        let token = encode(&query, positions.clone());
        assert_eq!(
            decode("k", &query, &channels, Some(&token)).unwrap(),
            positions
        );
        let other = CampaignQuery::all();
        let kind = |r: Result<Vec<ChannelPos>, SourceError>| r.unwrap_err().kind();
        assert_eq!(
            kind(decode("k", &other, &channels, Some(&token))),
            ErrorKind::InvalidCursor
        );
        assert_eq!(
            kind(decode("k", &query, &[Channel::Voice], Some(&token))),
            ErrorKind::InvalidCursor
        );
        let mut far = positions.clone();
        far[0].skip = u64::MAX;
        let far = encode(&query, far);
        assert_eq!(
            kind(decode("k", &query, &channels, Some(&far))),
            ErrorKind::InvalidCursor
        );
        for size in [0, MAX_PAGE_SIZE + 1] {
            let mut sized = positions.clone();
            sized[0].size = Some(size);
            let sized = encode(&query, sized);
            assert_eq!(
                kind(decode("k", &query, &channels, Some(&sized))),
                ErrorKind::InvalidCursor
            );
        }
        for bogus in ["", "kore1.!!", "kore1.e30", "12"] {
            let bogus = PageToken::new(bogus);
            assert_eq!(
                kind(decode("k", &query, &channels, Some(&bogus))),
                ErrorKind::InvalidCursor
            );
        }
    }
}
