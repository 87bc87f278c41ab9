//! CMS response decoding: any bytes give campaigns or a typed `Decode` error.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    campaign_e2e::properties::cms_decode(data);
});
