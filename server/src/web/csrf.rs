//! CSRF tokens: every form carries one bound to who is signed in (the session's random id; for
//! a person named by a bearer token or the trusted proxy, the person), so a page on another
//! site, which cannot read ours, cannot make a form that passes.

use super::session::SessionKey;

/// The token forms of this person's pages carry.
pub fn token(key: &SessionKey, binding: &str) -> String {
    key.sign("csrf", binding)
}

/// True when `given` is the token for `binding`; compared in constant time.
pub fn check(key: &SessionKey, binding: &str, given: Option<&str>) -> bool {
    given.is_some_and(|given| key.verify("csrf", binding, given))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_of_this_session_passes() {
        let key = SessionKey::new(b"k".to_vec());
        let mine = token(&key, "session 1");
        assert!(check(&key, "session 1", Some(&mine)));
        assert!(!check(&key, "session 2", Some(&mine)));
        assert!(!check(&key, "session 1", None));
        assert!(!check(&key, "session 1", Some("")));
        // A session signature is not a CSRF token for the same text.
        assert!(!check(
            &key,
            "session 1",
            Some(&key.sign("session", "session 1"))
        ));
    }
}
