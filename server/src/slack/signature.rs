//! Slack's request signature: `X-Slack-Signature` is `v0=` and the hex HMAC-SHA256 of
//! `v0:{X-Slack-Request-Timestamp}:{raw body}` keyed with the app's signing secret. Checked on
//! the raw bytes before anything is parsed, in constant time, within five minutes of now (a
//! request captured once cannot be replayed later).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Slack's own window: older (or newer) requests are refused.
pub const MAX_AGE_S: i64 = 300;

#[derive(Debug, PartialEq)]
pub enum SignatureError {
    Missing(&'static str),
    BadTimestamp,
    Stale { age_s: i64 },
    Mismatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::Missing(header) => write!(f, "the request has no {header} header"),
            SignatureError::BadTimestamp => {
                write!(f, "X-Slack-Request-Timestamp is not a number of seconds")
            }
            SignatureError::Stale { age_s } => write!(
                f,
                "the request is {age_s} s away from now (more than {MAX_AGE_S} s): a replay or a wrong clock"
            ),
            SignatureError::Mismatch => write!(
                f,
                "X-Slack-Signature does not match the body: not from Slack, or the signing secret differs"
            ),
        }
    }
}

/// `Ok` when the request was signed with `secret` within [`MAX_AGE_S`] of `now_s`.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_s: i64,
) -> Result<(), SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::Missing("X-Slack-Request-Timestamp"))?;
    let signature = signature.ok_or(SignatureError::Missing("X-Slack-Signature"))?;
    let sent_at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    let age_s = now_s.saturating_sub(sent_at);
    if age_s.abs() > MAX_AGE_S {
        return Err(SignatureError::Stale { age_s });
    }
    let expected = sign(secret, timestamp.trim(), body);
    if bool::from(expected.as_bytes().ct_eq(signature.trim().as_bytes())) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `X-Slack-Signature` value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    // An HMAC key may have any length; `new_from_slice` cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut text = String::with_capacity(3 + digest.len() * 2);
    text.push_str("v0=");
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack),
    // whose signature python's hmac module computes the same.
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const THEN: i64 = 1531420618;

    #[test]
    fn slacks_documented_example_verifies() {
        assert_eq!(sign(SECRET, TIMESTAMP, BODY.as_bytes()), SIGNATURE);
        assert_eq!(
            verify(
                SECRET,
                Some(TIMESTAMP),
                Some(SIGNATURE),
                BODY.as_bytes(),
                THEN + 10
            ),
            Ok(())
        );
    }

    #[test]
    fn one_changed_byte_of_the_body_fails() {
        let tampered = BODY.replace("roadrunner", "roadrunnes");
        assert_eq!(
            verify(
                SECRET,
                Some(TIMESTAMP),
                Some(SIGNATURE),
                tampered.as_bytes(),
                THEN
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn another_secret_fails() {
        assert_eq!(
            verify(
                b"not-the-secret",
                Some(TIMESTAMP),
                Some(SIGNATURE),
                BODY.as_bytes(),
                THEN
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_replay_after_five_minutes_fails_even_with_the_right_signature() {
        assert_eq!(
            verify(
                SECRET,
                Some(TIMESTAMP),
                Some(SIGNATURE),
                BODY.as_bytes(),
                THEN + 301
            ),
            Err(SignatureError::Stale { age_s: 301 })
        );
        assert!(verify(
            SECRET,
            Some(TIMESTAMP),
            Some(SIGNATURE),
            BODY.as_bytes(),
            THEN - 301
        )
        .is_err());
        assert_eq!(
            verify(
                SECRET,
                Some(TIMESTAMP),
                Some(SIGNATURE),
                BODY.as_bytes(),
                THEN + 300
            ),
            Ok(())
        );
    }

    #[test]
    fn a_timestamp_moved_into_the_window_breaks_the_signature() {
        let moved = (THEN + 1000).to_string();
        assert_eq!(
            verify(
                SECRET,
                Some(&moved),
                Some(SIGNATURE),
                BODY.as_bytes(),
                THEN + 1000
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_headers_and_junk_timestamps_fail() {
        assert_eq!(
            verify(SECRET, None, Some(SIGNATURE), BODY.as_bytes(), THEN),
            Err(SignatureError::Missing("X-Slack-Request-Timestamp"))
        );
        assert_eq!(
            verify(SECRET, Some(TIMESTAMP), None, BODY.as_bytes(), THEN),
            Err(SignatureError::Missing("X-Slack-Signature"))
        );
        assert_eq!(
            verify(SECRET, Some("soon"), Some(SIGNATURE), BODY.as_bytes(), THEN),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            verify(SECRET, Some(TIMESTAMP), Some("v0="), BODY.as_bytes(), THEN),
            Err(SignatureError::Mismatch)
        );
    }
}
