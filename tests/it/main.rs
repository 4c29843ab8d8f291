//! piecemeal's integration suite: one test binary, through the public API only.

mod aborting;
#[cfg(any(feature = "tokio", feature = "futures"))]
mod adapters_async;
#[cfg(feature = "codec")]
mod adapters_codec;
mod adapters_io;
mod chunking;
mod determinism;
mod faces;
mod lifecycle;
// Shared with the `line_invariance` fuzz target; only `properties` (proptest) uses it here.
#[cfg(feature = "proptest")]
mod line_invariance;
mod oracle;
mod properties;
mod protocols;
mod reactor;
mod regressions;
mod scripted;
mod semantics;
mod support;
mod sweeps;
mod time;
mod twisted;
