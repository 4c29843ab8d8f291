//! Ready-made protocols: the peers and probes a protocol test needs, so nobody writes an
//! accumulating protocol or an aborting client again.
//!
//! Batteries included; drop to [`Protocol`](crate::Protocol) when you outgrow them. Each is
//! built only on the public API.
