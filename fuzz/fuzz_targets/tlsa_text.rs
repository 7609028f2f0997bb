//! Presentation-format parsing must never panic, and what parses must round-trip: through
//! the numeric form (`Display`), the RFC 7218 mnemonic form (`{:#}`), the RFC 3597 generic
//! form and wire RDATA.
#![no_main]

use dane::Tlsa;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(t) = text.parse::<Tlsa>() else {
        return;
    };
    let numeric = t.to_string();
    assert_eq!(numeric.parse::<Tlsa>().ok().as_ref(), Some(&t), "{numeric}");
    let mnemonic = format!("{t:#}");
    assert_eq!(mnemonic, t.to_mnemonic_string());
    assert_eq!(
        mnemonic.parse::<Tlsa>().ok().as_ref(),
        Some(&t),
        "{mnemonic}"
    );
    let rdata = t.to_rdata();
    let hex: String = rdata.iter().map(|b| format!("{b:02x}")).collect();
    let generic = format!("\\# {} {hex}", rdata.len());
    assert_eq!(generic.parse::<Tlsa>().ok().as_ref(), Some(&t), "{generic}");
    assert_eq!(Tlsa::from_rdata(&rdata).ok().as_ref(), Some(&t));
    // The canonical form is a fixed point.
    assert_eq!(
        numeric.parse::<Tlsa>().map(|u| u.to_string()).ok(),
        Some(numeric)
    );
});
