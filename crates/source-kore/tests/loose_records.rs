//! Record and page shapes the spec leaves loose but whose meaning is clear,
//! decoded to what they mean rather than failing or dropping data.

use campaign_core::{Channel, ListRef, RecordIssues};
use source_kore::{decode_page, decode_page_with};

/// Loose but meaningful shapes decode (one-pass and careful paths
/// alike, since `decode_page` takes whichever applies).
#[test]
fn loose_shapes_decode_to_what_they_mean() {
    let page = |data: &str| {
        let body = format!(r#"{{"status":"success","data":{data}}}"#);
        decode_page("k", "POST x", &Channel::Voice, body.as_bytes())
    };
    let empty = page(r#"{"results":null,"hasMore":false,"totalResults":0}"#).unwrap();
    assert!(empty.campaigns.is_empty());
    assert_eq!(empty.has_more, Some(false));
    let one = |record: &str| {
        let mut page = page(&format!(r#"{{"results":[{record}]}}"#)).unwrap();
        assert_eq!(page.campaigns.len(), 1, "{record}");
        page.campaigns.remove(0)
    };
    assert_eq!(one(r#"{"_id":"","id":"cd-1"}"#).id.native, "cd-1");
    assert_eq!(one(r#"{"_id":"cd-2","id":""}"#).id.native, "cd-2");
    assert_eq!(one(r#"{"_id":null,"id":"cd-3"}"#).id.native, "cd-3");
    assert_eq!(
        one(r#"{"id":"cd-4","contactLists":["a",null]}"#).contact_lists,
        [ListRef::named("a")]
    );
    assert_eq!(one(r#"{"id":"cd-5","priority":5.0}"#).priority, Some(5));
    for (priority, want) in [
        ("2.5", None),
        ("300.0", None),
        ("-1.0", None),
        ("0.0", Some(0)),
    ] {
        let record = format!(r#"{{"id":"cd-6","priority":{priority}}}"#);
        assert_eq!(one(&record).priority, want, "{priority}");
    }
    let mut issues = RecordIssues::new(false);
    let body = br#"{"data":{"results":[{"_id":"","id":""},{"id":7,"_id":""}]}}"#;
    decode_page_with("k", "POST x", &Channel::Voice, body, &mut issues).unwrap();
    let ids: Vec<Option<String>> = issues
        .into_warnings()
        .into_iter()
        .map(|w| w.skipped.unwrap().id)
        .collect();
    assert_eq!(
        ids,
        [None, Some("7".to_owned())],
        "skipped records name their id"
    );
}
