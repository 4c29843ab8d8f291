//! Random operation sequences — writes, closes, aborts, half-closes, pauses, producers,
//! timers, chunking switches, done by the test or from inside callbacks — through a `Pair` of
//! probe protocols, which check the lifecycle contract at every callback.
//!
//! Proptest twin: `lifecycle_contract_holds` in `tests/it/properties.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use piecemeal::check::{self, Scenario};

fuzz_target!(|scenario: Scenario| {
    if let Err(violation) = check::lifecycle_contract(&scenario) {
        panic!("{violation}");
    }
});
