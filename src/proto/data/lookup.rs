//! A name of a URL looked up through the tunnel: the A (then AAAA) question to the
//! tunnel's DNS server, and the addresses its reply gives, built and read with
//! hickory-proto.

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use std::net::IpAddr;

/// The question for `name`'s IPv4 (`v6: false`) or IPv6 addresses with this id. `None`
/// for a name DNS cannot carry.
pub fn query(name: &str, v6: bool, id: u16) -> Option<Vec<u8>> {
    let name = Name::from_utf8(name).ok()?;
    let rtype = if v6 { RecordType::AAAA } else { RecordType::A };
    let mut m = Message::new();
    m.set_id(id)
        .set_message_type(MessageType::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(name, rtype));
    m.to_vec().ok()
}

/// A response code as `dig` shows it: `NXDOMAIN`, `SERVFAIL`, ...
pub fn code_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("RCODE {}", u16::from(other)),
    }
}

/// What a reply says about the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Looked {
    /// The addresses of the asked family in the answer section (CNAMEs followed by the
    /// server, as a stub resolver takes them).
    Addresses(Vec<IpAddr>),
    /// NOERROR without an address of the asked family.
    NoAddress,
    /// An error code: `NXDOMAIN`, `SERVFAIL`, ...
    Error(String),
    /// Not a DNS response.
    Malformed(String),
}

/// Reads the reply to [`query`].
pub fn read(reply: &[u8]) -> Looked {
    let m = match Message::from_vec(reply) {
        Ok(m) => m,
        Err(e) => return Looked::Malformed(e.to_string()),
    };
    if m.message_type() != MessageType::Response {
        return Looked::Malformed("a query, not a response".into());
    }
    if m.response_code() != ResponseCode::NoError {
        return Looked::Error(code_name(m.response_code()));
    }
    let addresses: Vec<IpAddr> = m
        .answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect();
    if addresses.is_empty() {
        Looked::NoAddress
    } else {
        Looked::Addresses(addresses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::{rdata, Record};

    fn reply(q: &[u8], code: ResponseCode, answers: Vec<RData>) -> Vec<u8> {
        let q = Message::from_vec(q).unwrap();
        let mut m = Message::new();
        m.set_id(q.id())
            .set_message_type(MessageType::Response)
            .set_response_code(code)
            .add_queries(q.queries().to_vec());
        let name = q.queries()[0].name().clone();
        for a in answers {
            m.add_answer(Record::from_rdata(name.clone(), 60, a));
        }
        m.to_vec().unwrap()
    }

    #[test]
    fn questions_and_replies() {
        let q = query("intranet.example", false, 0x1234).unwrap();
        assert_eq!(&q[..2], &[0x12, 0x34]);
        let r = reply(
            &q,
            ResponseCode::NoError,
            vec![
                RData::CNAME(rdata::CNAME(Name::from_utf8("www.example").unwrap())),
                RData::A(rdata::A([10, 8, 0, 1].into())),
            ],
        );
        assert_eq!(
            read(&r),
            Looked::Addresses(vec!["10.8.0.1".parse().unwrap()])
        );
        let q6 = query("intranet.example", true, 7).unwrap();
        let r = reply(
            &q6,
            ResponseCode::NoError,
            vec![RData::AAAA(rdata::AAAA("fd00::1".parse().unwrap()))],
        );
        assert_eq!(
            read(&r),
            Looked::Addresses(vec!["fd00::1".parse().unwrap()])
        );
        assert_eq!(
            read(&reply(&q, ResponseCode::NoError, vec![])),
            Looked::NoAddress
        );
        assert_eq!(
            read(&reply(&q, ResponseCode::NXDomain, vec![])),
            Looked::Error("NXDOMAIN".into())
        );
        assert!(matches!(read(&q), Looked::Malformed(_)));
        assert!(matches!(read(b"\x00"), Looked::Malformed(_)));
        assert!(query("a..b", false, 1).is_none());
    }
}
