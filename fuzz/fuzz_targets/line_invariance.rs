//! Chunking invariance of a CRLF line protocol: any payload, cut by any plan, gives the same
//! events and replies as the payload delivered whole.
//!
//! Proptest twin: `line_protocol_is_chunking_invariant` in `tests/it/properties.rs`.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use piecemeal::check::{self, Invariance};
use piecemeal::{Chunking, Protocol, Transport};

/// Answers each `\r\n`-terminated line with its length, and closes on `quit`.
#[derive(Default)]
struct LineServer {
    buf: Vec<u8>,
}

impl Protocol for LineServer {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.buf.extend_from_slice(&data);
        while let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.buf.drain(..i + 2).take(i).collect();
            if line == b"quit" {
                tx.write("bye\r\n");
                tx.lose_connection();
                return;
            }
            tx.write(format!("ok {}\r\n", line.len()));
        }
    }
}

fuzz_target!(|input: (Chunking, Vec<u8>)| {
    let (plan, payload) = input;
    if let Err(divergence) = check::same_as_whole(&payload, plan, LineServer::default) {
        // Report the plan with the fewest cuts that shows it on this payload, if the search
        // finds one; else the fuzzer's own.
        let fewest = Invariance::new(LineServer::default).check(&payload).err();
        panic!("{}", fewest.unwrap_or(divergence));
    }
});
