//! `--http URL`: the request through the tunnel, as the check builds it.

use std::net::{IpAddr, SocketAddr};

/// The most bytes of a response read (head and body); more is cut, and said.
pub const RESPONSE_LIMIT: usize = 1 << 20;

/// What `--http` and `--http-expect` ask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpSpec {
    pub url: String,
    pub target: Option<SocketAddr>,
    /// The Host header.
    pub host: String,
    /// Path and query.
    pub path: String,
    /// Status codes that are OK; empty: any 2xx or 3xx.
    pub expect: Vec<u16>,
}

/// Why an `--http` flag is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpSpecError {
    #[error("--http '{0}': not a URL ({1})")]
    Url(String, String),
    #[error("--http '{0}': https through the tunnel is not supported yet; give an http:// URL, or check the port with --tcp-connect")]
    Https(String),
    #[error("--http '{0}': only http:// URLs")]
    Scheme(String),
    #[error("--http '{0}': the host must be an address (names through the tunnel's DNS are not supported yet; look the name up with --dns)")]
    Name(String),
    #[error("--http-expect '{0}': status codes from 100 to 599, separated by commas")]
    Expect(String),
}

impl HttpSpec {
    pub fn parse(url: &str, expect: Option<&str>) -> Result<HttpSpec, HttpSpecError> {
        let u = url::Url::parse(url).map_err(|e| HttpSpecError::Url(url.into(), e.to_string()))?;
        match u.scheme() {
            "http" => {}
            "https" => return Err(HttpSpecError::Https(url.into())),
            _ => return Err(HttpSpecError::Scheme(url.into())),
        }
        let ip: IpAddr = match u.host() {
            Some(url::Host::Ipv4(a)) => a.into(),
            Some(url::Host::Ipv6(a)) => a.into(),
            _ => return Err(HttpSpecError::Name(url.into())),
        };
        let port = u.port().unwrap_or(80);
        let host = match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => ip.to_string(),
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
            target: Some(SocketAddr::new(ip, port)),
            host,
            path,
            expect,
        })
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
        let s = HttpSpec::parse("http://10.8.0.1:8080/status?x=1", Some("200,204")).unwrap();
        assert_eq!(s.target, Some("10.8.0.1:8080".parse().unwrap()));
        assert_eq!(s.host, "10.8.0.1:8080");
        assert_eq!(s.path, "/status?x=1");
        assert!(s.wanted(204) && !s.wanted(301));
        let r = String::from_utf8(s.request()).unwrap();
        assert!(
            r.starts_with("GET /status?x=1 HTTP/1.1\r\nHost: 10.8.0.1:8080\r\n"),
            "{r}"
        );
        let s = HttpSpec::parse("http://[fd00::1]/", None).unwrap();
        assert_eq!(s.target, Some("[fd00::1]:80".parse().unwrap()));
        assert!(s.wanted(302) && !s.wanted(404));
        assert!(matches!(
            HttpSpec::parse("https://10.0.0.1/", None),
            Err(HttpSpecError::Https(_))
        ));
        assert!(matches!(
            HttpSpec::parse("http://intranet/", None),
            Err(HttpSpecError::Name(_))
        ));
        assert!(matches!(
            HttpSpec::parse("ftp://10.0.0.1/", None),
            Err(HttpSpecError::Scheme(_))
        ));
        assert!(matches!(
            HttpSpec::parse("nonsense", None),
            Err(HttpSpecError::Url(..))
        ));
        assert!(matches!(
            HttpSpec::parse("http://10.0.0.1/", Some("700")),
            Err(HttpSpecError::Expect(_))
        ));
    }
}
