//! The CLI's TOML config parser on any text: a config or an error.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        campaign_e2e::properties::config_parse(text);
    }
});
