//! Oracles: properties a protocol should have, checked by running it many ways.
//!
//! - The chunking-invariance oracle: a protocol behaves the same however its input is cut.
//! - Fault sweeps: a protocol's outcome when its peer closes, aborts or half-closes at every
//!   point of an exchange.
//!
//! Each check runs the protocol through the ordinary faces ([`Harness`](crate::Harness),
//! [`Pair`](crate::Pair)) and, on failure, reports the smallest case it found with a literal
//! to paste into a regression test and the transcript.

mod oracle;
mod sweep;

pub use self::oracle::*;
pub use self::sweep::*;
