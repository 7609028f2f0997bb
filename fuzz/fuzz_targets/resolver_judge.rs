//! The resolver's answer judge on arbitrary DNS messages: it must never panic, and what it
//! accepts must keep the invariants the resolver relies on (a denial names an SOA at or
//! above the question, a secure denial was not refused by the validator, a positive answer
//! has records). `judge_wire_for_fuzzing` reports a broken invariant as `Err`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(Err(broken)) = dane::resolver::judge_wire_for_fuzzing(data) {
        panic!("judge invariant broken: {broken}");
    }
});
