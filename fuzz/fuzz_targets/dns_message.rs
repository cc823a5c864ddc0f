//! Any bytes into the DNS codec, as a datagram reaches the server: the message reader,
//! the strict query reader (or the error reply), a lookup in a small table and the
//! reply, at the UDP and the TCP limits. Never a panic; and every reply we write must
//! read back as the answer to the query: its id, its question, within the size limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rcompose::dns::message::{error_reply, Answer, Message, Query, Rcode, TCP_LIMIT};
use rcompose::dns::{Endpoint, Records, Resolution};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

fn records() -> &'static Records {
    static RECORDS: OnceLock<Records> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let mut records = Records::new();
        records.set_network("n", false);
        for i in 0..40u8 {
            let endpoint = Endpoint {
                container: format!("c{i}"),
                address: Ipv4Addr::new(10, 0, 0, i),
                name: format!("p-web-{i}"),
                aliases: vec!["web".into(), "a.b".into()],
            };
            records.add("n", endpoint).expect("valid endpoint");
        }
        records
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = Message::parse(data);
    let query = match Query::parse(data) {
        Ok(query) => query,
        Err(error) => {
            if let Some(reply) = error.rcode().and_then(|rcode| error_reply(data, rcode)) {
                assert_eq!(reply[..2], data[..2]);
            }
            return;
        }
    };
    let querier = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3));
    let (rcode, answers) = match records().resolve("n", querier, &query.question) {
        Resolution::Addresses(list) => (Rcode::NoError, list.into_iter().map(Answer::A).collect()),
        Resolution::Pointer(name) => (Rcode::NoError, vec![Answer::Ptr(name)]),
        Resolution::NoData => (Rcode::NoError, vec![]),
        Resolution::Unknown { .. } => (Rcode::NxDomain, vec![]),
        Resolution::Refused => (Rcode::Refused, vec![]),
    };
    for limit in [query.udp_limit(), TCP_LIMIT] {
        let reply = query.reply(rcode, &answers, limit);
        assert!(reply.len() <= limit);
        let message = Message::parse(&reply).expect("our reply reads back");
        assert!(message.header.response);
        assert_eq!(message.header.id, query.id);
        assert_eq!(message.questions, [query.question.clone()]);
        assert!(message.answers.len() <= answers.len());
        assert_eq!(message.header.truncated, message.answers.len() < answers.len());
        for record in &message.answers {
            assert!(record.name.eq_ignore_case(&query.question.name));
        }
        assert_eq!(message.additionals.len(), usize::from(query.edns.is_some()));
    }
});
