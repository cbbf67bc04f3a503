//! The session cookie: who signed in and until when, signed with the server's key so that a
//! browser cannot change it. Nothing is kept on the server: with a random key (no
//! `RBK_WEB_SESSION_KEY`) every session ends when the server restarts.

use rbk_interpreter::audit::hmac_sha256;
use subtle::ConstantTimeEq;

pub const COOKIE: &str = "rbk_session";
/// A signed-in person stays signed in for a working shift.
pub const LIFETIME_MS: i64 = 12 * 60 * 60 * 1000;

/// The key sessions and CSRF tokens are signed with. Its `Debug` does not show it.
#[derive(Clone)]
pub struct SessionKey(Vec<u8>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(…)")
    }
}

impl SessionKey {
    pub fn new(bytes: Vec<u8>) -> SessionKey {
        SessionKey(bytes)
    }

    /// 32 random bytes: sessions signed with it end when the process does.
    pub fn random() -> Result<SessionKey, RandomError> {
        random_bytes::<32>()
            .map(|b| SessionKey(b.to_vec()))
            .map_err(RandomError::SessionKey)
    }

    /// Hex HMAC-SHA256 of `purpose` and `text`: the purpose keeps a CSRF token from ever being
    /// accepted as a session signature and back.
    pub fn sign(&self, purpose: &str, text: &str) -> String {
        hmac_sha256(&self.0, format!("{purpose}\n{text}").as_bytes())
    }

    pub fn verify(&self, purpose: &str, text: &str, signature: &str) -> bool {
        self.sign(purpose, text)
            .as_bytes()
            .ct_eq(signature.as_bytes())
            .into()
    }
}

/// The system's random generator failed where a secret value was needed.
#[derive(Debug, thiserror::Error)]
pub enum RandomError {
    // getrandom 0.2's error implements `std::error::Error` only with its `std` feature, which
    // this crate does not ask for: it is kept, not chained as a source.
    #[error("cannot make a session key: {0}")]
    SessionKey(getrandom::Error),
    #[error("cannot start a session: {0}")]
    Session(getrandom::Error),
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes)?;
    Ok(bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A signed-in person.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub person: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
    /// Random per sign-in: what CSRF tokens are bound to.
    pub id: String,
}

impl Session {
    pub fn start(person: &str, now_ms: i64) -> Result<Session, RandomError> {
        let id = random_bytes::<16>()
            .map(|b| hex(&b))
            .map_err(RandomError::Session)?;
        Ok(Session {
            person: person.to_string(),
            expires_at: now_ms + LIFETIME_MS,
            id,
        })
    }

    /// `PERSON_HEX.EXPIRY.ID.SIGNATURE`: only characters a cookie value may hold.
    pub fn to_cookie_value(&self, key: &SessionKey) -> String {
        let body = format!(
            "{}.{}.{}",
            hex(self.person.as_bytes()),
            self.expires_at,
            self.id
        );
        let signature = key.sign("session", &body);
        format!("{body}.{signature}")
    }

    /// The session a cookie value holds, when its signature is ours and it has not expired.
    pub fn from_cookie_value(value: &str, key: &SessionKey, now_ms: i64) -> Option<Session> {
        let (body, signature) = value.rsplit_once('.')?;
        if !key.verify("session", body, signature) {
            return None;
        }
        let mut parts = body.split('.');
        let person = String::from_utf8(unhex(parts.next()?)?).ok()?;
        let expires_at: i64 = parts.next()?.parse().ok()?;
        let id = parts.next()?.to_string();
        if parts.next().is_some() || expires_at <= now_ms || person.is_empty() {
            return None;
        }
        Some(Session {
            person,
            expires_at,
            id,
        })
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey::new(b"0123456789abcdef0123456789abcdef".to_vec())
    }

    #[test]
    fn a_session_survives_its_cookie() {
        let session = Session::start("alice <a>", 1_000).unwrap();
        let value = session.to_cookie_value(&key());
        assert!(value.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'));
        assert_eq!(
            Session::from_cookie_value(&value, &key(), 2_000),
            Some(session)
        );
    }

    #[test]
    fn an_edited_cookie_is_no_session() {
        let session = Session::start("alice", 1_000).unwrap();
        let value = session.to_cookie_value(&key());
        let as_mallory = value.replacen(&hex(b"alice"), &hex(b"mallory"), 1);
        assert_eq!(Session::from_cookie_value(&as_mallory, &key(), 2_000), None);
        let longer = value.replacen(
            &session.expires_at.to_string(),
            &(session.expires_at * 10).to_string(),
            1,
        );
        assert_eq!(Session::from_cookie_value(&longer, &key(), 2_000), None);
        let other_key = SessionKey::new(b"another key".to_vec());
        assert_eq!(Session::from_cookie_value(&value, &other_key, 2_000), None);
        assert_eq!(Session::from_cookie_value("garbage", &key(), 2_000), None);
        assert_eq!(Session::from_cookie_value("", &key(), 2_000), None);
    }

    #[test]
    fn an_expired_session_is_no_session() {
        let session = Session::start("alice", 1_000).unwrap();
        let value = session.to_cookie_value(&key());
        assert_eq!(
            Session::from_cookie_value(&value, &key(), 1_000 + LIFETIME_MS),
            None
        );
    }

    #[test]
    fn finds_a_cookie_among_others() {
        assert_eq!(cookie("a=1; rbk_session=x.y; b=2", COOKIE), Some("x.y"));
        assert_eq!(cookie("rbk_session_old=1", COOKIE), None);
    }
}
