//! Chunking invariance of a CRLF line protocol: any payload, cut by any plan, gives the same
//! events and replies as the payload delivered whole.
//!
//! The protocol and the property live in `tests/it/line_invariance.rs`, shared with the proptest
//! twin `line_protocol_is_chunking_invariant` in `tests/it/properties.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use piecemeal::Chunking;
use piecemeal::check::Invariance;

#[path = "../../tests/it/line_invariance.rs"]
mod line_invariance;

use line_invariance::LineServer;

fuzz_target!(|input: (Chunking, Vec<u8>)| {
    let (plan, payload) = input;
    if let Err(divergence) = line_invariance::holds(&payload, plan) {
        // Report the plan with the fewest cuts that shows it on this payload, if the search
        // finds one; else the fuzzer's own.
        let fewest = Invariance::new(LineServer::default).check(&payload).err();
        panic!("{}", fewest.unwrap_or(divergence));
    }
});
