//! SplitMix64 (Steele, Lea and Flood; Vigna's reference code): the one small, explicit PRNG
//! behind seeded chunkings, seeded schedules and the oracle's sampled plans, so a seed gives the
//! same numbers on every platform and in every version of a dependency.

#[derive(Clone, Debug)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `1..=max` (Lemire's unbiased multiply-and-reject), `max >= 1`.
    pub(crate) fn size(&mut self, max: u64) -> u64 {
        let threshold = max.wrapping_neg() % max;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(max);
            // The low half decides rejection; the high half is the draw.
            if m as u64 >= threshold {
                return (m >> 64) as u64 + 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_sequence() {
        // Vigna's splitmix64.c from seed 1234567.
        let mut r = SplitMix64::new(1_234_567);
        assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
    }
}
