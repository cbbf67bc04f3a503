//! `[web]` resolved: who may look, the trusted proxy's header and addresses, cookies, and the
//! key that signs sessions.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderName;
use ipnet::IpNet;
use rbk_compiler::config::WebConfig;

use super::session::SessionKey;
use crate::config::SettingsError;

/// The environment variable holding the session key; without it a random key is made at start
/// and sessions end when the server restarts.
pub const SESSION_KEY_ENV: &str = "RBK_WEB_SESSION_KEY";
const MIN_KEY_LEN: usize = 32;

#[derive(Clone, Debug)]
pub struct WebSettings {
    pub public_read: bool,
    /// `http://LISTEN` unless rbk.toml says where people reach it.
    pub base_url: String,
    pub trusted_proxy: Option<TrustedProxy>,
    pub secure_cookies: Option<bool>,
    pub key: SessionKey,
    /// The key came from `RBK_WEB_SESSION_KEY` (sessions survive a restart).
    pub key_from_env: bool,
}

#[derive(Clone, Debug)]
pub struct TrustedProxy {
    pub header: HeaderName,
    pub from: Vec<IpNet>,
}

impl TrustedProxy {
    /// True when `peer` is one of the proxy's addresses. An IPv4 peer seen as an IPv6-mapped
    /// address (`::ffff:10.0.0.1`) is the IPv4 one.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        self.from.iter().any(|net| net.contains(&peer))
    }
}

impl WebSettings {
    pub fn resolve(
        config: Option<&WebConfig>,
        listen: SocketAddr,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<WebSettings, SettingsError> {
        let empty = WebConfig::default();
        let config = config.unwrap_or(&empty);
        let (key, key_from_env) = match env(SESSION_KEY_ENV).filter(|k| !k.trim().is_empty()) {
            Some(text) if text.len() < MIN_KEY_LEN => {
                return Err(SettingsError(format!(
                    "{SESSION_KEY_ENV} is {} characters long; use at least {MIN_KEY_LEN} random characters (e.g. `openssl rand -hex 32`)",
                    text.len()
                )))
            }
            Some(text) => (SessionKey::new(text.into_bytes()), true),
            None => (SessionKey::random().map_err(|e| SettingsError(e.to_string()))?, false),
        };
        let trusted_proxy = match &config.trusted_proxy {
            None => None,
            Some(proxy) => {
                let header = HeaderName::try_from(proxy.header.trim()).map_err(|_| {
                    SettingsError(format!(
                        "rbk.toml [web.trusted_proxy] header `{}` is not an HTTP header name; write one such as X-Forwarded-User",
                        proxy.header
                    ))
                })?;
                if proxy.from.is_empty() {
                    return Err(SettingsError(
                        "rbk.toml [web.trusted_proxy] from is empty: name the proxy's addresses (e.g. from = [\"127.0.0.1\"]), or remove the table".into(),
                    ));
                }
                let from = proxy
                    .from
                    .iter()
                    .map(|text| parse_net(text))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(TrustedProxy { header, from })
            }
        };
        let base_url = config
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        Ok(WebSettings {
            public_read: config.public_read,
            base_url,
            trusted_proxy,
            secure_cookies: config.secure_cookies,
            key,
            key_from_env,
        })
    }
}

fn parse_net(text: &str) -> Result<IpNet, SettingsError> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            SettingsError(format!(
                "rbk.toml [web.trusted_proxy] from: `{text}` is not an IP address or CIDR range such as 10.0.0.0/8"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rbk_compiler::config::TrustedProxyConfig;

    fn listen() -> SocketAddr {
        "127.0.0.1:9095".parse().unwrap()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn with_proxy(from: &[&str]) -> Result<WebSettings, SettingsError> {
        let config = WebConfig {
            trusted_proxy: Some(TrustedProxyConfig {
                header: "X-Forwarded-User".into(),
                from: from.iter().map(|s| s.to_string()).collect(),
            }),
            ..WebConfig::default()
        };
        WebSettings::resolve(Some(&config), listen(), &no_env)
    }

    #[test]
    fn defaults_need_a_person_and_link_to_the_listen_address() {
        let web = WebSettings::resolve(None, listen(), &no_env).unwrap();
        assert!(!web.public_read);
        assert_eq!(web.base_url, "http://127.0.0.1:9095");
        assert!(!web.key_from_env);
    }

    #[test]
    fn trusts_only_the_named_addresses() {
        let proxy = with_proxy(&["10.0.0.0/8", "192.168.1.7"])
            .unwrap()
            .trusted_proxy
            .unwrap();
        assert!(proxy.trusts("10.1.2.3".parse().unwrap()));
        assert!(proxy.trusts("::ffff:10.1.2.3".parse().unwrap()));
        assert!(proxy.trusts("192.168.1.7".parse().unwrap()));
        assert!(!proxy.trusts("192.168.1.8".parse().unwrap()));
        assert!(!proxy.trusts("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn refuses_a_bad_proxy_address_or_an_empty_list() {
        assert!(with_proxy(&["10.0.0.300"])
            .unwrap_err()
            .0
            .contains("10.0.0.300"));
        assert!(with_proxy(&[]).unwrap_err().0.contains("from is empty"));
    }

    #[test]
    fn a_short_session_key_is_refused() {
        let short = |name: &str| (name == SESSION_KEY_ENV).then(|| "short".to_string());
        let refused = WebSettings::resolve(None, listen(), &short).unwrap_err();
        assert!(refused.0.contains(SESSION_KEY_ENV), "{refused:?}");
        let long = |name: &str| (name == SESSION_KEY_ENV).then(|| "k".repeat(40));
        assert!(
            WebSettings::resolve(None, listen(), &long)
                .unwrap()
                .key_from_env
        );
    }
}
