//! Properties checked by proptest — each the twin of a fuzz target in `fuzz/`, calling the same
//! property code — and the shrink quality of `strategy::chunked`. The strategies need the
//! `proptest` feature.

#![cfg(feature = "proptest")]

use piecemeal::{Chunking, check, strategy};
use pretty_assertions::assert_eq;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};

use super::line_invariance;
use super::support::DropsLeadingNewline;

/// Line-ish payloads: short lines, `quit`, stray `\r` and `\n`.
fn lines() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\r\n".to_vec()),
        Just(b"quit\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        "[a-z]{1,6}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

/// Runs `check::same_as_whole` on the planted bug from one seed; returns the minimal case.
fn minimal_failure(
    payload: impl Strategy<Value = Vec<u8>>,
    seed: u8,
) -> Result<(Vec<u8>, Chunking), String> {
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&strategy::chunked(payload), |(input, plan)| {
        check::same_as_whole(&input, plan, DropsLeadingNewline::default)?;
        Ok(())
    });
    match result {
        Err(TestError::Fail(_, minimal)) => Ok(minimal),
        other => Err(format!("seed {seed}: expected a failure, got {other:?}")),
    }
}

#[test]
fn planted_newline_bug_shrinks_to_crlf_cut_at_one() {
    // Scenario: from random payloads and plans, whatever the first failure, the shrunk case
    // is the smallest there is.
    let want = (b"\r\n".to_vec(), Chunking::cuts([1]));
    for seed in 0..12 {
        let bytes = prop::collection::vec(prop::sample::select(b"ab\r\n".to_vec()), 0..32);
        assert_eq!(
            minimal_failure(bytes, seed),
            Ok(want.clone()),
            "seed {seed}"
        );
        let regex = "[a-z\r\n]{0,64}".prop_map(String::into_bytes);
        assert_eq!(
            minimal_failure(regex, seed),
            Ok(want.clone()),
            "seed {seed}"
        );
        assert_eq!(
            minimal_failure(lines(), seed),
            Ok(want.clone()),
            "seed {seed}"
        );
    }
}

#[test]
fn exhaustive_search_finds_the_planted_bug_where_proptest_does() {
    let found = check::Invariance::new(DropsLeadingNewline::default)
        .check(b"ab\r\ncd")
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([3]));
}

proptest! {
    /// Twin of the `lifecycle_ops` fuzz target.
    #[test]
    fn lifecycle_contract_holds(scenario in strategy::scenario(48)) {
        check::lifecycle_contract(&scenario)?;
    }

    /// Twin of the `line_invariance` fuzz target: the same property, from the same file.
    #[test]
    fn line_protocol_is_chunking_invariant((input, plan) in strategy::chunked(lines())) {
        line_invariance::holds(&input, plan)?;
    }

    /// The same property under the named plan families (`fixed`, `sizes`, `seeded`, ...).
    #[test]
    fn any_chunking_of_a_plan_family_is_invariant(input in lines(), plan in strategy::any_chunking(8)) {
        line_invariance::holds(&input, plan)?;
    }
}
