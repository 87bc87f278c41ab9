//! proptest versions of the fuzz targets in `fuzz/` (which CI does not run):
//! arbitrary and mutated inputs never panic the CMS and Kore decoders, the
//! aggregate cursor or the config parser, and their errors are typed. The
//! properties themselves live in `campaign_e2e::properties`, shared with the
//! fuzz targets.

use std::sync::LazyLock;

use campaign_core::{Campaign, Channel, RecordIssues};
use campaign_e2e::properties::{
    cms_decode, config_parse, kore_decode, CursorRig, CMS_SAMPLE, CONFIG_SAMPLE, KORE_SMS_SAMPLE,
    KORE_VOICE_SAMPLE,
};
use campaign_testkit::mutation::{apply, edits};
use proptest::prelude::*;

static CURSORS: LazyLock<(CursorRig, Vec<String>)> = LazyLock::new(|| {
    let rig = CursorRig::new();
    let cursors = rig.sample_cursors();
    (rig, cursors)
});

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn cms_decoder_survives_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        cms_decode(&body);
    }

    #[test]
    fn cms_decoder_survives_mutated_samples(edits in edits()) {
        cms_decode(&apply(CMS_SAMPLE.as_bytes(), &edits));
    }

    #[test]
    fn kore_decoder_survives_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        kore_decode(&body);
    }

    #[test]
    fn kore_decoder_survives_mutated_samples(sms in any::<bool>(), edits in edits()) {
        let (channel, sample) = if sms { (1u8, KORE_SMS_SAMPLE) } else { (0u8, KORE_VOICE_SAMPLE) };
        let mut data = vec![channel];
        data.extend(apply(sample.as_bytes(), &edits));
        kore_decode(&data);
    }

    #[test]
    fn any_cursor_text_is_refused_or_resumes_cleanly(text in ".{0,200}") {
        CURSORS.0.check(&text);
    }

    #[test]
    fn cursor_alphabet_text_is_refused_or_resumes_cleanly(text in "[A-Za-z0-9_-]{1,400}") {
        CURSORS.0.check(&text);
    }

    #[test]
    fn mutated_cursors_are_refused_or_resume_cleanly(index in any::<prop::sample::Index>(), edits in edits()) {
        let (rig, cursors) = &*CURSORS;
        let sample = index.get(cursors);
        let mutated = apply(sample.as_bytes(), &edits);
        rig.check(&String::from_utf8_lossy(&mutated));
    }

    #[test]
    fn config_parser_survives_arbitrary_text(text in "(?s).{0,400}") {
        config_parse(&text);
    }

    #[test]
    fn config_parser_survives_mutated_samples(edits in edits()) {
        config_parse(&String::from_utf8_lossy(&apply(CONFIG_SAMPLE.as_bytes(), &edits)));
    }
}

/// Each spec sample decodes into exactly its records: the same ids and
/// names in the same order, each record kept whole in `raw`, none skipped.
/// (The properties above accept a typed error; this does not.)
#[test]
fn the_samples_themselves_pass() {
    fn records(sample: &str, pointer: &str) -> Vec<serde_json::Value> {
        let value: serde_json::Value = serde_json::from_str(sample).unwrap();
        value.pointer(pointer).unwrap().as_array().unwrap().clone()
    }
    fn check(
        campaigns: &[Campaign],
        records: &[serde_json::Value],
        id_keys: &[&str],
        name_key: &str,
    ) {
        assert_eq!(campaigns.len(), records.len());
        assert!(!records.is_empty());
        for (campaign, record) in campaigns.iter().zip(records) {
            let id = id_keys.iter().find_map(|key| match &record[*key] {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
            assert_eq!(Some(campaign.id.native.clone()), id);
            assert_eq!(campaign.name, record[name_key].as_str().unwrap());
            assert_eq!(campaign.raw.as_ref().unwrap().to_value(), *record);
        }
    }
    let mut issues = RecordIssues::new(false);
    let cms = source_cms::decode_campaigns_with("cms", "GET", CMS_SAMPLE.as_bytes(), &mut issues)
        .expect("the CMS sample decodes");
    check(
        &cms,
        &records(CMS_SAMPLE, ""),
        &["campaignContextId"],
        "campaignContextName",
    );
    for (channel, sample) in [
        (Channel::Voice, KORE_VOICE_SAMPLE),
        (Channel::Sms, KORE_SMS_SAMPLE),
    ] {
        let page =
            source_kore::decode_page_with("kore", "POST", &channel, sample.as_bytes(), &mut issues)
                .expect("the Kore sample decodes");
        check(
            &page.campaigns,
            &records(sample, "/data/results"),
            &["_id", "id"],
            "name",
        );
        assert!(page.campaigns.iter().all(|c| c.channel == channel));
    }
    assert_eq!(issues.skipped(), 0, "no sample record is skipped");

    cms_decode(CMS_SAMPLE.as_bytes());
    kore_decode(&[[0u8].as_slice(), KORE_VOICE_SAMPLE.as_bytes()].concat());
    kore_decode(&[[1u8].as_slice(), KORE_SMS_SAMPLE.as_bytes()].concat());
    config_parse(CONFIG_SAMPLE);
    let (rig, cursors) = &*CURSORS;
    assert!(cursors.len() >= 3, "the fixture walk has several pages");
    for cursor in cursors {
        rig.check(cursor);
    }
    // `CAMPAIGNS_WRITE_SEEDS=fuzz/seeds` writes these inputs as the fuzz
    // targets' seed corpora (see docs/RELIABILITY.md).
    if let Some(dir) = std::env::var_os("CAMPAIGNS_WRITE_SEEDS") {
        let dir = std::path::PathBuf::from(dir);
        let write = |target: &str, name: String, bytes: &[u8]| {
            let target = dir.join(target);
            std::fs::create_dir_all(&target).expect("seed dir");
            std::fs::write(target.join(name), bytes).expect("seed file");
        };
        write("cms_decode", "sample.json".into(), CMS_SAMPLE.as_bytes());
        write(
            "kore_decode",
            "voice.json".into(),
            &[[0u8].as_slice(), KORE_VOICE_SAMPLE.as_bytes()].concat(),
        );
        write(
            "kore_decode",
            "sms.json".into(),
            &[[1u8].as_slice(), KORE_SMS_SAMPLE.as_bytes()].concat(),
        );
        write(
            "config_parse",
            "campaigns.toml".into(),
            CONFIG_SAMPLE.as_bytes(),
        );
        for (i, cursor) in cursors.iter().enumerate() {
            write("aggregate_cursor", format!("cursor-{i}"), cursor.as_bytes());
        }
    }
}
