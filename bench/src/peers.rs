//! W1 echo with the async peers, each set up as the reference (§6.2) says is fair:
//!
//! - `tokio::io::duplex` with a 64 KiB buffer, on a current-thread runtime: the client writes
//!   the payload in piece-sized `write_all`s and half-closes, the server and the client read
//!   into piece-sized buffers. The chunk size is decoupled from the pipe's capacity, so the
//!   run measures re-chunking rather than a task switch forced on every byte by a full pipe
//!   (which is what `duplex(1)` would measure).
//! - `tokio::io::duplex(piece)`, for comparison: the same with the pipe's capacity equal to
//!   one piece, the reference pilot's setup, where every piece waits for the reader.
//! - partial-io: `PartialAsyncWrite(PartialAsyncRead(end, repeat(Limited(c))),
//!   repeat(Limited(c)))` on both ends of the same 64 KiB `duplex`; the code reads into 64 KiB
//!   buffers and writes the whole payload in one `write_all`: the wrappers do the cutting.
//! - turmoil with `tcp_capacity(64)` (its default, pinned) and its default latency, a fixed
//!   rng seed; the client writes piece-sized writes (turmoil's only way to chunk: a read never
//!   crosses a segment), the server echoes what each read returns. All of `sim.run()` is timed.
//!
//! The echo server and the client's writer and reader are the same async functions for all
//! three. Setup (runtime, payload, collector buffer, the simulation's hosts) is not timed.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use partial_io::{PartialAsyncRead, PartialAsyncWrite, PartialOp};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::echo::{Collector, PeerRun};

/// The pipe's capacity for `duplex` and partial-io: larger than any piece.
const PIPE: usize = 64 << 10;
const PORT: u16 = 7;

/// Echo every read back until EOF, then half-close. Counts the reads that returned data.
async fn echo_server<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    buf_len: usize,
    pieces: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; buf_len];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return s.shutdown().await;
        }
        pieces.fetch_add(1, Ordering::Relaxed);
        s.write_all(&buf[..n]).await?;
    }
}

/// Write `payload` in `write_len`-byte `write_all`s, then half-close.
async fn client_write<W: AsyncWrite + Unpin>(
    mut w: W,
    payload: &[u8],
    write_len: usize,
) -> std::io::Result<()> {
    for chunk in payload.chunks(write_len) {
        w.write_all(chunk).await?;
    }
    w.shutdown().await
}

/// Read until EOF into a `buf_len`-byte buffer, collecting every read.
async fn client_read<R: AsyncRead + Unpin>(
    mut r: R,
    buf_len: usize,
    got: &RefCell<Collector>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; buf_len];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        got.borrow_mut().receive(&buf[..n]);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("cannot build a current-thread tokio runtime: {e}"))
}

/// Plain `tokio::io::duplex`: piece-sized writes and reads; the pipe holds 64 KiB, or with
/// `tight` one piece (then every piece waits for the reader: a task switch per piece).
pub fn duplex(payload: &Bytes, piece: usize, tight: bool) -> PeerRun {
    over_duplex(payload, piece, if tight { piece } else { PIPE }, false)
}

/// partial-io's wrappers over `tokio::io::duplex(64 KiB)`, cutting every read and write to
/// one piece; the code itself uses 64 KiB buffers and a single `write_all`.
pub fn partial_io(payload: &Bytes, piece: usize) -> PeerRun {
    over_duplex(payload, piece, PIPE, true)
}

fn over_duplex(payload: &Bytes, piece: usize, pipe: usize, partial: bool) -> PeerRun {
    let rt = runtime();
    let got = RefCell::new(Collector::with_capacity(payload.len()));
    let server_pieces = Arc::new(AtomicU64::new(0));
    let (buf_len, write_len) = if partial {
        (PIPE, payload.len().max(1))
    } else {
        (piece, piece)
    };
    let ops = move || std::iter::repeat(PartialOp::Limited(piece));

    let start = Instant::now();
    rt.block_on(async {
        let (client, server) = tokio::io::duplex(pipe);
        let counter = Arc::clone(&server_pieces);
        let server = if partial {
            tokio::spawn(echo_server(
                PartialAsyncWrite::new(PartialAsyncRead::new(server, ops()), ops()),
                buf_len,
                counter,
            ))
        } else {
            tokio::spawn(echo_server(server, buf_len, counter))
        };
        let result = if partial {
            let (r, w) = tokio::io::split(PartialAsyncWrite::new(
                PartialAsyncRead::new(client, ops()),
                ops(),
            ));
            tokio::join!(
                client_write(w, payload, write_len),
                client_read(r, buf_len, &got)
            )
        } else {
            let (r, w) = tokio::io::split(client);
            tokio::join!(
                client_write(w, payload, write_len),
                client_read(r, buf_len, &got)
            )
        };
        result.0.unwrap_or_else(|e| panic!("W1 client write: {e}"));
        result.1.unwrap_or_else(|e| panic!("W1 client read: {e}"));
        server
            .await
            .unwrap_or_else(|e| panic!("W1 echo server task: {e}"))
            .unwrap_or_else(|e| panic!("W1 echo server: {e}"));
    });
    let nanos = start.elapsed().as_secs_f64() * 1e9;
    drop(rt);
    PeerRun {
        nanos,
        got: got.into_inner(),
        server_pieces: server_pieces.load(Ordering::Relaxed),
    }
}

/// turmoil: a server host echoing on a simulated TCP listener, a client writing piece-sized
/// writes and reading into a piece-sized buffer.
pub fn turmoil(payload: &Bytes, piece: usize) -> PeerRun {
    let got = Rc::new(RefCell::new(Collector::with_capacity(payload.len())));
    let server_pieces = Arc::new(AtomicU64::new(0));

    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(1_000_000))
        .tcp_capacity(64)
        .rng_seed(0x5eed)
        .build();
    let counter = Arc::clone(&server_pieces);
    sim.host("server", move || {
        let counter = Arc::clone(&counter);
        async move {
            let listener =
                turmoil::net::TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT)).await?;
            let (stream, _) = listener.accept().await?;
            echo_server(stream, piece, counter).await?;
            Ok(())
        }
    });
    let client_got = Rc::clone(&got);
    let client_payload = payload.clone();
    sim.client("client", async move {
        let stream = turmoil::net::TcpStream::connect(("server", PORT)).await?;
        let (r, w) = stream.into_split();
        let (wrote, read) = tokio::join!(
            client_write(w, &client_payload, piece),
            client_read(r, piece, &client_got)
        );
        wrote?;
        read?;
        Ok(())
    });

    let start = Instant::now();
    sim.run()
        .unwrap_or_else(|e| panic!("W1 echo turmoil: the simulation failed: {e}"));
    let nanos = start.elapsed().as_secs_f64() * 1e9;
    drop(sim);
    let got = Rc::try_unwrap(got)
        .unwrap_or_else(|_| panic!("W1 echo turmoil: the client still holds the collector"))
        .into_inner();
    PeerRun {
        nanos,
        got,
        server_pieces: server_pieces.load(Ordering::Relaxed),
    }
}
