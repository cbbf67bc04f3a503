//! Masking secret values by value, wherever they turn up.
//!
//! A `secret("X")` value never prints as itself (its `Display` is `<secret X>`), but a program
//! can hand it back: `echo` prints its argument, an HTTP endpoint echoes a header, a database
//! error quotes a name. So the engine keeps a [`SecretMask`] of every secret value the run has
//! read and passes everything that leaves it — journal events (and so the live display, the
//! store and `rbk log`), action arguments and results, approval prompts, error messages and the
//! run's summary — through [`SecretMask::mask`], which replaces each known value, and its
//! obvious encodings, with `<secret X>`.
//!
//! What is masked for a secret `X` with value `V`: `V` itself; `V` percent-encoded (as in a URL
//! or a form body), JSON-escaped, and in base64; and when `V` is a connection string with a
//! password (`scheme://user:PASSWORD@host/db` or `password=PASSWORD`), that password too, as
//! written and percent-decoded — the rest of a connection string (host, user, database) is not
//! secret. A value (or password) shorter than [`SHORTEST_MASKED`] characters is not masked by
//! value: it would replace every `1` or `abc` in every output. The engine says so in the run's
//! journal the first time such a secret is read.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use crate::journal::EventKind;
use crate::value::Value;

/// Secrets (and password parts) shorter than this are not masked by value.
pub const SHORTEST_MASKED: usize = 4;

/// The secret values a run has read, and how to hide them. Clones share what they know.
#[derive(Clone, Default)]
pub struct SecretMask {
    known: Arc<Mutex<Known>>,
}

#[derive(Default)]
struct Known {
    /// (text to hide, secret name), longest text first so the longest match wins.
    patterns: Vec<(String, String)>,
    names: BTreeSet<String>,
}

/// What [`SecretMask::learn`] found new about a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Learned {
    /// Masked from now on (or seen before).
    Masked,
    /// Read for the first time, and it (or the password in it) is too short to mask by value.
    TooShort,
}

/// Why a journal event could not be masked, so it must not be written.
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    #[error("{0}")]
    Encode(#[source] serde_json::Error),
    #[error("a journal event is not a JSON object")]
    NotAnObject,
    #[error("a masked journal event does not read back: {0}")]
    ReadBack(#[source] serde_json::Error),
}

impl SecretMask {
    /// Remembers the secret `name` with `value`: from now on every output hides it.
    pub fn learn(&self, name: &str, value: &str) -> Learned {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        // The same name read again (the variable changed) may hold a new value: learn it too.
        add(&mut known, name, forms_of(value));
        let first_time = known.names.insert(name.to_string());
        let too_short = |text: &str| text.chars().count() < SHORTEST_MASKED;
        if first_time
            && (too_short(value) || connection_password(value).is_some_and(|p| too_short(&p)))
        {
            Learned::TooShort
        } else {
            Learned::Masked
        }
    }

    /// Masks `value` from now on without counting `name` as read: a secret known before the
    /// runbook asks for it (a credential) is still reported as too short when it does.
    pub fn learn_quietly(&self, name: &str, value: &str) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        add(&mut known, name, forms_of(value));
    }

    /// Learns every secret inside `value` (a list of secrets, a record holding one).
    pub fn learn_value(&self, value: &Value) -> Vec<String> {
        let mut too_short = Vec::new();
        walk_secrets(value, &mut |name, secret| {
            if self.learn(name, secret) == Learned::TooShort {
                too_short.push(name.to_string());
            }
        });
        too_short
    }

    /// `text` with every known secret value (and encoding) replaced by `<secret NAME>`.
    pub fn mask(&self, text: &str) -> String {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.patterns.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'scan: while let Some(first) = rest.chars().next() {
            for (pattern, name) in &known.patterns {
                if let Some(after) = rest.strip_prefix(pattern.as_str()) {
                    out.push_str("<secret ");
                    out.push_str(name);
                    out.push('>');
                    rest = after;
                    continue 'scan;
                }
            }
            out.push(first);
            rest = &rest[first.len_utf8()..];
        }
        out
    }

    /// `value` with every string in it masked; secrets stay secrets (an action needs them).
    pub fn mask_value(&self, value: Value) -> Value {
        match value {
            Value::Str(text) => Value::Str(self.mask(&text)),
            Value::List(items) => {
                Value::List(items.into_iter().map(|v| self.mask_value(v)).collect())
            }
            Value::Map(map) => Value::Map(
                map.into_iter()
                    .map(|(k, v)| (self.mask(&k), self.mask_value(v)))
                    .collect(),
            ),
            Value::Record(map) => Value::Record(
                map.into_iter()
                    .map(|(k, v)| (k, self.mask_value(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// Every string (and object key) in `json`, masked.
    pub fn mask_json(&self, json: serde_json::Value) -> serde_json::Value {
        use serde_json::Value as Json;
        match json {
            Json::String(text) => Json::String(self.mask(&text)),
            Json::Array(items) => {
                Json::Array(items.into_iter().map(|v| self.mask_json(v)).collect())
            }
            Json::Object(object) => Json::Object(
                object
                    .into_iter()
                    .map(|(k, v)| (self.mask(&k), self.mask_json(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// A journal event with every string in it masked. `Err` if the masked event no longer
    /// reads back (it then must not be written at all).
    pub fn mask_event(&self, kind: EventKind) -> Result<EventKind, MaskError> {
        if self.is_empty() {
            return Ok(kind);
        }
        let json = serde_json::to_value(&kind).map_err(MaskError::Encode)?;
        let serde_json::Value::Object(object) = json else {
            return Err(MaskError::NotAnObject);
        };
        // The tag says which event this is; it is never data, so it is never masked.
        let masked: serde_json::Map<String, serde_json::Value> = object
            .into_iter()
            .map(|(k, v)| match k.as_str() {
                "event" => (k, v),
                _ => (k, self.mask_json(v)),
            })
            .collect();
        serde_json::from_value(serde_json::Value::Object(masked)).map_err(MaskError::ReadBack)
    }

    fn is_empty(&self) -> bool {
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .patterns
            .is_empty()
    }
}

fn add(known: &mut Known, name: &str, forms: Vec<String>) {
    for form in forms {
        if !known.patterns.iter().any(|(p, _)| *p == form) {
            known.patterns.push((form, name.to_string()));
        }
    }
    known
        .patterns
        .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
}

fn walk_secrets(value: &Value, found: &mut dyn FnMut(&str, &str)) {
    match value {
        Value::Secret(secret) => found(&secret.name, secret.expose()),
        Value::List(items) => items.iter().for_each(|v| walk_secrets(v, found)),
        Value::Map(map) | Value::Record(map) => map.values().for_each(|v| walk_secrets(v, found)),
        _ => {}
    }
}

/// The texts that give `value` away: itself, its encodings, and a connection string's password.
fn forms_of(value: &str) -> Vec<String> {
    let mut forms = Vec::new();
    let mut push = |text: String| {
        if text.chars().count() >= SHORTEST_MASKED && !forms.contains(&text) {
            forms.push(text);
        }
    };
    push(value.to_string());
    push(percent_encode(value, false));
    push(percent_encode(value, true));
    push(json_escape(value));
    push(base64(value.as_bytes()));
    if let Some(password) = connection_password(value) {
        push(percent_decode(&password));
        push(percent_encode(&percent_decode(&password), false));
        push(password);
    }
    forms
}

/// The password of `scheme://user:password@host/...` or of `... password=secret ...`.
pub fn connection_password(value: &str) -> Option<String> {
    if let Some((_, rest)) = value.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        let (userinfo, _) = authority.rsplit_once('@')?;
        let (_, password) = userinfo.split_once(':')?;
        return (!password.is_empty()).then(|| password.to_string());
    }
    // libpq key/value form: `host=db user=app password='p w'`.
    let start = value.find("password=")? + "password=".len();
    let tail = &value[start..];
    let password = match tail.strip_prefix('\'') {
        Some(quoted) => quoted.split('\'').next().unwrap_or(quoted),
        None => tail.split_whitespace().next().unwrap_or(tail),
    };
    (!password.is_empty()).then(|| password.to_string())
}

/// Percent-encoding of everything but RFC 3986's unreserved characters; `form` writes a space
/// as `+`, as an HTML form body does.
fn percent_encode(text: &str, form: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            b' ' if form => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The text as it appears inside a JSON string.
fn json_escape(text: &str) -> String {
    let quoted = serde_json::Value::String(text.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// Standard base64 without padding (so it also matches inside a longer encoded text that
/// starts with the secret, like a basic-auth header's `TOKEN:`).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    // Only whole groups of three bytes encode the same whatever follows them.
    let stable = bytes.len() / 3 * 4;
    if stable >= SHORTEST_MASKED {
        out.truncate(stable);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_secret_is_masked_where_a_program_echoes_it() {
        let mask = SecretMask::default();
        assert_eq!(mask.learn("TOKEN", "hunter2-xyz"), Learned::Masked);
        assert_eq!(
            mask.mask("echo: hunter2-xyz, again hunter2-xyz"),
            "echo: <secret TOKEN>, again <secret TOKEN>"
        );
    }

    #[test]
    fn obvious_encodings_of_a_secret_are_masked() {
        let mask = SecretMask::default();
        mask.learn("TOKEN", "a b/c\"d:e");
        for encoded in ["a%20b%2Fc%22d%3Ae", "a+b%2Fc%22d%3Ae", "a b/c\\\"d:e"] {
            assert_eq!(
                mask.mask(&format!("[{encoded}]")),
                "[<secret TOKEN>]",
                "{encoded}"
            );
        }
        let mask = SecretMask::default();
        mask.learn("KEY", "open-sesame!");
        // base64("open-sesame!") is b3Blbi1zZXNhbWUh
        assert_eq!(
            mask.mask("Authorization: Basic b3Blbi1zZXNhbWUhOg=="),
            "Authorization: Basic <secret KEY>Og=="
        );
    }

    #[test]
    fn a_connection_strings_password_is_masked_but_not_its_host_user_or_database() {
        let mask = SecretMask::default();
        mask.learn(
            "DB_URL",
            "postgres://app:p%40ss-w0rd@db.internal:5432/orders",
        );
        assert_eq!(
            mask.mask("connecting to postgres://app:p%40ss-w0rd@db.internal:5432/orders"),
            "connecting to <secret DB_URL>"
        );
        assert_eq!(
            mask.mask("password p@ss-w0rd rejected for app@db.internal:5432/orders"),
            "password <secret DB_URL> rejected for app@db.internal:5432/orders"
        );
        let mask = SecretMask::default();
        mask.learn("DSN", "host=db user=app password='s3cret pw' dbname=x");
        assert_eq!(mask.mask("got s3cret pw"), "got <secret DSN>");
    }

    #[test]
    fn secrets_too_short_to_mask_are_reported_not_masked() {
        let mask = SecretMask::default();
        assert_eq!(mask.learn("PIN", "123"), Learned::TooShort);
        assert_eq!(mask.learn("PIN", "123"), Learned::Masked);
        assert_eq!(mask.mask("port 1234"), "port 1234");
    }

    #[test]
    fn the_longest_secret_wins_and_masks_are_not_masked_again() {
        let mask = SecretMask::default();
        mask.learn("SHORT", "secret");
        mask.learn("LONG", "secret-and-more");
        assert_eq!(
            mask.mask("secret-and-more secret"),
            "<secret LONG> <secret SHORT>"
        );
    }

    #[test]
    fn journal_events_are_masked_in_every_field_but_their_tag() {
        let mask = SecretMask::default();
        mask.learn("STEP", "step_failed-token");
        let event = EventKind::StepFailed {
            step: "call".into(),
            error: "exit 1: step_failed-token".into(),
        };
        assert_eq!(
            mask.mask_event(event).unwrap(),
            EventKind::StepFailed {
                step: "call".into(),
                error: "exit 1: <secret STEP>".into(),
            }
        );
    }

    #[test]
    fn values_keep_their_secrets_and_lose_copies_of_them() {
        use crate::value::Secret;
        let mask = SecretMask::default();
        let secret = Value::Secret(Secret::new("TOKEN", "hunter2-xyz"));
        assert!(mask
            .learn_value(&Value::List(vec![secret.clone()]))
            .is_empty());
        let value = Value::List(vec![secret.clone(), Value::str("out: hunter2-xyz")]);
        assert_eq!(
            mask.mask_value(value),
            Value::List(vec![secret, Value::str("out: <secret TOKEN>")])
        );
    }
}
