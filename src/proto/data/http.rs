//! One HTTP/1.1 exchange over the tunnel's TCP connection: the request as the check
//! layer built it, the response read with httparse, bounded.

/// What a response says so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub reason: String,
    /// Where the body starts in the bytes read.
    pub header_len: usize,
    pub content_length: Option<usize>,
    pub chunked: bool,
}

/// The response being read.
#[derive(Debug, Default)]
pub struct Response {
    bytes: Vec<u8>,
    head: Option<Head>,
    /// More than the limit came: the rest was not read.
    pub cut: bool,
    limit: usize,
}

/// Why a response cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadResponse {
    /// Not HTTP/1.x (httparse's reason).
    NotHttp(String),
    /// The head alone is longer than the limit.
    HeadTooLong,
}

impl Response {
    /// A reader that keeps at most `limit` bytes of head and body.
    pub fn new(limit: usize) -> Response {
        Response {
            limit,
            ..Response::default()
        }
    }

    /// More bytes of the stream.
    pub fn push(&mut self, data: &[u8]) -> Result<(), BadResponse> {
        let room = self.limit.saturating_sub(self.bytes.len());
        if data.len() > room {
            self.cut = true;
        }
        self.bytes.extend_from_slice(&data[..data.len().min(room)]);
        if self.head.is_none() {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut r = httparse::Response::new(&mut headers);
            match r.parse(&self.bytes) {
                Ok(httparse::Status::Complete(len)) => {
                    let header = |name: &str| {
                        r.headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case(name))
                            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
                    };
                    let content_length = header("content-length").and_then(|v| v.parse().ok());
                    let chunked = header("transfer-encoding")
                        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
                    self.head = Some(Head {
                        status: r.code.unwrap_or(0),
                        reason: r.reason.unwrap_or_default().to_string(),
                        header_len: len,
                        content_length,
                        chunked,
                    });
                }
                Ok(httparse::Status::Partial) if self.cut => return Err(BadResponse::HeadTooLong),
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(BadResponse::NotHttp(e.to_string())),
            }
        }
        Ok(())
    }

    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    /// Body bytes read (chunked framing included).
    pub fn body_len(&self) -> usize {
        self.head
            .as_ref()
            .map_or(0, |h| self.bytes.len().saturating_sub(h.header_len))
    }

    /// The whole response is in: its length reached, a chunked body's last chunk, or the
    /// limit (the rest is not wanted). A body of neither kind ends with the connection.
    pub fn complete(&self) -> bool {
        let Some(h) = &self.head else {
            return false;
        };
        if self.cut {
            return true;
        }
        // No body: HEAD-like answers, 1xx, 204, 304.
        if h.status == 204 || h.status == 304 || (100..200).contains(&h.status) {
            return true;
        }
        match (h.content_length, h.chunked) {
            (Some(n), false) => self.body_len() >= n,
            (_, true) => self.bytes.ends_with(b"0\r\n\r\n"),
            (None, false) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_in_pieces() {
        let mut r = Response::new(1 << 20);
        r.push(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap();
        assert!(r.head().is_none());
        r.push(b"ngth: 5\r\n\r\nhel").unwrap();
        assert_eq!(r.head().unwrap().status, 200);
        assert!(!r.complete());
        r.push(b"lo").unwrap();
        assert!(r.complete());
        assert_eq!(r.body_len(), 5);
    }

    #[test]
    fn chunked_limits_and_junk() {
        let mut r = Response::new(1 << 20);
        r.push(b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
            .unwrap();
        assert!(!r.complete());
        r.push(b"0\r\n\r\n").unwrap();
        assert!(r.complete());
        assert_eq!(r.head().unwrap().reason, "Not Found");

        let mut r = Response::new(64);
        r.push(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
        r.push(&[b'x'; 100]).unwrap();
        assert!(r.cut && r.complete());
        assert_eq!(r.body_len(), 64 - 19);

        let mut r = Response::new(1 << 20);
        assert!(matches!(
            r.push(b"SSH-2.0-OpenSSH_9.2\r\n"),
            Err(BadResponse::NotHttp(_))
        ));
        let mut r = Response::new(16);
        assert_eq!(
            r.push(b"HTTP/1.1 200 OK\r\nServer: x\r\n"),
            Err(BadResponse::HeadTooLong)
        );
    }
}
