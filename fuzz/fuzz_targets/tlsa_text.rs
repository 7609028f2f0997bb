//! Presentation-format parsing must never panic, and what parses must round-trip.
#![no_main]

use dane::Tlsa;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(t) = text.parse::<Tlsa>() {
        assert_eq!(t.to_string().parse::<Tlsa>().ok(), Some(t.clone()));
        assert_eq!(Tlsa::from_rdata(&t.to_rdata()).ok(), Some(t));
    }
});
