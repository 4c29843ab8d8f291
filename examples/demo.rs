//! piecemeal at work: a line protocol and its client on one simulated connection, run under
//! several chunkings; then the chunking-invariance oracle clears the correct server and
//! catches a buggy one, printing the chunking with the fewest cuts that breaks it, a diff of
//! what the server did with and without that cut, and the transcript.
//!
//! Run with `cargo run --example demo`.

use bytes::Bytes;
use piecemeal::check::{self, Invariance};
use piecemeal::{Chunking, End, Pair, Protocol, Reason, Transport};

/// Server: answers each `\r\n`-terminated line with `ok <line length>`, and closes on `quit`.
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

/// The same server with a classic bug: it assumes every piece holds whole lines.
#[derive(Default)]
struct NaiveLineServer;

impl Protocol for NaiveLineServer {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line == b"quit" {
                tx.write("bye\r\n");
                tx.lose_connection();
                return;
            }
            tx.write(format!("ok {}\r\n", line.len()));
        }
    }
}

/// Client: sends its lines on connect and collects the replies.
struct LineClient {
    lines: &'static [&'static str],
    replies: Vec<u8>,
}

impl LineClient {
    fn new(lines: &'static [&'static str]) -> Self {
        Self {
            lines,
            replies: Vec::new(),
        }
    }
}

impl Protocol for LineClient {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        for line in self.lines {
            tx.write(format!("{line}\r\n"));
        }
    }

    fn data_received(&mut self, data: Bytes, _tx: &mut Transport<'_>) {
        self.replies.extend_from_slice(&data);
    }
}

const LINES: &[&str] = &["hello", "piecemeal", "quit"];
const REQUEST: &[u8] = b"hello\r\npiecemeal\r\nquit\r\n";
const EXPECTED: &[u8] = b"ok 5\r\nok 9\r\nbye\r\n";

fn run<S: Protocol>(server: S, chunking: &Chunking) -> Pair<LineClient, S> {
    let mut pair = Pair::new(LineClient::new(LINES), server)
        .client_to_server(chunking.clone())
        .server_to_client(chunking.clone());
    pair.run();
    pair
}

fn main() {
    println!("== A correct line server under several chunkings ==\n");
    let plans = [
        Chunking::whole(),
        Chunking::every_byte(),
        Chunking::fixed(3),
        Chunking::cuts([4, 9, 17]),
        Chunking::seeded(7, 5),
    ];
    for plan in &plans {
        let pair = run(LineServer::default(), plan);
        let ok = pair.client().replies == EXPECTED && pair.lost(End::Server) == Some(&Reason::Done);
        println!(
            "{:<30} {}",
            plan.to_string(),
            if ok { "ok" } else { "WRONG" }
        );
    }

    println!("\n== Its transcript under {} ==\n", Chunking::fixed(3));
    print!(
        "{}",
        run(LineServer::default(), &Chunking::fixed(3)).transcript()
    );

    println!("\n== The chunking-invariance oracle on the correct server ==\n");
    match Invariance::new(LineServer::default).check(REQUEST) {
        Ok(()) => println!(
            "no chunking of the {}-byte request changes what it does (every plan with one or \
             two cuts, every fixed size, 64 seeded plans)",
            REQUEST.len()
        ),
        Err(divergence) => println!("{divergence}"),
    }
    // Every one of the 2^15 plans of the first 16 bytes, in one line:
    check::chunking_invariant(&REQUEST[..16], LineServer::default);
    println!("and all 32,768 plans of its first 16 bytes: ok");

    println!("\n== The oracle on a naive server that assumes whole lines per piece ==\n");
    match Invariance::new(|| NaiveLineServer).check(REQUEST) {
        Ok(()) => println!("no chunking breaks it"),
        Err(divergence) => {
            println!("minimal chunking: {}\n", divergence.chunking());
            println!("{divergence}");
        }
    }
}
