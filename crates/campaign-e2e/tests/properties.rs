//! proptest versions of the fuzz targets in `fuzz/` (which CI does not run):
//! arbitrary and mutated inputs never panic the CMS and Kore decoders, the
//! aggregate cursor or the config parser, and their errors are typed. The
//! properties themselves live in `campaign_e2e::properties`, shared with the
//! fuzz targets.

use std::sync::LazyLock;

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

#[test]
fn the_samples_themselves_pass() {
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
