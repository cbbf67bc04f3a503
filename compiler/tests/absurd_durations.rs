//! Issue 9, item 8 (check half): durations that cannot mean what they say are check errors.
//! A wait, poll, retry, timeout or window of zero is E0209, a literal beyond the longest
//! duration is E0210, and constant arithmetic that leaves the range is E0211 instead of a
//! silently saturated value.

mod support;

use rbk_compiler::diagnostics::Code;
use support::{codes, runbook};

fn verify(expect: &str) -> String {
    runbook(&format!(
        "  verify v {{\n    expect pg.pool_usage(db) < 70% {expect}\n  }}"
    ))
}

#[test]
fn polling_every_zero_seconds_is_refused() {
    assert_eq!(
        codes(&verify("within 1m every 0s")),
        vec![Code::ZeroDuration]
    );
    assert_eq!(codes(&verify("within 0s")), vec![Code::ZeroDuration]);
    assert_eq!(
        codes(&verify("within 1m every 1s - 1s")),
        vec![Code::ZeroDuration]
    );
    assert_eq!(codes(&verify("within 1m every 5s")), vec![]);
}

#[test]
fn zero_retries_timeouts_and_windows_are_refused() {
    let step = |option: &str| runbook(&format!("  step s {{\n    {option}\n    log \"x\"\n  }}"));
    assert_eq!(codes(&step("retry 3 every 0s")), vec![Code::ZeroDuration]);
    assert_eq!(codes(&step("timeout 0ms")), vec![Code::ZeroDuration]);
    assert_eq!(
        codes(&step(
            "approval required from \"oncall\" timeout 0s on timeout deny"
        )),
        vec![Code::ZeroDuration]
    );
    assert_eq!(codes(&step("retry 3 every 2s backoff exponential")), vec![]);
    let run_timeout = runbook("  timeout 0s\n  step s {\n    log \"x\"\n  }");
    assert_eq!(codes(&run_timeout), vec![Code::ZeroDuration]);
    let window = runbook("  rate 3 per 0s\n  step s {\n    log \"x\"\n  }");
    assert_eq!(codes(&window), vec![Code::ZeroDuration]);
}

#[test]
fn an_overflowing_duration_literal_is_out_of_range() {
    let overflow = runbook("  timeout 99999999999999999d\n  step s {\n    log \"x\"\n  }");
    assert_eq!(codes(&overflow), vec![Code::DurationOutOfRange]);
    // Fits in 64 unsigned bits of milliseconds, but not in a time offset.
    let beyond_time = runbook("  timeout 9300000000000000000ms\n  step s {\n    log \"x\"\n  }");
    assert_eq!(codes(&beyond_time), vec![Code::DurationOutOfRange]);
    let long = runbook("  timeout 36500d\n  step s {\n    log \"x\"\n  }");
    assert_eq!(codes(&long), vec![]);
}

#[test]
fn constant_duration_arithmetic_does_not_saturate() {
    assert_eq!(
        codes(&verify("within 2m - 5m every 5s")),
        vec![Code::DurationArithmeticOutOfRange]
    );
    assert_eq!(
        codes(&verify("within 100000000d * 100000 every 5s")),
        vec![Code::DurationArithmeticOutOfRange]
    );
    assert_eq!(
        codes(&verify("within 1m * -2 every 5s")),
        vec![Code::DurationArithmeticOutOfRange]
    );
    // Reported once, where the range is first left, not again for every enclosing operation.
    assert_eq!(
        codes(&verify("within (1m - 2m) + 5m + 5m every 5s")),
        vec![Code::DurationArithmeticOutOfRange]
    );
    assert_eq!(codes(&verify("within 5m - 2m + 30s every 5s")), vec![]);
}
