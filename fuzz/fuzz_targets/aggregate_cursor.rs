//! `Cursor::parse` on any text, then the aggregate's `page` over in-memory
//! sources with whatever it accepts: `InvalidCursor` or a clean resume.
#![no_main]

use std::sync::LazyLock;

use campaign_e2e::properties::CursorRig;

static RIG: LazyLock<CursorRig> = LazyLock::new(CursorRig::new);

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    RIG.check(&String::from_utf8_lossy(data));
});
