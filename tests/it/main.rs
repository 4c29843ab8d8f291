//! piecemeal's integration suite: one test binary, through the public API only.

mod chunking;
mod determinism;
mod faces;
mod lifecycle;
mod semantics;
mod support;
mod time;
mod twisted;
