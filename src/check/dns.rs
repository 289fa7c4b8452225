//! `--dns NAME`: the question through the tunnel and what its reply says, built and read
//! with hickory-proto (the session only carries the bytes).

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use std::net::IpAddr;

/// What `--dns`, `--dns-type`, `--dns-server` and `--dns-expect` ask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsSpec {
    pub name: String,
    /// `A`, `AAAA`, `MX`, ... as DNS names them.
    pub record_type: String,
    /// `None`: the first DNS server the push names.
    pub server: Option<IpAddr>,
    /// An address that must be among the answers.
    pub expect: Option<IpAddr>,
}

/// Why a `--dns` flag is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsSpecError {
    #[error("--dns '{0}': not a DNS name ({1})")]
    Name(String, String),
    #[error("--dns-type '{0}': not a DNS record type (A, AAAA, MX, TXT, ...)")]
    Type(String),
}

impl DnsSpec {
    /// Checks the name and type as a query needs them.
    pub fn validate(&self) -> Result<(), DnsSpecError> {
        self.query(0).map(|_| ())
    }

    /// The query message with this id (recursion desired, as a stub resolver asks).
    pub fn query(&self, id: u16) -> Result<Vec<u8>, DnsSpecError> {
        let name = Name::from_utf8(&self.name)
            .map_err(|e| DnsSpecError::Name(self.name.clone(), e.to_string()))?;
        let rtype: RecordType = self
            .record_type
            .to_ascii_uppercase()
            .parse()
            .map_err(|_| DnsSpecError::Type(self.record_type.clone()))?;
        if matches!(rtype, RecordType::Unknown(_)) {
            return Err(DnsSpecError::Type(self.record_type.clone()));
        }
        let mut m = Message::new();
        m.set_id(id)
            .set_message_type(MessageType::Query)
            .set_recursion_desired(true)
            .add_query(Query::query(name, rtype));
        m.to_vec()
            .map_err(|e| DnsSpecError::Name(self.name.clone(), e.to_string()))
    }
}

/// A reply, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsReply {
    /// A response: its code, the records of the asked type in the answer section (as
    /// text: `10.8.0.1`, `10 mail.example.org.`), and whether it was cut (TC).
    Answer {
        code: String,
        no_error: bool,
        records: Vec<String>,
        addresses: Vec<IpAddr>,
        truncated: bool,
    },
    /// Not a DNS response at all.
    Malformed(String),
}

/// Reads the server's reply to a question of `record_type`.
pub fn read_reply(bytes: &[u8], record_type: &str) -> DnsReply {
    let m = match Message::from_vec(bytes) {
        Ok(m) => m,
        Err(e) => return DnsReply::Malformed(e.to_string()),
    };
    if m.message_type() != MessageType::Response {
        return DnsReply::Malformed("a query, not a response".into());
    }
    let wanted: Option<RecordType> = record_type.to_ascii_uppercase().parse().ok();
    let answers = m
        .answers()
        .iter()
        .filter(|r| Some(r.record_type()) == wanted);
    let code = m.response_code();
    DnsReply::Answer {
        code: crate::proto::data::lookup::code_name(code),
        no_error: code == ResponseCode::NoError,
        records: answers.clone().map(|r| r.data().to_string()).collect(),
        addresses: answers.filter_map(|r| r.data().ip_addr()).collect(),
        truncated: m.truncated(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, t: &str) -> DnsSpec {
        DnsSpec {
            name: name.into(),
            record_type: t.into(),
            server: None,
            expect: None,
        }
    }

    #[test]
    fn questions_and_bad_ones() {
        let q = spec("intranet.example.org", "a").query(0x1234).unwrap();
        assert_eq!(&q[..2], &[0x12, 0x34]);
        // One question, recursion desired.
        assert_eq!(q[2] & 0x01, 0x01);
        assert_eq!(&q[4..6], &[0, 1]);
        assert!(spec("x.example", "AAAA").validate().is_ok());
        assert!(matches!(
            spec("x.example", "NOPE").validate(),
            Err(DnsSpecError::Type(_))
        ));
        assert!(matches!(
            spec(&"a".repeat(70), "A").validate(),
            Err(DnsSpecError::Name(..))
        ));
    }

    #[test]
    fn a_query_is_no_reply() {
        let q = spec("x.example", "A").query(1).unwrap();
        assert!(matches!(read_reply(&q, "A"), DnsReply::Malformed(_)));
        assert!(matches!(read_reply(b"\x00", "A"), DnsReply::Malformed(_)));
    }
}
