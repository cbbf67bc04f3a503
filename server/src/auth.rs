//! `Authorization: Bearer TOKEN` on the intake, compared in constant time.

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

/// True when the request may use the intake: the token matches, or none is configured (then
/// the server only listens on loopback; see `Settings::resolve`).
pub fn authorized(headers: &HeaderMap, token: Option<&str>) -> bool {
    let Some(expected) = token else {
        return true;
    };
    let Some(given) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", value.parse().unwrap());
        headers
    }

    #[test]
    fn only_the_right_bearer_token_passes() {
        assert!(authorized(&with("Bearer s3cret"), Some("s3cret")));
        assert!(!authorized(&with("Bearer s3cre"), Some("s3cret")));
        assert!(!authorized(&with("Bearer s3cret2"), Some("s3cret")));
        assert!(!authorized(&with("Basic s3cret"), Some("s3cret")));
        assert!(!authorized(&HeaderMap::new(), Some("s3cret")));
    }

    #[test]
    fn without_a_configured_token_everything_passes() {
        assert!(authorized(&HeaderMap::new(), None));
    }
}
