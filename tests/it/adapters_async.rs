//! The async adapters: a connection end as a tokio / futures-io stream over the simulated
//! wire — chunk boundaries, both delivery policies, half-close, abort, backpressure, wakers
//! under real executors, and the oracle finding an async reader that treats a short read as
//! EOF.

use std::io::ErrorKind;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use piecemeal::Chunking;

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count::default());
    (Arc::clone(&count), Waker::from(count))
}

#[cfg(feature = "tokio")]
mod tokio_stream {
    use super::*;
    use piecemeal::adapters::tokio::{self as adapter, Delivery, SimPeer, SimStream};
    use piecemeal::protocols::{Echo, HalfCloseEcho};
    use piecemeal::{Config, Reason};
    use pretty_assertions::assert_eq;
    use std::future::Future;
    use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
            .block_on(f)
    }

    /// One `poll_read` with `waker`.
    fn poll_read(
        stream: &mut SimStream,
        waker: &Waker,
        len: usize,
    ) -> Poll<std::io::Result<Vec<u8>>> {
        let mut storage = vec![0; len];
        let mut buf = ReadBuf::new(&mut storage);
        let mut cx = Context::from_waker(waker);
        match Pin::new(stream).poll_read(&mut cx, &mut buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().to_vec())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write(
        stream: &mut SimStream,
        waker: &Waker,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(stream).poll_write(&mut Context::from_waker(waker), data)
    }

    fn poll_flush(stream: &mut SimStream, waker: &Waker) -> Poll<std::io::Result<()>> {
        Pin::new(stream).poll_flush(&mut Context::from_waker(waker))
    }

    #[test]
    fn eager_reads_return_one_piece_each_never_joined() {
        let (mut stream, peer) = SimStream::new();
        peer.deliver(b"hello", Chunking::fixed(2));
        peer.close();
        let pieces = block_on(async {
            let mut pieces = Vec::new();
            let mut buf = [0; 64];
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                pieces.push(buf[..n].to_vec());
                if n == 0 {
                    return pieces;
                }
            }
        });
        assert_eq!(pieces, [&b"he"[..], b"ll", b"o", b""]);
    }

    #[test]
    fn a_short_buffer_takes_a_piece_in_parts_and_fill_buf_lends_one_piece() {
        let (mut stream, peer) = SimStream::new();
        peer.deliver(b"abcdef", Chunking::cuts([4]));
        peer.close();
        block_on(async {
            let mut two = [0; 2];
            assert_eq!(stream.read(&mut two).await.unwrap(), 2);
            assert_eq!(&two, b"ab");
            // The rest of the first piece, not joined with the second.
            assert_eq!(stream.fill_buf().await.unwrap(), b"cd");
            stream.consume(2);
            assert_eq!(stream.fill_buf().await.unwrap(), b"ef");
            stream.consume(2);
            assert_eq!(stream.fill_buf().await.unwrap(), b"");
        });
    }

    #[test]
    fn a_stream_that_does_not_read_pushes_back_on_its_peer() {
        let (mut stream, peer) = SimStream::builder()
            .config(Config::new().high_water(2))
            .build();
        peer.deliver(b"abcdefgh", Chunking::fixed(2));
        // The receive buffer took "ab" and "cd" (over 2 bytes: reading paused); the rest waits.
        assert_eq!(peer.unread(), 8);
        assert_eq!(peer.peer_buffered(), 4);
        let (_, waker) = counting();
        assert_eq!(
            poll_read(&mut stream, &waker, 8).map(Result::unwrap),
            Poll::Ready(b"ab".to_vec())
        );
        // Room again: reading resumed and took "ef" (4 bytes queued, paused again).
        assert_eq!(peer.peer_buffered(), 2);
        assert_eq!(peer.unread(), 6);
    }

    #[test]
    fn starved_reads_return_pending_once_before_each_piece_and_the_eof() {
        let (mut stream, peer) = SimStream::builder().delivery(Delivery::Starved).build();
        peer.deliver(b"abc", Chunking::cuts([1]));
        peer.close();
        let (count, waker) = counting();
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(poll_read(&mut stream, &waker, 8).map(Result::unwrap));
        }
        assert_eq!(
            seen,
            [
                Poll::Pending,
                Poll::Ready(b"a".to_vec()),
                Poll::Pending,
                Poll::Ready(b"bc".to_vec()),
                Poll::Pending,
                Poll::Ready(Vec::new()),
            ]
        );
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            3,
            "each Pending woke the waker"
        );
        assert_eq!(
            poll_read(&mut stream, &waker, 8).map(Result::unwrap),
            Poll::Ready(Vec::new())
        );
    }

    #[test]
    fn a_read_with_nothing_to_read_is_woken_when_the_peer_delivers() {
        let (mut stream, peer) = SimStream::new();
        let (count, waker) = counting();
        assert!(poll_read(&mut stream, &waker, 8).is_pending());
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        peer.deliver(b"x", Chunking::whole());
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            poll_read(&mut stream, &waker, 8).map(Result::unwrap),
            Poll::Ready(b"x".to_vec())
        );
    }

    #[test]
    fn read_to_end_after_the_peer_closes_and_writes_still_go_out_after_a_half_close() {
        let (mut stream, peer) = SimStream::new();
        peer.deliver(b"request", Chunking::every_byte());
        peer.half_close();
        block_on(async {
            let mut all = Vec::new();
            stream.read_to_end(&mut all).await.unwrap();
            assert_eq!(all, b"request");
            stream.write_all(b"response").await.unwrap();
            stream.flush().await.unwrap();
        });
        assert_eq!(peer.written(), b"response");
        assert_eq!(
            peer.stream_lost(),
            None,
            "the stream stays open after the peer's EOF"
        );
        drop(stream);
        assert!(peer.got_eof());
        assert_eq!(peer.stream_lost(), Some(Reason::Done));
    }

    #[test]
    fn the_peer_cannot_deliver_after_its_eof_and_the_message_says_why() {
        for (how, close) in [
            ("close", SimPeer::close as fn(&SimPeer)),
            ("half_close", SimPeer::half_close),
        ] {
            let (_stream, peer) = SimStream::new();
            peer.deliver(b"early", Chunking::whole());
            close(&peer);
            let msg = crate::support::panic_text(|| peer.deliver(b"late", Chunking::every_byte()));
            let want = "SimPeer::deliver(4 bytes, Chunking::every_byte()) after the peer closed \
                        its write half (close, half_close or abort): a peer cannot send after \
                        its EOF";
            assert!(msg.contains(want), "after {how}: {msg}");
            assert!(
                msg.contains("received b\"early\""),
                "the transcript, after {how}: {msg}"
            );
        }
    }

    #[test]
    fn after_the_peer_aborts_reads_fail_with_connection_reset_and_writes_with_broken_pipe() {
        let (mut stream, peer) = SimStream::new();
        peer.deliver(b"partial", Chunking::whole());
        peer.abort();
        assert_eq!(peer.stream_lost(), Some(Reason::Lost));
        block_on(async {
            let mut buf = [0; 16];
            // What was already received is read first, as on Linux.
            assert_eq!(stream.read(&mut buf).await.unwrap(), 7);
            let err = stream.read(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionReset);
            let err = stream.read(&mut buf).await.unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::ConnectionReset,
                "and the error stays"
            );
            let err = stream.write_all(b"late").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe);
        });
    }

    #[test]
    fn received_pieces_are_read_before_the_reset_and_the_rest_dies_with_it() {
        let (mut stream, peer) = SimStream::builder()
            .config(Config::new().high_water(2))
            .build();
        peer.deliver(b"abcdef", Chunking::fixed(2));
        peer.abort();
        let (_, waker) = counting();
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(match poll_read(&mut stream, &waker, 8) {
                Poll::Ready(Ok(piece)) => Ok(piece),
                Poll::Ready(Err(e)) => Err(e.kind()),
                Poll::Pending => panic!("nothing should be pending"),
            });
        }
        assert_eq!(
            seen,
            [
                Ok(b"ab".to_vec()),
                Ok(b"cd".to_vec()),
                Err(ErrorKind::ConnectionReset)
            ]
        );
    }

    #[test]
    fn shutdown_sends_the_eof_keeps_reading_and_refuses_later_writes() {
        let (mut stream, peer) = SimStream::new();
        block_on(async {
            stream.write_all(b"done").await.unwrap();
            stream.shutdown().await.unwrap();
            let err = stream.write_all(b"more").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe);
        });
        assert!(peer.got_eof());
        assert_eq!(peer.written(), b"done");
        peer.deliver(b"reply", Chunking::whole());
        peer.close();
        let got = block_on(async {
            let mut all = Vec::new();
            stream.read_to_end(&mut all).await.unwrap();
            all
        });
        assert_eq!(got, b"reply");
    }

    #[test]
    fn abort_resets_the_peer() {
        let (mut stream, peer) = SimStream::new();
        stream.abort();
        assert_eq!(peer.peer_lost(), Some(Reason::Lost));
        assert_eq!(peer.stream_lost(), Some(Reason::Aborted));
        let (_, waker) = counting();
        assert!(
            matches!(poll_write(&mut stream, &waker, b"x"), Poll::Ready(Err(e)) if e.kind() == ErrorKind::BrokenPipe)
        );
    }

    #[test]
    fn poll_write_is_pending_over_the_high_water_mark_until_the_peer_reads() {
        let (mut stream, peer) = SimStream::builder()
            .config(Config::new().high_water(4))
            .build();
        peer.pause_reading();
        let (count, waker) = counting();
        assert!(matches!(
            poll_write(&mut stream, &waker, b"12345"),
            Poll::Ready(Ok(5))
        ));
        assert_eq!(peer.buffered(), 5);
        assert!(poll_write(&mut stream, &waker, b"6").is_pending());
        assert!(poll_flush(&mut stream, &waker).is_pending());
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        peer.resume_reading();
        assert!(
            count.0.load(Ordering::SeqCst) >= 1,
            "resuming woke the writer"
        );
        assert_eq!(peer.buffered(), 0);
        assert!(matches!(
            poll_flush(&mut stream, &waker),
            Poll::Ready(Ok(()))
        ));
        assert!(matches!(
            poll_write(&mut stream, &waker, b"6"),
            Poll::Ready(Ok(1))
        ));
        assert_eq!(peer.written(), b"123456");
    }

    #[test]
    fn a_spawned_writer_blocks_on_backpressure_and_finishes_when_the_peer_reads() {
        let (mut stream, peer) = SimStream::builder()
            .config(Config::new().high_water(16))
            .build();
        peer.pause_reading();
        let data: Vec<u8> = (0..200u8).collect();
        let expected = data.clone();
        block_on(async move {
            let writer = tokio::spawn(async move {
                stream.write_all(&data).await.unwrap();
                stream.flush().await.unwrap();
                stream
            });
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            assert!(!writer.is_finished(), "the writer waits for the peer");
            assert_eq!(peer.buffered(), 200, "one write went out, then Pending");
            peer.resume_reading();
            let stream = writer.await.unwrap();
            assert_eq!(peer.written(), expected);
            drop(stream);
            assert!(peer.got_eof());
        });
    }

    #[test]
    fn a_protocol_peer_answers_what_the_stream_writes() {
        let (mut stream, peer) = SimStream::builder()
            .peer_protocol(Echo::new())
            .outbound(Chunking::every_byte())
            .delivery(Delivery::Starved)
            .build();
        block_on(async {
            stream.write_all(b"ping").await.unwrap();
            stream.shutdown().await.unwrap();
            let mut back = Vec::new();
            stream.read_to_end(&mut back).await.unwrap();
            assert_eq!(back, b"ping");
        });
        // The echo closed after the stream's EOF, its replies already in the stream's buffer.
        assert_eq!(peer.peer_lost(), Some(Reason::Done));
        assert!(peer.events().contains(&piecemeal::Event::ReadClosed));
    }

    #[test]
    fn split_halves_on_two_tasks_talk_to_an_echo_through_a_small_buffer() {
        // Half-closeable: a plain `Echo` would be ended by the stream's EOF and drop the echo
        // still waiting for room in the stream's receive buffer.
        let (stream, peer) = SimStream::builder()
            .peer_protocol(HalfCloseEcho::new())
            .config(Config::new().high_water(8))
            .delivery(Delivery::Starved)
            .build();
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let expected = data.clone();
        let back = block_on(async move {
            let (mut rx, mut tx) = tokio::io::split(stream);
            let writer = tokio::spawn(async move {
                for part in data.chunks(37) {
                    tx.write_all(part).await.unwrap();
                }
                tx.shutdown().await.unwrap();
            });
            let reader = tokio::spawn(async move {
                let mut back = Vec::new();
                rx.read_to_end(&mut back).await.unwrap();
                back
            });
            writer.await.unwrap();
            reader.await.unwrap()
        });
        assert_eq!(back, expected);
        assert_eq!(peer.peer_lost(), Some(Reason::Done));
    }

    // ----- the oracle ---------------------------------------------------------------------

    /// The planted bug: a read shorter than the buffer is taken for the end of the stream.
    async fn short_read_is_eof(mut stream: SimStream) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0; 8];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            out.extend_from_slice(&buf[..n]);
            if n < buf.len() {
                return out;
            }
        }
    }

    /// The correct counterpart: only a read of 0 is the end.
    async fn read_until_zero(mut stream: SimStream) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0; 8];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn the_oracle_finds_a_short_read_taken_for_eof_with_its_minimal_plan() {
        let input = b"GET /index.html";
        let found = adapter::check_read(input, short_read_is_eof).unwrap_err();
        assert_eq!(found.chunking(), &Chunking::cuts([1]));
        assert_eq!(found.input(), input);
        let report = found.to_string();
        assert!(report.contains("Delivery::Eager"), "{report}");
        // The failing run's transcript: the peer's delivery, the pieces the stream took.
        assert!(
            found
                .transcript()
                .contains("peer delivers 15 bytes cut by Chunking::cuts([1])"),
            "{}",
            found.transcript()
        );
        assert!(
            found.replay().contains(
                "piecemeal::adapters::tokio::assert_read_plan(b\"GET /index.html\", \
                 piecemeal::Chunking::cuts([1]), piecemeal::adapters::tokio::Delivery::Eager, reader)"
            ),
            "{}",
            found.replay()
        );
        // The replay line reproduces it.
        let again = adapter::check_read_plan(
            input,
            Chunking::cuts([1]),
            Delivery::Eager,
            short_read_is_eof,
        );
        assert!(again.is_err());
    }

    #[test]
    fn the_correct_reader_passes_every_plan_of_16_bytes_under_both_policies() {
        let input = b"0123456789abcdef";
        assert_eq!(input.len(), 16);
        adapter::read_invariant(input, read_until_zero);
        adapter::read_invariant(b"", read_until_zero);
    }

    /// Reads with a hand-written poll loop; buggy: takes `Pending` for the end of the data.
    async fn pending_is_eof(mut stream: SimStream) -> Vec<u8> {
        std::future::poll_fn(move |cx| {
            let mut out = Vec::new();
            let mut storage = [0; 64];
            loop {
                let mut buf = ReadBuf::new(&mut storage);
                match Pin::new(&mut stream).poll_read(cx, &mut buf) {
                    Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(out),
                    Poll::Ready(Ok(())) => out.extend_from_slice(buf.filled()),
                    Poll::Ready(Err(e)) => panic!("{e}"),
                    Poll::Pending => return Poll::Ready(out),
                }
            }
        })
        .await
    }

    #[test]
    fn only_starved_delivery_finds_a_reader_that_takes_pending_for_eof() {
        let input = b"hello";
        let found = adapter::check_read(input, pending_is_eof).unwrap_err();
        assert!(found.to_string().contains("Delivery::Starved"), "{found}");
        assert_eq!(
            found.chunking(),
            &Chunking::per_write(),
            "the input in one piece is enough"
        );
        adapter::check_read_plan(
            input,
            Chunking::every_byte(),
            Delivery::Eager,
            pending_is_eof,
        )
        .unwrap();
    }

    #[test]
    fn a_long_failing_run_reports_the_end_of_its_transcript() {
        // Counts its reads: one for the input whole, one a piece otherwise.
        async fn reads(mut stream: SimStream) -> usize {
            let mut buf = [0; 512];
            let mut n = 0;
            while stream.read(&mut buf).await.unwrap() > 0 {
                n += 1;
            }
            n
        }
        let input = [b'x'; 300];
        let found = adapter::check_read_plan(input, Chunking::every_byte(), Delivery::Eager, reads)
            .unwrap_err();
        let transcript = found.transcript();
        // The last 60 of the run's 309 events: the earlier ones are counted, not shown.
        assert!(
            transcript.contains("# … 249 earlier events not shown"),
            "{transcript}"
        );
        let events = transcript.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(events, 60, "{transcript}");
        assert!(
            transcript.trim_end().ends_with("client stream  lost: done"),
            "{transcript}"
        );
    }

    #[test]
    fn the_peer_s_small_sends_are_packed_as_writes_are() {
        // `SimPeer::deliver` copies as `Transport::write` does: while recording, small sends
        // lie back to back in shared buffers instead of an allocation each.
        let (mut stream, peer) = SimStream::new();
        let sends: Vec<Vec<u8>> = (0..100u8)
            .map(|i| vec![i; 1 + usize::from(i) % 3])
            .collect();
        for send in &sends {
            peer.deliver(send, Chunking::whole());
        }
        peer.close();
        let got = crate::support::pieces(&peer.events());
        assert_eq!(got.len(), sends.len());
        assert_eq!(
            crate::support::memory_runs(&got),
            1,
            "100 small sends share one packing buffer"
        );
        let mut all = Vec::new();
        block_on(stream.read_to_end(&mut all)).unwrap();
        assert_eq!(all, sends.concat());
    }

    #[test]
    fn a_read_fills_an_uninitialised_buffer_with_the_piece_only() {
        let (mut stream, peer) = SimStream::builder().build();
        peer.deliver(b"abc", Chunking::whole());
        let mut storage = [std::mem::MaybeUninit::<u8>::uninit(); 8];
        let mut buf = ReadBuf::uninit(&mut storage);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let polled = Pin::new(&mut stream).poll_read(&mut cx, &mut buf);
        assert!(matches!(polled, Poll::Ready(Ok(()))));
        assert_eq!(buf.filled(), b"abc");
        assert_eq!(
            buf.initialized().len(),
            3,
            "nothing past the piece was zeroed"
        );
    }

    #[test]
    fn a_reader_that_never_finishes_is_reported_by_how_it_is_stuck() {
        // Wants its 2-byte header in one read; otherwise waits forever, or with `spin` yields
        // forever, waking itself.
        async fn header(mut stream: SimStream, spin: bool) -> Vec<u8> {
            let mut buf = [0; 2];
            match stream.read(&mut buf).await {
                Ok(2) => buf.to_vec(),
                _ if spin => loop {
                    tokio::task::yield_now().await;
                },
                _ => std::future::pending().await,
            }
        }
        let stuck = [
            (false, "stalled (Pending, never woken)"),
            (true, "still Pending after 1000000 polls, woken before each"),
        ];
        for (spin, how) in stuck {
            let found = adapter::check_read(b"hi", |s| header(s, spin)).unwrap_err();
            assert_eq!(found.chunking(), &Chunking::cuts([1]));
            let text = found.to_string();
            assert!(text.contains(how), "{found}");
            let other = stuck.iter().find(|&&(s, _)| s != spin).map(|&(_, h)| h);
            assert!(other.is_some_and(|h| !text.contains(h)), "{found}");
        }
    }

    #[cfg(feature = "proptest")]
    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn the_proptest_path_passes_the_correct_reader(
            (input, plan) in piecemeal::strategy::chunked("[a-z ]{0,24}"),
            delivery in adapter::delivery(),
        ) {
            adapter::check_read_plan(&input, plan, delivery, read_until_zero)?;
        }
    }
}

#[cfg(feature = "futures")]
mod futures_stream {
    use super::*;
    use futures_executor::block_on;
    use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    use piecemeal::Config;
    use piecemeal::adapters::futures::{self as adapter, Delivery, SimStream};
    use pretty_assertions::assert_eq;

    #[test]
    fn fill_buf_lends_one_piece_at_a_time_then_the_eof() {
        let (mut stream, peer) = SimStream::builder().delivery(Delivery::Starved).build();
        peer.deliver(b"line one\nline two\n", Chunking::cuts([5, 12]));
        peer.close();
        let pieces = block_on(async {
            let mut pieces = Vec::new();
            loop {
                let buf = stream.fill_buf().await.unwrap().to_vec();
                if buf.is_empty() {
                    return pieces;
                }
                stream.consume_unpin(buf.len());
                pieces.push(String::from_utf8(buf).unwrap());
            }
        });
        assert_eq!(pieces, ["line ", "one\nlin", "e two\n"]);
    }

    #[test]
    fn read_line_over_every_byte_then_eof_then_reset() {
        let (mut stream, peer) = SimStream::new();
        peer.deliver(b"a\nb", Chunking::every_byte());
        peer.close();
        block_on(async {
            let mut line = String::new();
            stream.read_line(&mut line).await.unwrap();
            assert_eq!(line, "a\n");
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"b");
        });

        let (mut stream, peer) = SimStream::new();
        peer.abort();
        block_on(async {
            let err = stream.read(&mut [0; 4]).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionReset);
            assert_eq!(
                stream.write(b"x").await.unwrap_err().kind(),
                ErrorKind::BrokenPipe
            );
        });
    }

    #[test]
    fn close_half_closes_and_backpressure_holds_writes() {
        let (mut stream, peer) = SimStream::builder()
            .config(Config::new().high_water(2))
            .build();
        peer.pause_reading();
        let (count, waker) = counting();
        let mut cx = Context::from_waker(&waker);
        use futures_io::AsyncWrite;
        assert!(matches!(
            Pin::new(&mut stream).poll_write(&mut cx, b"abc"),
            Poll::Ready(Ok(3))
        ));
        assert!(Pin::new(&mut stream).poll_write(&mut cx, b"d").is_pending());
        peer.resume_reading();
        assert!(count.0.load(Ordering::SeqCst) >= 1);
        block_on(async {
            stream.write_all(b"d").await.unwrap();
            stream.close().await.unwrap();
        });
        assert!(peer.got_eof());
        assert_eq!(peer.written(), b"abcd");
        // Only the write half: the connection stays up and the stream still reads.
        assert_eq!(peer.stream_lost(), None);
        peer.deliver(b"reply", Chunking::whole());
        peer.close();
        let mut back = Vec::new();
        block_on(stream.read_to_end(&mut back)).unwrap();
        assert_eq!(back, b"reply");
    }

    async fn short_read_is_eof(mut stream: SimStream) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0; 4];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            out.extend_from_slice(&buf[..n]);
            if n < buf.len() {
                return out;
            }
        }
    }

    async fn read_to_end(mut stream: SimStream) -> Vec<u8> {
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.unwrap();
        out
    }

    #[test]
    fn the_oracle_finds_the_short_read_bug_and_passes_read_to_end() {
        let found = adapter::check_read(b"abcdefgh", short_read_is_eof).unwrap_err();
        assert_eq!(found.chunking(), &Chunking::cuts([1]));
        assert!(
            found
                .replay()
                .starts_with("piecemeal::adapters::futures::assert_read_plan(")
        );
        adapter::read_invariant(b"0123456789abcdef", read_to_end);
    }
}
