//! `http.cert_expires_in(url, timeout)`: how long until the TLS leaf certificate served at an
//! `https://` URL expires.
//!
//! Only a TCP connection and a TLS handshake (with SNI for a host name); no HTTP request is sent.
//! The handshake accepts **any** certificate, on purpose: the point is to read the expiry date of
//! a certificate that is expired, self-signed or issued by a private CA, which a verifying client
//! would refuse before it could be read. Nothing received is trusted or used beyond the leaf
//! certificate's `notAfter`. The host must still be in `[integrations.http] allowed_hosts`.
//!
//! The answer is the time from now until `notAfter`, or `0s` when the certificate has already
//! expired (durations are never negative). A bad URL, a DNS failure, a refused connection, a
//! failed handshake, no certificate or the timeout (which covers the whole exchange) fail the
//! step with a message naming `host:port`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rbk_compiler::config::HttpConfig;
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};
use reqwest::Url;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::tls::AcceptAnyCertificate;
use super::web;
use super::NativeAction;

const ACTION: &str = "http.cert_expires_in";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct CertExpiresIn {
    allowed_hosts: Vec<String>,
}

impl CertExpiresIn {
    pub fn new(config: Option<&HttpConfig>) -> Self {
        CertExpiresIn {
            allowed_hosts: config
                .map(|c| {
                    c.allowed_hosts
                        .iter()
                        .map(|h| h.to_ascii_lowercase())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    async fn expires_in(&self, call: &ActionCall) -> Result<Value, ActionError> {
        let text = web::string_arg(call, "url")?;
        let timeout = web::duration_arg(call, "timeout", DEFAULT_TIMEOUT);
        let target = Target::parse(text)?;
        if !super::http::host_allowed(&self.allowed_hosts, &target.host) {
            return Err(ActionError::new(format!(
                "{ACTION}: {} is not in [integrations.http] allowed_hosts in rbk.toml ({})",
                target.host,
                self.allowed_hosts.join(", ")
            )));
        }
        let address = target.address();
        let der = match tokio::time::timeout(timeout, leaf_certificate(&target)).await {
            Ok(result) => {
                result.map_err(|e| ActionError::new(format!("{ACTION} {address}: {e}")))?
            }
            Err(_) => {
                return Err(ActionError::new(format!(
                    "{ACTION} {address}: no TLS handshake within {}",
                    rbk_interpreter::value::format_duration(timeout.as_millis() as u64)
                )))
            }
        };
        let not_after = not_after(&der).map_err(|e| {
            ActionError::new(format!(
                "{ACTION} {address}: cannot read the certificate: {e}"
            ))
        })?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i128)
            .unwrap_or(0);
        Ok(Value::Duration(ms_until(not_after, now_ms)))
    }
}

impl NativeAction for CertExpiresIn {
    fn name(&self) -> &'static str {
        ACTION
    }

    fn arity(&self) -> usize {
        2
    }

    fn effect(&self) -> Effect {
        Effect::Read
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(self.expires_in(call))
    }
}

/// Where to connect and what name to present.
struct Target {
    /// As written in the URL, lower case (IPv6 without brackets).
    host: String,
    port: u16,
    server_name: ServerName<'static>,
}

impl Target {
    fn parse(text: &str) -> Result<Target, ActionError> {
        let url = Url::parse(text)
            .map_err(|e| ActionError::new(format!("{ACTION}: `{text}` is not a URL: {e}")))?;
        if url.scheme() != "https" {
            return Err(ActionError::new(format!(
                "{ACTION}: `{text}` is not an https:// URL"
            )));
        }
        let Some(written) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(ActionError::new(format!("{ACTION}: `{text}` has no host")));
        };
        let host = written
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let server_name = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => ServerName::from(ip),
            Err(_) => ServerName::try_from(host.clone()).map_err(|e| {
                ActionError::new(format!("{ACTION}: `{host}` is not a valid host name: {e}"))
            })?,
        };
        let port = url.port_or_known_default().unwrap_or(443);
        Ok(Target {
            host,
            port,
            server_name,
        })
    }

    /// `host:port`, `[v6]:port` for IPv6, for messages.
    fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Connects, shakes hands and returns the DER of the first certificate the server sent.
async fn leaf_certificate(target: &Target) -> Result<CertificateDer<'static>, HandshakeError> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(HandshakeError::Connect)?;
    let connector = TlsConnector::from(Arc::new(client_config()?));
    let tls = connector
        .connect(target.server_name.clone(), tcp)
        .await
        .map_err(HandshakeError::Handshake)?;
    let (_, connection) = tls.get_ref();
    let leaf = connection
        .peer_certificates()
        .and_then(|certs| certs.first())
        .ok_or(HandshakeError::NoCertificate)?;
    Ok(leaf.clone().into_owned())
}

/// Why no certificate came back from the server.
#[derive(Debug, thiserror::Error)]
enum HandshakeError {
    #[error("cannot connect: {0}")]
    Connect(#[source] std::io::Error),
    #[error("cannot set up TLS: {0}")]
    Setup(#[source] rustls::Error),
    #[error("TLS handshake failed: {0}")]
    Handshake(#[source] std::io::Error),
    #[error("the server sent no certificate")]
    NoCertificate,
}

fn client_config() -> Result<ClientConfig, HandshakeError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(HandshakeError::Setup)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        .with_no_client_auth();
    Ok(config)
}

/// `notAfter` of a DER certificate, in seconds since the Unix epoch.
fn not_after(der: &[u8]) -> Result<i64, x509_parser::nom::Err<x509_parser::error::X509Error>> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der)?;
    Ok(certificate.validity().not_after.timestamp())
}

/// Milliseconds from `now_ms` to `not_after` (seconds), 0 once passed.
fn ms_until(not_after: i64, now_ms: i128) -> u64 {
    let left = i128::from(not_after) * 1000 - now_ms;
    u64::try_from(left.max(0)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rbk_compiler::types::Ty;
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::server::{ClientHello, ResolvesServerCert};
    use rustls::sign::CertifiedKey;
    use rustls::ServerConfig;
    use std::sync::Mutex;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;
    use tokio_rustls::TlsAcceptor;

    const DAY: i64 = 24 * 60 * 60;

    fn call(url: &str, timeout_ms: u64) -> ActionCall {
        ActionCall {
            action: ACTION.into(),
            effect: Effect::Read,
            returns_handle: None,
            returns: Ty::Unknown,
            args: vec![
                ("url".to_string(), Value::str(url)),
                ("timeout".to_string(), Value::Duration(timeout_ms)),
            ],
            run_id: "run-1".into(),
        }
    }

    fn now_ms() -> i128 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i128
    }

    /// A TLS server on 127.0.0.1 serving a self-signed certificate for `localhost` valid from
    /// `not_before` to `not_after` (Unix seconds). Records the SNI name of each handshake.
    struct TlsServer {
        port: u16,
        names: Arc<Mutex<Vec<Option<String>>>>,
    }

    /// Serves the one certificate, noting the SNI name of each ClientHello (before the client
    /// can have finished its handshake, so the test never races the server).
    #[derive(Debug)]
    struct RecordingResolver {
        key: Arc<CertifiedKey>,
        names: Arc<Mutex<Vec<Option<String>>>>,
    }

    impl ResolvesServerCert for RecordingResolver {
        fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            let name = hello.server_name().map(str::to_string);
            self.names.lock().unwrap().push(name);
            Some(self.key.clone())
        }
    }

    impl TlsServer {
        async fn start(not_before: i64, not_after: i64) -> TlsServer {
            let key = rcgen::KeyPair::generate().unwrap();
            let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            params.not_before = time::OffsetDateTime::from_unix_timestamp(not_before).unwrap();
            params.not_after = time::OffsetDateTime::from_unix_timestamp(not_after).unwrap();
            let certificate = params.self_signed(&key).unwrap();
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let signing_key = provider
                .key_provider
                .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                    key.serialize_der(),
                )))
                .unwrap();
            let names = Arc::new(Mutex::new(Vec::new()));
            let resolver = RecordingResolver {
                key: Arc::new(CertifiedKey::new(
                    vec![certificate.der().clone()],
                    signing_key,
                )),
                names: names.clone(),
            };
            let config = ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(resolver));
            let acceptor = TlsAcceptor::from(Arc::new(config));
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        if let Ok(mut tls) = acceptor.accept(tcp).await {
                            let _ = tls.shutdown().await;
                        }
                    });
                }
            });
            TlsServer { port, names }
        }
    }

    #[tokio::test]
    async fn reads_the_expiry_of_a_self_signed_certificate_and_sends_sni() {
        let before = now_ms();
        let not_after = before.div_euclid(1000) as i64 + 5 * DAY;
        let server = TlsServer::start(not_after - 30 * DAY, not_after).await;
        let value = CertExpiresIn::new(None)
            .call(&call(&format!("https://localhost:{}/", server.port), 5_000))
            .await
            .unwrap();
        let after = now_ms();
        let Value::Duration(left) = value else {
            panic!("not a duration: {value:?}");
        };
        let left = i128::from(left);
        let not_after_ms = i128::from(not_after) * 1000;
        assert!(
            not_after_ms - after <= left && left <= not_after_ms - before,
            "{left} ms is outside [{}, {}]",
            not_after_ms - after,
            not_after_ms - before
        );
        assert_eq!(
            server.names.lock().unwrap().as_slice(),
            &[Some("localhost".to_string())]
        );
    }

    #[tokio::test]
    async fn an_expired_certificate_is_zero() {
        let now = now_ms().div_euclid(1000) as i64;
        let server = TlsServer::start(now - 30 * DAY, now - DAY).await;
        let value = CertExpiresIn::new(None)
            .call(&call(&format!("https://127.0.0.1:{}", server.port), 5_000))
            .await
            .unwrap();
        assert_eq!(value, Value::Duration(0));
    }

    #[tokio::test]
    async fn a_refused_connection_names_host_and_port() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let error = CertExpiresIn::new(None)
            .call(&call(&format!("https://127.0.0.1:{port}/"), 5_000))
            .await
            .unwrap_err();
        assert!(
            error.message.starts_with(&format!(
                "http.cert_expires_in 127.0.0.1:{port}: cannot connect"
            )),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn a_server_that_does_not_speak_tls_fails_the_handshake() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            if let Ok((mut tcp, _)) = listener.accept().await {
                let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
                let _ = tcp.shutdown().await;
            }
        });
        let error = CertExpiresIn::new(None)
            .call(&call(&format!("https://127.0.0.1:{port}/"), 5_000))
            .await
            .unwrap_err();
        assert!(
            error.message.starts_with(&format!(
                "http.cert_expires_in 127.0.0.1:{port}: TLS handshake failed"
            )),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn a_silent_server_is_a_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = tokio::spawn(async move {
            let accepted = listener.accept().await;
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(accepted);
        });
        let error = CertExpiresIn::new(None)
            .call(&call(&format!("https://127.0.0.1:{port}/"), 200))
            .await
            .unwrap_err();
        holder.abort();
        assert!(
            error
                .message
                .contains(&format!("127.0.0.1:{port}: no TLS handshake within")),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn urls_must_be_https_and_allowed() {
        let any = CertExpiresIn::new(None);
        let error = any
            .call(&call("http://orders.internal/", 1_000))
            .await
            .unwrap_err();
        assert!(
            error.message.contains("not an https://"),
            "{}",
            error.message
        );
        let error = any.call(&call("orders.internal", 1_000)).await.unwrap_err();
        assert!(error.message.contains("is not a URL"), "{}", error.message);
        let config = HttpConfig {
            allowed_hosts: vec!["*.example.com".into()],
        };
        let error = CertExpiresIn::new(Some(&config))
            .call(&call("https://internal.corp/", 1_000))
            .await
            .unwrap_err();
        assert!(
            error.message.contains("internal.corp is not in"),
            "{}",
            error.message
        );
    }

    #[test]
    fn the_port_defaults_to_443() {
        let target = Target::parse("https://Example.com/path").unwrap();
        assert_eq!(target.address(), "example.com:443");
        let target = Target::parse("https://[::1]:8443").unwrap();
        assert_eq!(target.address(), "[::1]:8443");
    }

    #[test]
    fn time_left_is_never_negative() {
        assert_eq!(ms_until(100, 99_500), 500);
        assert_eq!(ms_until(100, 100_000), 0);
        assert_eq!(ms_until(100, 250_000), 0);
    }
}
