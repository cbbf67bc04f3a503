//! Where the connection string asks for TLS, and the rustls configuration that gives it.
//!
//! tokio-postgres understands `sslmode=disable|prefer|require` only; libpq's `verify-ca`,
//! `verify-full` and `sslrootcert` are taken out of the string here and turned into the
//! certificate checks libpq would make.

use std::sync::Arc;

use crate::natives::tls::AcceptAnyCertificate;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// Why a connection string's TLS options cannot be followed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "sslmode `{mode}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
    )]
    UnknownSslMode { mode: String },
    #[error("TLS setup failed: {0}")]
    Setup(#[source] rustls::Error),
    #[error("TLS setup failed: {0}")]
    Verifier(#[source] rustls::client::VerifierBuilderError),
    #[error("cannot read sslrootcert {}: {source}", path.display())]
    RootCertUnreadable {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sslrootcert {}: {source}", path.display())]
    RootCertNotPem {
        path: std::path::PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("sslrootcert {}: {source}", path.display())]
    RootCertRefused {
        path: std::path::PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error(
        "no trusted root certificates found for sslmode verify-ca/verify-full: \
         set sslrootcert to a PEM file"
    )]
    NoRoots,
}

/// What the connection string asks for, libpq's way.
#[derive(Clone, Debug, PartialEq)]
pub enum TlsMode {
    /// No `sslmode`, `disable` or `allow`: a plain connection.
    Plain,
    /// `prefer`: TLS if the server offers it, without checking its certificate.
    Prefer,
    /// `require` (without `sslrootcert`): TLS or nothing, certificate not checked (libpq's
    /// meaning: protects against eavesdropping, not against impersonation).
    Require,
    /// `verify-ca` (or `require` with `sslrootcert`): the certificate chains to a trusted root.
    VerifyCa { root_cert: Option<String> },
    /// `verify-full`: `verify-ca` plus the host name matches the certificate.
    VerifyFull { root_cert: Option<String> },
}

/// Splits the libpq TLS options out of a `postgres://` URL or a `key=value` string. Returns
/// the string tokio-postgres should parse and the mode.
pub fn split_tls_options(conninfo: &str) -> Result<(String, TlsMode), TlsError> {
    let mut sslmode: Option<String> = None;
    let mut root_cert: Option<String> = None;
    let rest = if let Some((base, query)) = conninfo
        .starts_with("postgres")
        .then(|| conninfo.split_once('?'))
        .flatten()
    {
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => sslmode = Some(percent_decode(value)),
                "sslrootcert" => root_cert = Some(percent_decode(value)),
                _ => kept.push(pair),
            }
        }
        if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else if conninfo.starts_with("postgres") {
        conninfo.to_string()
    } else {
        // `host=... sslmode=...`: values with spaces must be quoted, which these two never need.
        let mut kept = Vec::new();
        for token in conninfo.split_whitespace() {
            match token.split_once('=') {
                Some(("sslmode", value)) => sslmode = Some(value.trim_matches('\'').to_string()),
                Some(("sslrootcert", value)) => {
                    root_cert = Some(value.trim_matches('\'').to_string())
                }
                _ => kept.push(token),
            }
        }
        kept.join(" ")
    };
    let mode = match sslmode.as_deref() {
        None | Some("disable") | Some("allow") => TlsMode::Plain,
        Some("prefer") => TlsMode::Prefer,
        Some("require") => match root_cert {
            Some(_) => TlsMode::VerifyCa { root_cert },
            None => TlsMode::Require,
        },
        Some("verify-ca") => TlsMode::VerifyCa { root_cert },
        Some("verify-full") => TlsMode::VerifyFull { root_cert },
        Some(other) => {
            return Err(TlsError::UnknownSslMode {
                mode: other.to_string(),
            })
        }
    };
    Ok((rest, mode))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls configuration for a mode that uses TLS (`None` for [`TlsMode::Plain`]).
pub fn client_config(mode: &TlsMode) -> Result<Option<ClientConfig>, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?;
    let config = match mode {
        TlsMode::Plain => return Ok(None),
        TlsMode::Prefer | TlsMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
            .with_no_client_auth(),
        TlsMode::VerifyCa { root_cert } | TlsMode::VerifyFull { root_cert } => {
            let roots = Arc::new(roots(root_cert.as_deref())?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(TlsError::Verifier)?;
            let verifier: Arc<dyn ServerCertVerifier> = match mode {
                TlsMode::VerifyCa { .. } => Arc::new(ChainOnly(webpki)),
                _ => webpki,
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth()
        }
    };
    Ok(Some(config))
}

/// `sslrootcert=PATH` (PEM), `sslrootcert=system`, or by default `~/.postgresql/root.crt`
/// when it exists and the system's trust store otherwise.
fn roots(root_cert: Option<&str>) -> Result<RootCertStore, TlsError> {
    let default_file = std::env::var_os("HOME")
        .map(|home| std::path::Path::new(&home).join(".postgresql/root.crt"))
        .filter(|path| path.exists());
    let file = match root_cert {
        Some("system") => None,
        Some(path) => Some(std::path::PathBuf::from(path)),
        None => default_file,
    };
    let mut store = RootCertStore::empty();
    match file {
        Some(path) => {
            let pem = std::fs::read(&path).map_err(|source| TlsError::RootCertUnreadable {
                path: path.clone(),
                source,
            })?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|source| TlsError::RootCertNotPem {
                    path: path.clone(),
                    source,
                })?;
                store
                    .add(cert)
                    .map_err(|source| TlsError::RootCertRefused {
                        path: path.clone(),
                        source,
                    })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
        }
    }
    if store.is_empty() {
        return Err(TlsError::NoRoots);
    }
    Ok(store)
}

/// `sslmode=verify-ca`: the chain must lead to a trusted root; the host name is not compared.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_unless_asked() {
        let (rest, mode) = split_tls_options("postgres://u:p@db:5432/orders").unwrap();
        assert_eq!(rest, "postgres://u:p@db:5432/orders");
        assert_eq!(mode, TlsMode::Plain);
        let (_, mode) = split_tls_options("postgres://db/orders?sslmode=disable").unwrap();
        assert_eq!(mode, TlsMode::Plain);
    }

    #[test]
    fn verify_modes_are_taken_out_of_the_url() {
        let (rest, mode) = split_tls_options(
            "postgresql://u@db/orders?application_name=rbk&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(rest, "postgresql://u@db/orders?application_name=rbk");
        assert_eq!(
            mode,
            TlsMode::VerifyFull {
                root_cert: Some("/etc/ca.pem".into())
            }
        );
        let (_, mode) = split_tls_options("postgres://db/x?sslmode=require").unwrap();
        assert_eq!(mode, TlsMode::Require);
        let (_, mode) =
            split_tls_options("postgres://db/x?sslmode=require&sslrootcert=/ca.pem").unwrap();
        assert_eq!(
            mode,
            TlsMode::VerifyCa {
                root_cert: Some("/ca.pem".into())
            }
        );
    }

    #[test]
    fn key_value_strings_work_too() {
        let (rest, mode) = split_tls_options("host=db dbname=orders sslmode=verify-ca").unwrap();
        assert_eq!(rest, "host=db dbname=orders");
        assert_eq!(mode, TlsMode::VerifyCa { root_cert: None });
    }

    #[test]
    fn unknown_sslmode_is_an_error() {
        assert!(split_tls_options("postgres://db/x?sslmode=always").is_err());
    }
}
