//! Fault sweeps (being written).
