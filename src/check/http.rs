//! `--http URL`: the request through the tunnel, as the check builds it.

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::net::SocketAddr;
use std::sync::Arc;

/// The most bytes of a response read (head and body); more is cut, and said.
pub const RESPONSE_LIMIT: usize = 1 << 20;

/// What `--http`, `--http-expect` and `--http-ca` ask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpSpec {
    pub url: String,
    /// The server's address, when the URL names one.
    pub target: Option<SocketAddr>,
    /// The name of the URL, looked up through the tunnel's DNS (`None`: an address).
    pub name: Option<String>,
    /// The DNS server that looks the name up (`--dns-server`; `None`: the first pushed).
    pub dns_server: Option<std::net::IpAddr>,
    /// The port of the URL (80 or 443 unless it says).
    pub port: u16,
    /// https: TLS inside the TCP connection.
    pub tls: bool,
    /// The Host header.
    pub host: String,
    /// Path and query.
    pub path: String,
    /// Status codes that are OK; empty: any 2xx or 3xx.
    pub expect: Vec<u16>,
    /// The CA file of `--http-ca` (`None`: the system's trust store).
    pub ca: Option<String>,
    /// The certificates an https server's chain must lead to: `--http-ca`'s, or the
    /// system's trust store ([`HttpSpec::load_roots`]).
    pub roots: Vec<CertificateDer<'static>>,
}

/// Why an `--http` flag is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpSpecError {
    #[error("--http '{0}': not a URL ({1})")]
    Url(String, String),
    #[error("--http '{0}': only http:// and https:// URLs")]
    Scheme(String),
    #[error("--http '{0}': the name is not one DNS can carry")]
    Name(String),
    #[error("--http-ca needs an https:// URL in --http")]
    CaWithoutHttps,
    #[error("--http-ca: {0}")]
    Ca(String),
    #[error("--http '{0}': no trusted certificate in the system's trust store ({1}); give the server's CA with --http-ca FILE")]
    NoRoots(String, String),
    #[error("--http-expect '{0}': status codes from 100 to 599, separated by commas")]
    Expect(String),
}

impl HttpSpec {
    pub fn parse(
        url: &str,
        expect: Option<&str>,
        ca: Option<&str>,
    ) -> Result<HttpSpec, HttpSpecError> {
        let u = url::Url::parse(url).map_err(|e| HttpSpecError::Url(url.into(), e.to_string()))?;
        let tls = match u.scheme() {
            "http" => false,
            "https" => true,
            _ => return Err(HttpSpecError::Scheme(url.into())),
        };
        if ca.is_some() && !tls {
            return Err(HttpSpecError::CaWithoutHttps);
        }
        let port = u
            .port_or_known_default()
            .unwrap_or(if tls { 443 } else { 80 });
        let (target, name) = match u.host() {
            Some(url::Host::Ipv4(a)) => (Some(SocketAddr::new(a.into(), port)), None),
            Some(url::Host::Ipv6(a)) => (Some(SocketAddr::new(a.into(), port)), None),
            Some(url::Host::Domain(d)) => {
                if crate::proto::data::lookup::query(d, false, 0).is_none() {
                    return Err(HttpSpecError::Name(url.into()));
                }
                (None, Some(d.to_string()))
            }
            None => return Err(HttpSpecError::Url(url.into(), "no host".into())),
        };
        let host = match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => String::new(),
        };
        let mut path = u.path().to_string();
        if let Some(q) = u.query() {
            path.push('?');
            path.push_str(q);
        }
        let expect = match expect {
            None => Vec::new(),
            Some(text) => text
                .split(',')
                .map(|c| {
                    c.trim()
                        .parse::<u16>()
                        .ok()
                        .filter(|c| (100..600).contains(c))
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| HttpSpecError::Expect(text.into()))?,
        };
        Ok(HttpSpec {
            url: url.into(),
            target,
            name,
            dns_server: None,
            port,
            tls,
            host,
            path,
            expect,
            ca: ca.map(str::to_string),
            roots: Vec::new(),
        })
    }

    /// For https, the trust anchors: the `--http-ca` file, or the system's store (as
    /// curl on this host takes it: `SSL_CERT_FILE`/`SSL_CERT_DIR` first).
    pub fn load_roots(&mut self) -> Result<(), HttpSpecError> {
        if !self.tls {
            return Ok(());
        }
        self.roots = match &self.ca {
            Some(file) => crate::chain::load_ca_file(std::path::Path::new(file))
                .map_err(|e| HttpSpecError::Ca(e.to_string()))?,
            None => {
                let found = rustls_native_certs::load_native_certs();
                if found.certs.is_empty() {
                    let why = found
                        .errors
                        .first()
                        .map_or_else(|| "empty".to_string(), |e| e.to_string());
                    return Err(HttpSpecError::NoRoots(self.url.clone(), why));
                }
                found.certs
            }
        };
        Ok(())
    }

    /// The TLS client of an https request: the roots, TLS 1.2 and 1.3 with ring, ALPN
    /// `http/1.1`, and the name (or address) the certificate must carry.
    pub fn tls_client(&self) -> Option<(Arc<ClientConfig>, ServerName<'static>)> {
        if !self.tls {
            return None;
        }
        let mut store = RootCertStore::empty();
        store.add_parsable_certificates(self.roots.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()?
            .with_root_certificates(store)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = match (&self.name, self.target) {
            (Some(n), _) => ServerName::try_from(n.clone()).ok()?,
            (None, Some(t)) => ServerName::IpAddress(t.ip().into()),
            (None, None) => return None,
        };
        Some((Arc::new(config), name))
    }

    /// The request: HTTP/1.1 GET, the connection closed after the response.
    pub fn request(&self) -> Vec<u8> {
        format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: check_openvpn/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            self.path,
            self.host,
            env!("CARGO_PKG_VERSION")
        )
        .into_bytes()
    }

    /// Whether `status` is what the check wants.
    pub fn wanted(&self, status: u16) -> bool {
        if self.expect.is_empty() {
            (200..400).contains(&status)
        } else {
            self.expect.contains(&status)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_requests() {
        let s = HttpSpec::parse("http://10.8.0.1:8080/status?x=1", Some("200,204"), None).unwrap();
        assert_eq!(s.target, Some("10.8.0.1:8080".parse().unwrap()));
        assert_eq!(s.host, "10.8.0.1:8080");
        assert_eq!(s.path, "/status?x=1");
        assert!(s.wanted(204) && !s.wanted(301));
        let r = String::from_utf8(s.request()).unwrap();
        assert!(
            r.starts_with("GET /status?x=1 HTTP/1.1\r\nHost: 10.8.0.1:8080\r\n"),
            "{r}"
        );
        let s = HttpSpec::parse("http://[fd00::1]/", None, None).unwrap();
        assert_eq!(s.target, Some("[fd00::1]:80".parse().unwrap()));
        assert!(s.wanted(302) && !s.wanted(404));
        let s = HttpSpec::parse("https://10.0.0.1/", None, Some("ca.pem")).unwrap();
        assert!(s.tls && s.name.is_none());
        assert_eq!(s.target, Some("10.0.0.1:443".parse().unwrap()));
        let s = HttpSpec::parse("https://Intranet.example:8443/x", None, None).unwrap();
        assert_eq!(s.name.as_deref(), Some("intranet.example"));
        assert_eq!((s.target, s.port), (None, 8443));
        assert_eq!(s.host, "intranet.example:8443");
        assert!(matches!(
            HttpSpec::parse("http://10.0.0.1/", None, Some("ca.pem")),
            Err(HttpSpecError::CaWithoutHttps)
        ));
        assert!(matches!(
            HttpSpec::parse("ftp://10.0.0.1/", None, None),
            Err(HttpSpecError::Scheme(_))
        ));
        assert!(matches!(
            HttpSpec::parse("nonsense", None, None),
            Err(HttpSpecError::Url(..))
        ));
        assert!(matches!(
            HttpSpec::parse("http://10.0.0.1/", Some("700"), None),
            Err(HttpSpecError::Expect(_))
        ));
    }
}
