//! `tokio_util::codec` adapter (feature `codec`): drive a [`Decoder`] the way `FramedRead`
//! does, one piece of a [`Chunking`] at a time, and check that the frames do not depend on the
//! cuts.
//!
//! [`decode_chunked`] appends each piece to a [`BytesMut`], calls
//! [`decode`](Decoder::decode) until it returns `Ok(None)`, and goes on with the next piece; at
//! the end it calls [`decode_eof`](Decoder::decode_eof) until that returns `Ok(None)`. An error
//! ends the stream, as it ends a `FramedRead`. [`decoder_invariant`] checks, in one line, that
//! the frames and the error (compared by `Display`) are the same under every plan the search
//! tries as with the input whole; [`encode_decode_invariant`] does the same for what an
//! [`Encoder`] writes. [`decoder_same_as_whole`] compares one plan, for `proptest!`.
//!
//! # Examples
//!
//! ```
//! use bytes::{Buf, BytesMut};
//! use piecemeal::adapters::codec;
//! use tokio_util::codec::{Decoder, LinesCodec};
//!
//! // A real codec passes.
//! codec::decoder_invariant(b"one\ntwo\r\nthree", LinesCodec::new);
//!
//! /// Splits on `\r\n`; buggy: looks for the delimiter only in what arrived last.
//! #[derive(Default)]
//! struct Crlf { seen: usize }
//! impl Decoder for Crlf {
//!     type Item = Vec<u8>;
//!     type Error = std::io::Error;
//!     fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Vec<u8>>, std::io::Error> {
//!         let fresh = &src[self.seen..];
//!         match fresh.windows(2).position(|w| w == b"\r\n") {
//!             Some(i) => {
//!                 let line = src.split_to(self.seen + i).to_vec();
//!                 src.advance(2);
//!                 self.seen = 0;
//!                 Ok(Some(line))
//!             }
//!             None => {
//!                 self.seen = src.len(); // the bug: a `\r` at the end may start a delimiter
//!                 Ok(None)
//!             }
//!         }
//!     }
//! }
//!
//! let found = codec::decoder_oracle(Crlf::default).check(b"a\r\nb\r\n").unwrap_err();
//! assert_eq!(found.chunking(), &piecemeal::Chunking::cuts([2]));
//! ```

use std::fmt::{self, Debug, Display};

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::check::{Divergence, Invariant};
use crate::chunking::Chunking;
use crate::event::Escaped;

/// What a [`Decoder`] made of an input: the frames, in order (`Vec<Item>`, or what a view
/// made of them: [`decoder_oracle_by`]), and the error that ended the stream, if one did (by
/// its `Display`), plus a trace of the calls made.
///
/// `PartialEq` and `Debug` see the frames and the error, not the trace.
#[derive(Clone)]
pub struct Decoded<F> {
    frames: F,
    error: Option<String>,
    trace: Vec<String>,
}

impl<F> Decoded<F> {
    /// The frames the decoder returned, in order (or their view).
    #[must_use]
    pub fn frames(&self) -> &F {
        &self.frames
    }

    /// The error that ended the stream (its `Display`), if any.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The calls made, one line each: pieces appended, `decode` and `decode_eof` results.
    #[must_use]
    pub fn trace(&self) -> &[String] {
        &self.trace
    }

    fn transcript(&self) -> String {
        super::transcript_tail(&self.trace)
    }
}

impl<F: PartialEq> PartialEq for Decoded<F> {
    fn eq(&self, other: &Self) -> bool {
        self.frames == other.frames && self.error == other.error
    }
}

impl<F: Debug> Debug for Decoded<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoded")
            .field("frames", &self.frames)
            .field("error", &self.error)
            .finish()
    }
}

/// How many frames in a row a decoder may return without consuming a byte before the drive
/// stops it (it would loop forever under `FramedRead`).
const STUCK: usize = 100_000;

/// Feeds `input`, cut by `chunking`, to `decoder` the way `FramedRead` does, and returns the
/// frames and the error that ended the stream.
///
/// Each piece is appended to one [`BytesMut`]; then [`decode`](Decoder::decode) is called
/// until it returns `Ok(None)`. After the last piece, [`decode_eof`](Decoder::decode_eof) is
/// called until it returns `Ok(None)`. The first `Err` ends the stream: nothing more is
/// decoded.
///
/// # Examples
///
/// ```
/// use piecemeal::adapters::codec;
/// use piecemeal::Chunking;
/// use tokio_util::codec::LinesCodec;
///
/// let decoded = codec::decode_chunked(&mut LinesCodec::new(), b"ab\ncd", Chunking::every_byte());
/// assert_eq!(*decoded.frames(), ["ab", "cd"]);
/// assert_eq!(decoded.error(), None);
/// ```
///
/// # Panics
///
/// If the decoder returns 100,000 frames in a row without consuming a byte (`FramedRead`
/// would loop forever).
pub fn decode_chunked<D>(decoder: &mut D, input: &[u8], chunking: Chunking) -> Decoded<Vec<D::Item>>
where
    D: Decoder,
    D::Item: Debug,
    D::Error: Display,
{
    let mut decoded = Decoded {
        frames: Vec::new(),
        error: None,
        trace: Vec::new(),
    };
    let mut buf = BytesMut::new();
    for (i, piece) in chunking.pieces(input.len()).into_iter().enumerate() {
        let piece = &input[piece];
        buf.extend_from_slice(piece);
        decoded.trace.push(format!(
            "piece {i}: {} {} (buffer {})",
            piece.len(),
            Escaped(piece),
            buf.len()
        ));
        if !pump(&mut decoded, &mut buf, "decode", |buf| decoder.decode(buf)) {
            return decoded;
        }
    }
    decoded.trace.push("end of input".into());
    pump(&mut decoded, &mut buf, "decode_eof", |buf| {
        decoder.decode_eof(buf)
    });
    decoded
}

/// Calls `step` until it returns `Ok(None)` (true) or an error (false), recording it all.
fn pump<T: Debug, E: Display>(
    decoded: &mut Decoded<Vec<T>>,
    buf: &mut BytesMut,
    name: &str,
    mut step: impl FnMut(&mut BytesMut) -> Result<Option<T>, E>,
) -> bool {
    let mut stuck = 0usize;
    loop {
        let before = buf.len();
        let result = step(buf);
        let line = match &result {
            Ok(Some(frame)) => format!("Ok(Some({frame:?}))"),
            Ok(None) => "Ok(None)".to_owned(),
            Err(e) => format!("Err({e})"),
        };
        decoded
            .trace
            .push(format!("{name}(buffer of {before}) -> {line}"));
        match result {
            Ok(Some(frame)) => {
                decoded.frames.push(frame);
                stuck = if buf.len() == before { stuck + 1 } else { 0 };
                assert!(
                    stuck < STUCK,
                    "piecemeal: the decoder returned {STUCK} frames in a row from `{name}` \
                     without consuming a byte; FramedRead would loop forever"
                );
            }
            Ok(None) => return true,
            Err(e) => {
                decoded.error = Some(e.to_string());
                return false;
            }
        }
    }
}

/// The oracle for the decoders `decoder` builds (one per run): tune the search on the returned
/// [`Invariant`], then [`check`](Invariant::check) an input.
#[allow(
    clippy::type_complexity,
    reason = "the closure type is unnameable; the alias would hide the outcome type"
)]
pub fn decoder_oracle<D, F>(
    decoder: F,
) -> Invariant<impl Fn(&[u8], &Chunking) -> Decoded<Vec<D::Item>>, Decoded<Vec<D::Item>>>
where
    D: Decoder,
    D::Item: PartialEq + Debug + 'static,
    D::Error: Display,
    F: Fn() -> D,
{
    decoder_oracle_by(decoder, |frames| frames).replay(|input, plan| {
        format!(
            "piecemeal::adapters::codec::decoder_same_as_whole({input}, piecemeal::{plan}, decoder).unwrap()"
        )
    })
}

/// [`decoder_oracle`] comparing `view(frames)` instead of the frames: for decoders whose frame
/// boundaries follow the reads by design (`BytesCodec` returns whatever has arrived), compare
/// what must not depend on the cuts, such as their concatenation.
///
/// # Examples
///
/// ```
/// use piecemeal::adapters::codec;
/// use tokio_util::codec::BytesCodec;
///
/// codec::decoder_oracle_by(BytesCodec::new, |frames| frames.concat()).assert(b"any bytes");
/// ```
pub fn decoder_oracle_by<D, F, V, W>(
    decoder: F,
    view: W,
) -> Invariant<impl Fn(&[u8], &Chunking) -> Decoded<V>, Decoded<V>>
where
    D: Decoder,
    D::Item: Debug,
    D::Error: Display,
    F: Fn() -> D,
    V: PartialEq + Debug + 'static,
    W: Fn(Vec<D::Item>) -> V,
{
    Invariant::new(move |input: &[u8], plan: &Chunking| {
        let decoded = decode_chunked(&mut decoder(), input, plan.clone());
        Decoded {
            frames: view(decoded.frames),
            error: decoded.error,
            trace: decoded.trace,
        }
    })
    .subject("the decoder")
    .result_name("frames")
    .replay(|input, plan| {
        format!(
            "piecemeal::adapters::codec::decoder_oracle_by(decoder, view).assert_plan({input}, piecemeal::{plan})"
        )
    })
    .transcript(Decoded::transcript)
}

/// Checks that the decoders `decoder` builds return the same frames and error under every plan
/// the search tries as with the input whole, driven as `FramedRead` drives them; panics with
/// the report of the [`Divergence`] otherwise.
///
/// # Examples
///
/// ```
/// use piecemeal::adapters::codec;
/// use tokio_util::codec::LengthDelimitedCodec;
///
/// codec::decoder_invariant(b"\0\0\0\x02hi\0\0\0\x00", LengthDelimitedCodec::new);
/// ```
///
/// # Panics
///
/// If some plan changes the frames or the error, with the full report.
#[track_caller]
pub fn decoder_invariant<D, F>(input: impl AsRef<[u8]>, decoder: F)
where
    D: Decoder,
    D::Item: PartialEq + Debug + 'static,
    D::Error: Display,
    F: Fn() -> D,
{
    decoder_oracle(decoder).assert(input);
}

/// Compares one plan of `input` with the whole input for the decoders `decoder` builds: the
/// form to call from inside `proptest!` (with `?`) or in a regression test.
///
/// # Examples
///
/// ```
/// use piecemeal::adapters::codec;
/// use piecemeal::strategy;
/// use proptest::prelude::*;
/// use tokio_util::codec::LinesCodec;
///
/// proptest!(|((input, plan) in strategy::chunked("[a-z\r\n]{0,24}"))| {
///     codec::decoder_same_as_whole(&input, plan, LinesCodec::new)?;
/// });
/// ```
///
/// # Errors
///
/// A [`Divergence`] if the frames or the error differ under `chunking`.
pub fn decoder_same_as_whole<D, F>(
    input: impl AsRef<[u8]>,
    chunking: Chunking,
    decoder: F,
) -> Result<(), Divergence>
where
    D: Decoder,
    D::Item: PartialEq + Debug + 'static,
    D::Error: Display,
    F: Fn() -> D,
{
    decoder_oracle(decoder).check_plan(input, chunking)
}

/// Encodes `items` with `encoder` into one buffer, as `FramedWrite` would before sending it.
///
/// # Panics
///
/// If the encoder fails on an item: the check needs the encoded bytes.
#[track_caller]
pub fn encode_all<I, E>(items: impl IntoIterator<Item = I>, encoder: &mut E) -> BytesMut
where
    E: Encoder<I>,
    E::Error: Display,
{
    let mut out = BytesMut::new();
    for (i, item) in items.into_iter().enumerate() {
        if let Err(e) = encoder.encode(item, &mut out) {
            panic!("piecemeal: the encoder failed on item {i}: {e}");
        }
    }
    out
}

/// Checks an [`Encoder`] against a [`Decoder`]: encodes `items` with `encoder` into one
/// stream, then checks that the decoders `decoder` builds return the same frames under every
/// plan of that stream as with it whole ([`decoder_invariant`] on the encoded bytes).
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::adapters::codec;
/// use tokio_util::codec::LengthDelimitedCodec;
///
/// let items = [Bytes::from("hello"), Bytes::new(), Bytes::from("world")];
/// codec::encode_decode_invariant(items, LengthDelimitedCodec::new(), LengthDelimitedCodec::new);
/// ```
///
/// # Panics
///
/// If the encoder fails on an item, or if some plan of the encoded stream changes the frames
/// or the error, with the full report (whose input is the encoded stream).
#[track_caller]
pub fn encode_decode_invariant<I, E, D, F>(
    items: impl IntoIterator<Item = I>,
    mut encoder: E,
    decoder: F,
) where
    E: Encoder<I>,
    E::Error: Display,
    D: Decoder,
    D::Item: PartialEq + Debug + 'static,
    D::Error: Display,
    F: Fn() -> D,
{
    let encoded = encode_all(items, &mut encoder);
    decoder_oracle(decoder).assert(encoded);
}

/// [`encode_decode_invariant`] for one plan of the encoded stream: the form to call from
/// inside `proptest!` (with `?`).
///
/// # Panics
///
/// If the encoder fails on an item.
///
/// # Errors
///
/// A [`Divergence`] if the frames or the error differ under `chunking`.
#[track_caller]
pub fn encode_decode_same_as_whole<I, E, D, F>(
    items: impl IntoIterator<Item = I>,
    mut encoder: E,
    chunking: Chunking,
    decoder: F,
) -> Result<(), Divergence>
where
    E: Encoder<I>,
    E::Error: Display,
    D: Decoder,
    D::Item: PartialEq + Debug + 'static,
    D::Error: Display,
    F: Fn() -> D,
{
    let encoded = encode_all(items, &mut encoder);
    decoder_oracle(decoder).check_plan(encoded, chunking)
}
