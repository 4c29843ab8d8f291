//! The `codec` adapter: tokio-util decoders driven the way `FramedRead` drives them.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use piecemeal::Chunking;
use piecemeal::adapters::codec::{self, decode_chunked, decoder_oracle, decoder_oracle_by};
use pretty_assertions::assert_eq;
use tokio_util::codec::{
    AnyDelimiterCodec, BytesCodec, Decoder, Encoder, LengthDelimitedCodec, LinesCodec,
};

use super::support::panic_text;

/// Splits on `\r\n`. `forgetful` is the planted bug: it remembers how far it searched, but not
/// that a `\r` at the end of the buffer may start a delimiter split across two pieces.
#[derive(Default)]
struct Crlf {
    forgetful: bool,
    searched: usize,
}

impl Decoder for Crlf {
    type Item = String;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<String>, io::Error> {
        let from = self.searched;
        match src[from..].windows(2).position(|w| w == b"\r\n") {
            Some(i) => {
                let line = src.split_to(from + i);
                src.advance(2);
                self.searched = 0;
                Ok(Some(String::from_utf8_lossy(&line).into_owned()))
            }
            None => {
                self.searched = if self.forgetful {
                    src.len() // the bug
                } else {
                    src.len().saturating_sub(1)
                };
                Ok(None)
            }
        }
    }
}

fn forgetful() -> Crlf {
    Crlf {
        forgetful: true,
        ..Crlf::default()
    }
}

#[test]
fn the_driver_calls_decode_until_none_per_piece_then_decode_eof() {
    let decoded = decode_chunked(&mut LinesCodec::new(), b"a\nb\nc", Chunking::cuts([4]));
    assert_eq!(*decoded.frames(), ["a", "b", "c"]);
    assert_eq!(decoded.error(), None);
    assert_eq!(
        decoded.trace(),
        [
            "piece 0: 4 b\"a\\nb\\n\" (buffer 4)",
            "decode(buffer of 4) -> Ok(Some(\"a\"))",
            "decode(buffer of 2) -> Ok(Some(\"b\"))",
            "decode(buffer of 0) -> Ok(None)",
            "piece 1: 1 b\"c\" (buffer 1)",
            "decode(buffer of 1) -> Ok(None)",
            "end of input",
            "decode_eof(buffer of 1) -> Ok(Some(\"c\"))",
            "decode_eof(buffer of 0) -> Ok(None)",
        ]
    );
}

#[test]
fn an_error_ends_the_stream_like_framed_read() {
    // Bytes left over at the end: the default decode_eof fails, and that is the last word.
    let decoded = decode_chunked(&mut forgetful(), b"a\r\nb", Chunking::whole());
    assert_eq!(*decoded.frames(), ["a"]);
    assert_eq!(decoded.error(), Some("bytes remaining on stream"));
    // An error in the middle stops decoding: nothing after it is decoded.
    let mut lines = LinesCodec::new_with_max_length(2);
    let decoded = decode_chunked(&mut lines, b"ab\nlong\ncd\n", Chunking::every_byte());
    assert_eq!(*decoded.frames(), ["ab"]);
    assert_eq!(decoded.error(), Some("max line length exceeded"));
}

#[test]
fn a_decoder_that_loses_a_split_delimiter_is_found_with_the_cut_inside_it() {
    let found = decoder_oracle(forgetful).check(b"a\r\nb\r\n").unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([2]));
    let report = found.to_string();
    for needle in [
        "the decoder behaves differently when its input is cut by Chunking::cuts([2])",
        "cut at offset 2: b\"a\\r\" | b\"\\nb\\r\\n\"",
        "first difference: line",
        "frames, < whole / > cut by Chunking::cuts([2])",
        "piecemeal::adapters::codec::decoder_same_as_whole(b\"a\\r\\nb\\r\\n\", \
         piecemeal::Chunking::cuts([2]), decoder).unwrap();",
        "piece 0: 2 b\"a\\r\" (buffer 2)",
    ] {
        assert!(report.contains(needle), "{needle:?} not in:\n{report}");
    }
    assert!(codec::decoder_same_as_whole(b"a\r\nb\r\n", Chunking::cuts([2]), forgetful).is_err());
    assert!(codec::decoder_same_as_whole(b"a\r\nb\r\n", Chunking::cuts([1]), forgetful).is_ok());
}

#[test]
#[should_panic(expected = "Chunking::cuts([2])")]
fn decoder_invariant_panics_with_the_report() {
    codec::decoder_invariant(b"a\r\nb\r\n", forgetful);
}

#[test]
fn the_correct_decoder_passes_every_plan_of_sixteen_bytes() {
    let input = b"ab\r\n\r\nc\rd\r\nef\r\r\n";
    assert_eq!(input.len(), 16);
    codec::decoder_invariant(input, Crlf::default);
    // And an input that ends mid-line: the same error under every plan.
    codec::decoder_invariant(b"ab\r\ncd\r", Crlf::default);
}

// ---- negative controls: tokio-util's own codecs ---------------------------------------------

#[test]
fn lines_codec_passes() {
    codec::decoder_invariant(b"one\ntwo\r\n\nthree", LinesCodec::new);
    codec::decoder_invariant(b"ab\nlong line\ncd\n", || {
        LinesCodec::new_with_max_length(4)
    });
    codec::decoder_invariant(b"\xff\xfe\n", LinesCodec::new); // invalid UTF-8: an error
    decoder_oracle(LinesCodec::new)
        .assert(b"a longer input\r\nwith a few\nlines in it\n and no end".repeat(3));
}

#[test]
fn length_delimited_codec_passes() {
    codec::decoder_invariant(
        b"\0\0\0\x03abc\0\0\0\0\0\0\0\x01z",
        LengthDelimitedCodec::new,
    );
    codec::decoder_invariant(b"\0\0\0\x09short", LengthDelimitedCodec::new); // truncated
    let two_byte = || {
        LengthDelimitedCodec::builder()
            .length_field_length(2)
            .new_codec()
    };
    codec::decoder_invariant(b"\0\x02hi\0\x05world", two_byte);
    codec::encode_decode_invariant(
        [Bytes::from("hello"), Bytes::new(), Bytes::from(vec![0; 40])],
        LengthDelimitedCodec::new(),
        LengthDelimitedCodec::new,
    );
}

#[test]
fn bytes_codec_passes_as_a_stream() {
    // BytesCodec returns whatever has arrived: its frames follow the pieces by design, and
    // their concatenation must not.
    decoder_oracle_by(BytesCodec::new, |frames| frames.concat()).assert(b"sixteen bytes!!!");
    let found = decoder_oracle(BytesCodec::new).check(b"ab").unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([1]));
    let encoded = codec::encode_all(
        [Bytes::from("ab"), Bytes::from("cd")],
        &mut BytesCodec::new(),
    );
    assert_eq!(&encoded[..], b"abcd");
    decoder_oracle_by(BytesCodec::new, |frames| frames.concat()).assert(encoded);
}

#[test]
fn any_delimiter_codec_passes() {
    codec::decoder_invariant(b"a,b;c,,d", || {
        AnyDelimiterCodec::new(b",;".to_vec(), b",".to_vec())
    });
}

#[test]
fn encode_decode_with_lines_codec_passes_and_a_planted_decoder_fails() {
    let items = ["GET / HTTP/1.1", "Host: example.com", ""];
    codec::encode_decode_invariant(items, LinesCodec::new(), LinesCodec::new);
    // CRLF lines from a tiny encoder, into the forgetful decoder: found on the encoded stream.
    struct CrlfEncoder;
    impl Encoder<&str> for CrlfEncoder {
        type Error = io::Error;
        fn encode(&mut self, item: &str, dst: &mut BytesMut) -> Result<(), io::Error> {
            dst.extend_from_slice(item.as_bytes());
            dst.extend_from_slice(b"\r\n");
            Ok(())
        }
    }
    let message = panic_text(|| {
        codec::encode_decode_invariant(["a", "b"], CrlfEncoder, forgetful);
    });
    assert!(message.contains("cut by Chunking::cuts([2])"), "{message}");
    assert!(
        message.contains("input (6 bytes): b\"a\\r\\nb\\r\\n\""),
        "{message}"
    );
    assert!(
        codec::encode_decode_same_as_whole(
            ["a", "b"],
            CrlfEncoder,
            Chunking::cuts([2]),
            Crlf::default
        )
        .is_ok()
    );
}

#[cfg(feature = "proptest")]
mod props {
    use super::*;
    use piecemeal::strategy;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn real_codecs_pass_random_inputs_and_plans(
            (input, plan) in strategy::chunked(proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(0u8), Just(3u8), any::<u8>()],
                0..96,
            ))
        ) {
            codec::decoder_same_as_whole(&input, plan.clone(), LinesCodec::new)?;
            codec::decoder_same_as_whole(&input, plan.clone(), || LinesCodec::new_with_max_length(5))?;
            codec::decoder_same_as_whole(&input, plan.clone(), Crlf::default)?;
            codec::decoder_same_as_whole(&input, plan, || {
                LengthDelimitedCodec::builder().length_field_length(1).new_codec()
            })?;
        }
    }
}
