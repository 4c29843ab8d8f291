//! W4, many connections: a `Reactor` where every connection echoes a payload at 1-byte pieces,
//! and one busy connection among many idle ones. The cost per piece should not grow with the
//! number of connections, busy or idle.

use std::time::Instant;

use bytes::Bytes;
use piecemeal::{Chunking, Config, ConnId, End, Protocol, Reactor, Transport};

const ADDR: ([u8; 4], u16) = ([10, 0, 0, 1], 7);

/// Echoes every piece back without copying.
struct EchoServer;

impl Protocol for EchoServer {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        tx.write_bytes(data);
    }
}

/// Counts what comes back.
#[derive(Default)]
struct Client {
    bytes: usize,
    pieces: u64,
}

impl Protocol for Client {
    fn data_received(&mut self, data: Bytes, _: &mut Transport<'_>) {
        self.bytes += data.len();
        self.pieces += 1;
    }
}

/// One shape of W4.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Shape {
    /// Connections that echo the payload.
    pub busy: usize,
    /// Connections that are open and silent.
    pub idle: usize,
}

impl Shape {
    pub fn id(self) -> String {
        format!("w4/{}busy+{}idle", self.busy, self.idle)
    }
}

/// The shapes the table shows: 1, 10, 100, 1,000 busy connections, and one busy connection
/// among 10, 100, 1,000 idle ones (smaller with `--quick`).
pub fn shapes(quick: bool) -> Vec<Shape> {
    let counts: &[usize] = if quick {
        &[1, 10, 100]
    } else {
        &[1, 10, 100, 1000]
    };
    let busy = counts.iter().map(|&busy| Shape { busy, idle: 0 });
    let idle = counts[1..].iter().map(|&idle| Shape { busy: 1, idle });
    busy.chain(idle).collect()
}

/// One timed run: `(nanos, pieces delivered)`. Connecting everything is setup, not timed; the
/// payloads are queued before the clock starts and delivered by one `run()`.
pub fn run(shape: Shape, len: usize) -> (f64, u64) {
    let cfg = Config::new().step_limit(u64::MAX);
    let mut net = Reactor::new().chunking(Chunking::every_byte()).config(cfg);
    net.listen(ADDR, || EchoServer);
    let busy: Vec<ConnId> = (0..shape.busy)
        .map(|_| net.connect(ADDR, Client::default()))
        .collect();
    for _ in 0..shape.idle {
        net.connect(ADDR, Client::default());
    }
    net.run();
    let payload = Bytes::from(vec![0x5a; len]);
    for &c in &busy {
        net.with_protocol::<Client, _>(c, End::Client, |_, tx| tx.write_bytes(payload.clone()));
    }

    let start = Instant::now();
    net.run();
    let nanos = start.elapsed().as_secs_f64() * 1e9;

    let mut pieces = 0;
    for &c in &busy {
        let client = net.protocol::<Client>(c, End::Client);
        let (bytes, got) = client.map_or((0, 0), |c| (c.bytes, c.pieces));
        assert_eq!(
            bytes,
            len,
            "W4 {}: {c} got {bytes} bytes back of {len}",
            shape.id()
        );
        pieces += got;
    }
    // Both directions, one byte a piece.
    let want = 2 * (shape.busy * len) as u64;
    assert_eq!(
        2 * pieces,
        want,
        "W4 {}: wrong number of pieces",
        shape.id()
    );
    (nanos, want)
}
