//! The aggregate's opaque page cursor: where each source stands.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use campaign_core::{
    stable_checksum, CampaignId, ErrorKind, PageToken, SourceError, SourcePosition,
};
use serde::{Deserialize, Serialize};

/// The cursor format this crate writes and reads.
const VERSION: u8 = 1;
/// Bytes of checksum appended to the JSON before encoding.
const CHECKSUM_LEN: usize = 8;

/// An opaque position in an aggregate's listing, safe to put in a URL.
///
/// It records, per source, the position right after the last campaign the
/// aggregate emitted from it (or that the source is done), the query it
/// belongs to and a checksum. Hand it back to
/// [`Aggregator::page`](crate::Aggregator::page) to continue; a cursor from
/// another query or aggregate, or an edited one, is refused with
/// [`ErrorKind::InvalidCursor`].
///
/// The checksum detects corruption and casual edits; it is not a signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// The cursor's text (URL-safe base64, no padding).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps cursor text received from a caller. Only the shape is checked
    /// here (non-empty, URL-safe alphabet); [`Aggregator::page`](crate::Aggregator::page)
    /// validates the content against its query and sources.
    pub fn parse(text: &str) -> Result<Self, SourceError> {
        let text = text.trim();
        let valid = !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(SourceError::new(
                ErrorKind::InvalidCursor,
                "aggregate",
                "a cursor is non-empty URL-safe base64 text (A-Z, a-z, 0-9, '-', '_')",
            ));
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Cursor {
    type Err = SourceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// Where one source stands in a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mark {
    /// Continue from this position.
    At(SourcePosition),
    /// The source has nothing more.
    Done,
}

/// The decoded content of a [`Cursor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CursorState {
    /// Per source, in the aggregate's source order, one mark per part the
    /// source is walked in (one for a source walked whole).
    pub(crate) marks: Vec<Vec<Mark>>,
    /// The last campaign emitted, so a copy of it reached through another
    /// path right after a page boundary is not emitted twice.
    pub(crate) last: Option<CampaignId>,
    /// The page size the sources were asked for when the walk began. Their
    /// page tokens and offsets only make sense with it, so a resumed walk
    /// keeps asking for it even if the caller changes the aggregate's page size.
    pub(crate) source_page_size: u32,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    v: u8,
    /// The aggregate's id.
    a: String,
    /// The query fingerprint, in hex.
    q: String,
    s: Vec<WireSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    b: Option<(String, String)>,
    /// The page size the sources are asked for.
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct WireSource {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<PageToken>,
    #[serde(default, skip_serializing_if = "is_zero")]
    off: usize,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    done: bool,
    /// Per part, for a source walked in several parts that is not done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parts: Option<Vec<WirePart>>,
}

#[derive(Serialize, Deserialize)]
struct WirePart {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<PageToken>,
    #[serde(default, skip_serializing_if = "is_zero")]
    off: usize,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    done: bool,
}

impl WirePart {
    fn new(mark: &Mark) -> Self {
        match mark {
            Mark::At(position) => Self {
                page: position.page.clone(),
                off: position.offset,
                done: false,
            },
            Mark::Done => Self {
                page: None,
                off: 0,
                done: true,
            },
        }
    }

    fn mark(self) -> Mark {
        if self.done {
            Mark::Done
        } else {
            Mark::At(SourcePosition {
                page: self.page,
                offset: self.off,
            })
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Encodes and validates cursors for one aggregate and query.
pub(crate) struct CursorCodec<'a> {
    pub(crate) aggregate: &'a str,
    pub(crate) source_ids: Vec<&'a str>,
    /// Per source, how many parts it is walked in for this query.
    pub(crate) parts: Vec<usize>,
    pub(crate) fingerprint: u64,
}

impl CursorCodec<'_> {
    fn invalid(&self, message: impl Into<String>) -> SourceError {
        SourceError::new(ErrorKind::InvalidCursor, self.aggregate, message)
    }

    pub(crate) fn encode(&self, state: &CursorState) -> Cursor {
        let wire = Wire {
            v: VERSION,
            a: self.aggregate.to_owned(),
            q: format!("{:016x}", self.fingerprint),
            s: self
                .source_ids
                .iter()
                .zip(&state.marks)
                .map(|(id, marks)| {
                    // A source walked whole, or done in every part, keeps
                    // the compact one-position form.
                    let whole = match marks.as_slice() {
                        [one] => Some(WirePart::new(one)),
                        all if all.iter().all(|m| *m == Mark::Done) => {
                            Some(WirePart::new(&Mark::Done))
                        }
                        _ => None,
                    };
                    match whole {
                        Some(part) => WireSource {
                            id: (*id).to_owned(),
                            page: part.page,
                            off: part.off,
                            done: part.done,
                            parts: None,
                        },
                        None => WireSource {
                            id: (*id).to_owned(),
                            page: None,
                            off: 0,
                            done: false,
                            parts: Some(marks.iter().map(WirePart::new).collect()),
                        },
                    }
                })
                .collect(),
            b: state
                .last
                .as_ref()
                .map(|id| (id.source.to_string(), id.native.clone())),
            p: state.source_page_size,
        };
        // Serializing plain strings, numbers and bools cannot fail.
        let mut bytes = serde_json::to_vec(&wire).unwrap_or_default();
        let sum = stable_checksum(&bytes);
        bytes.extend_from_slice(&sum.to_be_bytes());
        Cursor(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub(crate) fn decode(&self, cursor: &Cursor) -> Result<CursorState, SourceError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor.as_str())
            .map_err(|e| self.invalid(format!("cursor is not URL-safe base64: {e}")))?;
        if bytes.len() <= CHECKSUM_LEN {
            return Err(self.invalid("cursor is too short to be one of ours"));
        }
        let (json, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        let mut expected = [0u8; CHECKSUM_LEN];
        expected.copy_from_slice(sum);
        if stable_checksum(json) != u64::from_be_bytes(expected) {
            return Err(self
                .invalid("cursor checksum does not match: it was corrupted, truncated or edited"));
        }
        let wire: Wire = serde_json::from_slice(json)
            .map_err(|e| self.invalid(format!("cursor content is malformed: {e}")))?;
        if wire.v != VERSION {
            return Err(self.invalid(format!(
                "cursor format version {} is not supported (expected {VERSION})",
                wire.v
            )));
        }
        if wire.a != self.aggregate {
            return Err(self.invalid(format!(
                "cursor was made by aggregate {:?}, not {:?}",
                wire.a, self.aggregate
            )));
        }
        if wire.q != format!("{:016x}", self.fingerprint) {
            return Err(self.invalid(
                "cursor was made for a different query (filters or sort changed); \
                 start again without a cursor",
            ));
        }
        self.marks(wire)
    }

    fn marks(&self, wire: Wire) -> Result<CursorState, SourceError> {
        if wire.p == 0 {
            return Err(self.invalid("cursor records a source page size of 0"));
        }
        let mut marks: Vec<Option<Vec<Mark>>> = vec![None; self.source_ids.len()];
        for entry in wire.s {
            let Some(index) = self.source_ids.iter().position(|id| *id == entry.id) else {
                return Err(self.invalid(format!(
                    "cursor names source {:?}, which this aggregate does not have",
                    entry.id
                )));
            };
            if marks[index].is_some() {
                return Err(self.invalid(format!("cursor names source {:?} twice", entry.id)));
            }
            let parts = self.parts.get(index).copied().unwrap_or(1);
            let whole = WirePart {
                page: entry.page,
                off: entry.off,
                done: entry.done,
            };
            marks[index] = Some(match entry.parts {
                _ if whole.done => vec![Mark::Done; parts],
                None if parts == 1 => vec![whole.mark()],
                Some(recorded) if recorded.len() == parts && parts > 1 => {
                    recorded.into_iter().map(WirePart::mark).collect()
                }
                recorded => {
                    return Err(self.invalid(format!(
                        "cursor records source {:?} in {} part(s), but it is now walked in \
                         {parts}; start again without a cursor",
                        entry.id,
                        recorded.map_or(1, |r| r.len())
                    )))
                }
            });
        }
        let marks = marks
            .into_iter()
            .zip(&self.source_ids)
            .map(|(mark, id)| {
                mark.ok_or_else(|| {
                    self.invalid(format!(
                        "cursor has no position for source {id:?}; the aggregate's sources \
                         changed since it was made"
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(CursorState {
            marks,
            last: wire
                .b
                .map(|(source, native)| CampaignId::new(source, native)),
            source_page_size: wire.p,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(fingerprint: u64) -> CursorCodec<'static> {
        CursorCodec {
            aggregate: "all",
            source_ids: vec!["a", "b", "k"],
            parts: vec![1, 1, 2],
            fingerprint,
        }
    }

    fn state() -> CursorState {
        CursorState {
            marks: vec![
                vec![Mark::At(SourcePosition {
                    page: Some(PageToken::new("p2")),
                    offset: 3,
                })],
                vec![Mark::Done],
                vec![
                    Mark::Done,
                    Mark::At(SourcePosition {
                        page: Some(PageToken::new("k9")),
                        offset: 1,
                    }),
                ],
            ],
            last: Some(CampaignId::new("a", "7")),
            source_page_size: 25,
        }
    }

    #[test]
    fn round_trips_and_is_url_safe() {
        let cursor = codec(42).encode(&state());
        assert!(Cursor::parse(cursor.as_str()).is_ok());
        assert_eq!(codec(42).decode(&cursor).unwrap(), state());
    }

    #[test]
    fn refuses_other_query_tampering_and_garbage() {
        let cursor = codec(42).encode(&state());
        let other = codec(43).decode(&cursor).unwrap_err();
        assert_eq!(other.kind(), ErrorKind::InvalidCursor);
        assert!(other.message().contains("different query"), "{other}");

        let mut bytes = URL_SAFE_NO_PAD.decode(cursor.as_str()).unwrap();
        bytes[10] ^= 0x01;
        let tampered = Cursor(URL_SAFE_NO_PAD.encode(bytes));
        let error = codec(42).decode(&tampered).unwrap_err();
        assert!(error.message().contains("checksum"), "{error}");

        let garbage = Cursor::parse("not-a-cursor").unwrap();
        let error = codec(42).decode(&garbage).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidCursor);
        assert_eq!(error.source_id(), "all");

        assert!(Cursor::parse("has spaces/and+slashes").is_err());
        assert!(Cursor::parse("").is_err());
    }

    #[test]
    fn refuses_cursor_for_other_sources() {
        let cursor = codec(42).encode(&state());
        let fewer = CursorCodec {
            aggregate: "all",
            source_ids: vec!["a", "c", "k"],
            parts: vec![1, 1, 2],
            fingerprint: 42,
        };
        let error = fewer.decode(&cursor).unwrap_err();
        assert!(error.message().contains("\"b\""), "{error}");
        let more = CursorCodec {
            aggregate: "all",
            source_ids: vec!["a", "b", "k", "c"],
            parts: vec![1, 1, 2, 1],
            fingerprint: 42,
        };
        let error = more.decode(&cursor).unwrap_err();
        assert!(error.message().contains("\"c\""), "{error}");
    }

    #[test]
    fn refuses_cursor_for_other_partitioning() {
        let cursor = codec(42).encode(&state());
        let whole = CursorCodec {
            parts: vec![1, 1, 1],
            ..codec(42)
        };
        let error = whole.decode(&cursor).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidCursor);
        assert!(error.message().contains("\"k\" in 2 part(s)"), "{error}");
        let split = CursorCodec {
            parts: vec![2, 1, 2],
            ..codec(42)
        };
        let error = split.decode(&cursor).unwrap_err();
        assert!(error.message().contains("\"a\" in 1 part(s)"), "{error}");
    }

    #[test]
    fn a_source_done_in_every_part_is_recorded_once() {
        let mut done = state();
        done.marks[2] = vec![Mark::Done, Mark::Done];
        let cursor = codec(42).encode(&done);
        assert_eq!(codec(42).decode(&cursor).unwrap(), done);
    }
}
