//! Kore response decoding (first byte: channel): campaigns or a typed error.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    campaign_e2e::properties::kore_decode(data);
});
