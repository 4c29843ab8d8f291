//! The chunking-invariance oracle (being written).
