//! `Scripted`: a peer that follows a script and fails with a diff when the protocol strays.

use std::time::Duration;

use bytes::Bytes;
use piecemeal::event::Misuse;
use piecemeal::protocols::{Echo, Script, Scripted, Step};
use piecemeal::{Chunking, Config, Event, Harness, Pair, PanicPolicy, Reason};
use pretty_assertions::assert_eq;

use super::support::{misuse_events, panic_text, plan_pairs, plans, transcript_of};

// ----- Scripted ------------------------------------------------------------------------------

#[test]
fn script_is_a_value_that_prints_as_code() {
    let script = Script::new()
        .expect(b"HELLO\r\n")
        .send(b"hi \"you\"\\\x00\xff\t")
        .wait(Duration::from_secs(2))
        .wait(Duration::from_millis(1500))
        .wait(Duration::from_micros(7))
        .wait(Duration::from_nanos(3))
        .half_close()
        .expect_eof()
        .close()
        .abort();
    assert_eq!(
        script.to_string(),
        concat!(
            r#"Script::new().expect(b"HELLO\r\n").send(b"hi \"you\"\\\0\xff\t")"#,
            ".wait(Duration::from_secs(2)).wait(Duration::from_millis(1500))",
            ".wait(Duration::from_micros(7)).wait(Duration::from_nanos(3))",
            ".half_close().expect_eof().close().abort()"
        )
    );
    assert_eq!(format!("{script:?}"), script.to_string());
    assert_eq!(script.len(), 10);
    assert_eq!(script.steps()[2], Step::Wait(Duration::from_secs(2)));
    assert_ne!(script, Script::new());
    assert!(Script::new().is_empty());
    assert_eq!(
        Script::new().then(Step::Close),
        Script::new().close(),
        "then(step) is the general form"
    );
}

#[test]
fn scripted_plays_a_conversation_under_any_chunking() {
    for (c2s, s2c) in plan_pairs() {
        let script = Script::new()
            .send(b"HELO me\r\n")
            .expect(b"HELO me\r\n")
            .send(b"QUIT\r\n")
            .expect(b"QUIT\r\n")
            .close();
        let mut pair = Pair::new(Scripted::new(script), Echo::new())
            .client_to_server(c2s)
            .server_to_client(s2c);
        pair.run();
        assert!(pair.client().is_done());
        assert!(pair.client().remaining().is_empty());
        assert_eq!(pair.client().reason(), Some(&Reason::Done));
        assert_eq!(pair.server().echoed(), 15);
        pair.client().assert_done();
    }
}

#[test]
fn scripted_expectations_carry_extra_bytes_over() {
    for plan in plans() {
        let script = Script::new().expect(b"ab").expect(b"cd").send(b"ok");
        let mut h = Harness::new(Scripted::new(script));
        h.deliver(b"abc", plan.clone());
        assert_eq!(h.protocol().unmatched(), b"c");
        assert!(h.written().is_empty());
        h.deliver(b"d", plan);
        assert_eq!(h.written(), b"ok");
        assert!(h.protocol().is_done());
    }
}

#[test]
fn scripted_waits_on_the_virtual_clock() {
    let script = Script::new()
        .send(b"a")
        .wait(Duration::from_secs(1))
        .send(b"b");
    let mut h = Harness::new(Scripted::new(script));
    h.connect();
    assert_eq!(h.written(), b"a");
    h.advance(Duration::from_millis(999));
    assert_eq!(h.written(), b"a");
    h.advance(Duration::from_millis(1));
    assert_eq!(h.written(), b"ab");
    assert!(h.protocol().is_done());
}

#[test]
fn scripted_half_closes_and_expects_the_eof() {
    for plan in plans() {
        let script = Script::new()
            .send(b"req")
            .half_close()
            .expect(b"resp")
            .expect_eof()
            .send(b"late?");
        let mut h = Harness::new(Scripted::new(script));
        h.connect();
        assert!(h.peer_got_eof());
        assert!(h.events().contains(&Event::WriteClosed));
        h.deliver(b"resp", plan.clone());
        h.peer_half_close();
        assert!(h.protocol().is_done());
        // Its write half was closed: the send after it is refused as misuse.
        let late = Misuse::WriteAfterWriteClosed(Bytes::from_static(b"late?"));
        assert_eq!(misuse_events(h.events()), [Event::Misuse(late)], "{plan}");
    }
}

#[test]
fn scripted_closes_on_eof_once_the_script_is_used_up() {
    let mut h = Harness::new(Scripted::new(Script::new().send(b"x")));
    h.peer_half_close();
    assert_eq!(h.lost(), Some(&Reason::Done));
    assert_eq!(h.written(), b"x");
}

#[test]
fn scripted_mismatch_fails_with_a_diff_the_step_and_the_transcript() {
    for plan in plans() {
        let text = panic_text(|| {
            let script = Script::new().send(b"hi").expect(b"HELLO\r\n").close();
            let mut h = Harness::new(Scripted::new(script));
            h.deliver(b"HELP!\r\n", plan.clone());
        });
        assert!(
            text.contains("step 2 of 3 .expect(b\"HELLO\\r\\n\")"),
            "{text}"
        );
        assert!(text.contains("received other bytes"), "{text}");
        assert!(
            text.contains(r#"script: Script::new().send(b"hi").expect(b"HELLO\r\n").close()"#),
            "{text}"
        );
        assert!(text.contains("HELP!"), "{text}");
        assert!(text.contains("Diff"), "{text}");
        assert!(text.contains("data_received"), "{text}");
        let transcript = transcript_of(&text);
        assert!(transcript.contains(r#"wrote b"HELP!\r\n""#), "{text}");
    }
}

#[test]
fn scripted_fails_on_eof_while_expecting_and_on_bytes_after_the_end() {
    let text = panic_text(|| {
        let mut h = Harness::new(Scripted::new(Script::new().expect(b"abc")));
        h.deliver(b"ab", Chunking::whole());
        h.peer_half_close();
    });
    assert!(
        text.contains("EOF arrived while bytes were expected"),
        "{text}"
    );
    assert!(text.contains("read_connection_lost"), "{text}");

    let text = panic_text(|| {
        let mut h = Harness::new(Scripted::new(Script::new().expect(b"ab")));
        h.deliver(b"abc", Chunking::every_byte());
    });
    assert!(text.contains("after the end of the script"), "{text}");

    let text = panic_text(|| {
        let mut h = Harness::new(Scripted::new(Script::new().expect_eof()));
        h.deliver(b"?", Chunking::whole());
    });
    assert!(text.contains("while the EOF was expected"), "{text}");
}

#[test]
fn scripted_fails_when_lost_with_steps_left() {
    let text = panic_text(|| {
        let mut h = Harness::new(Scripted::new(Script::new().expect(b"never")));
        h.deliver(b"nev", Chunking::whole());
        h.peer_abort();
    });
    assert!(text.contains("1 of 1 steps left"), "{text}");
    assert!(
        text.contains("connection lost: lost (reset by peer)"),
        "{text}"
    );
    assert!(
        text.contains("received and not matched: b\"nev\""),
        "{text}"
    );
    assert!(text.contains("connection_lost"), "{text}");
}

#[test]
fn scripted_dropped_with_steps_left_fails() {
    let scripted = Scripted::new(Script::new().send(b"a").expect(b"b"));
    let text = panic_text(move || drop(scripted));
    assert!(
        text.contains("2 of 2 steps left, waiting at step 1 .send(b\"a\")"),
        "{text}"
    );
    assert!(text.contains("dropped"), "{text}");

    let text = panic_text(|| {
        let mut h = Harness::new(Scripted::new(Script::new().expect(b"ab")));
        h.deliver(b"a", Chunking::whole());
        h.protocol().assert_done();
    });
    assert!(
        text.contains("waiting at step 1 .expect(b\"ab\")"),
        "{text}"
    );

    // A disarmed one is not checked, and a used-up one passes.
    let mut quiet = Scripted::new(Script::new().expect(b"x"));
    quiet.disarm();
    drop(quiet);
    drop(Scripted::new(Script::new()));
}

#[test]
fn scripted_failure_caught_by_the_panic_policy_is_raised_again_at_drop() {
    let cfg = Config::new().panic_policy(PanicPolicy::LoseConnection);
    let run = || {
        let mut h = Harness::new(Scripted::new(Script::new().expect(b"yes"))).config(cfg.clone());
        h.deliver(b"no!", Chunking::every_byte());
        assert!(matches!(h.lost(), Some(Reason::Panicked(_))));
        assert!(h.protocol().failure().is_some());
        h
    };
    let text = panic_text(|| drop(run()));
    assert!(text.contains("raised earlier"), "{text}");

    let mut h = run();
    h.protocol_mut().disarm();
    drop(h);
}

#[test]
fn scripted_name_labels_the_transcript() {
    let mut h = Harness::new(Scripted::new(Script::new().send(b"x")).name("smtp"));
    h.connect();
    assert!(h.transcript().to_string().contains("smtp"));
    assert_eq!(h.protocol().script(), &Script::new().send(b"x"));
}
