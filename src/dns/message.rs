//! The DNS wire format (RFC 1035, with RFC 6891's EDNS0 OPT record), as much of it as the
//! embedded server needs: read any message (names with compression pointers, as replies
//! carry them), read a query strictly, and write the few answers the server gives.
//!
//! Reading never panics and never allocates more than the input justifies: every length
//! is checked against the bytes left, compression pointers must point strictly before
//! the name part they continue (so no loop is possible), names stop at 255 bytes.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Size of the fixed header.
pub const HEADER_LEN: usize = 12;
/// Largest reply over UDP to a query without EDNS (RFC 1035 4.2.1).
pub const UDP_LIMIT: usize = 512;
/// Largest UDP reply this server offers with EDNS (the 2020 DNS flag day's value:
/// no IP fragmentation on any usual path).
pub const EDNS_UDP_LIMIT: u16 = 1232;
/// Largest message over TCP (its two-byte length prefix).
pub const TCP_LIMIT: usize = 65_535;
/// Class IN (Internet).
pub const CLASS_IN: u16 = 1;
/// Offset of the question's name in every message: replies point their answers' owner
/// names at it.
const QUESTION_NAME_POINTER: [u8; 2] = [0xC0, HEADER_LEN as u8];
/// Longest name in wire form, length bytes and the final zero included.
const MAX_NAME_LEN: usize = 255;
/// Longest label.
const MAX_LABEL_LEN: usize = 63;

/// A record type (RR TYPE, or QTYPE in a question).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordType(pub u16);

impl RecordType {
    /// An IPv4 address.
    pub const A: RecordType = RecordType(1);
    /// A name server.
    pub const NS: RecordType = RecordType(2);
    /// An alias.
    pub const CNAME: RecordType = RecordType(5);
    /// A pointer (reverse lookups).
    pub const PTR: RecordType = RecordType(12);
    /// An IPv6 address.
    pub const AAAA: RecordType = RecordType(28);
    /// EDNS0's pseudo-record (RFC 6891).
    pub const OPT: RecordType = RecordType(41);
    /// QTYPE `*`: every record of the name.
    pub const ANY: RecordType = RecordType(255);
}

/// A response code, extended ones (carried partly in the OPT record) included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rcode {
    /// The answer is complete (possibly with no record).
    NoError,
    /// The query could not be read.
    FormErr,
    /// The server could not answer (upstream resolvers failed).
    ServFail,
    /// The name does not exist.
    NxDomain,
    /// The kind of query (opcode) is not supported.
    NotImp,
    /// The server does not answer this querier.
    Refused,
    /// The query's EDNS version is not supported (RFC 6891: needs an OPT record).
    BadVers,
}

impl Rcode {
    /// The 12-bit value: the low 4 bits go in the header, the high 8 in the OPT record.
    pub fn value(self) -> u16 {
        match self {
            Rcode::NoError => 0,
            Rcode::FormErr => 1,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::NotImp => 4,
            Rcode::Refused => 5,
            Rcode::BadVers => 16,
        }
    }
}

/// A domain name in uncompressed wire form: length-prefixed labels ending with the empty
/// root label, at most 255 bytes. Letters keep the case they were sent with (resolvers
/// randomize it and check that replies echo it); compare with [`Name::eq_ignore_case`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Name(Vec<u8>);

/// Why text is no domain name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Two dots in a row, or a leading dot.
    #[error("{name:?} has an empty label")]
    EmptyLabel { name: String },
    /// A label of more than 63 bytes.
    #[error("{name:?} has a label longer than 63 bytes")]
    LabelTooLong { name: String },
    /// More than 255 bytes in wire form (about 253 characters).
    #[error("{name:?} is longer than 253 characters")]
    TooLong { name: String },
}

impl Name {
    /// The root name (`.`).
    pub fn root() -> Name {
        Name(vec![0])
    }

    /// A name from its dotted text (`web.example` or `web.example.`); `""` and `"."`
    /// are the root. No escapes: a label holds whatever bytes are between the dots.
    pub fn from_dotted(text: &str) -> Result<Name, NameError> {
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        let mut wire = Vec::with_capacity(trimmed.len() + 2);
        if !trimmed.is_empty() {
            for label in trimmed.split('.') {
                let name = || text.to_owned();
                if label.is_empty() {
                    return Err(NameError::EmptyLabel { name: name() });
                }
                let len = u8::try_from(label.len())
                    .ok()
                    .filter(|len| usize::from(*len) <= MAX_LABEL_LEN)
                    .ok_or_else(|| NameError::LabelTooLong { name: name() })?;
                wire.push(len);
                wire.extend_from_slice(label.as_bytes());
            }
        }
        wire.push(0);
        if wire.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong {
                name: text.to_owned(),
            });
        }
        Ok(Name(wire))
    }

    /// The wire form (uncompressed).
    pub fn wire(&self) -> &[u8] {
        &self.0
    }

    /// The labels, from the leftmost; none for the root.
    pub fn labels(&self) -> Labels<'_> {
        Labels { rest: &self.0 }
    }

    /// Whether both are the same name, ASCII letters compared without case (RFC 4343).
    pub fn eq_ignore_case(&self, other: &Name) -> bool {
        // Length bytes are at most 63, below every letter, so they compare exactly.
        self.0.eq_ignore_ascii_case(&other.0)
    }

    /// The address a reverse-lookup name stands for: `4.3.2.1.in-addr.arpa` is 1.2.3.4.
    /// `None` for any other name (octets must be decimal, without leading zeros).
    pub fn reverse_ipv4(&self) -> Option<Ipv4Addr> {
        let labels: Vec<&[u8]> = self.labels().collect();
        let [d, c, b, a, in_addr, arpa] = labels.as_slice() else {
            return None;
        };
        if !in_addr.eq_ignore_ascii_case(b"in-addr") || !arpa.eq_ignore_ascii_case(b"arpa") {
            return None;
        }
        let octet = |label: &[u8]| -> Option<u8> {
            let text = std::str::from_utf8(label).ok()?;
            let canonical = text.len() == 1 || !text.starts_with('0');
            let all_digits = text.bytes().all(|b| b.is_ascii_digit());
            if canonical && all_digits {
                text.parse().ok()
            } else {
                None
            }
        };
        Some(Ipv4Addr::new(octet(a)?, octet(b)?, octet(c)?, octet(d)?))
    }
}

/// The labels of a [`Name`], from [`Name::labels`].
#[derive(Clone, Debug)]
pub struct Labels<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, after) = self.rest.split_first()?;
        let label = after.get(..usize::from(len)).filter(|l| !l.is_empty())?;
        self.rest = after.get(usize::from(len)..)?;
        Some(label)
    }
}

/// The header's fields (the section counts are the lengths of [`Message`]'s lists).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Matches a reply to its query.
    pub id: u16,
    /// QR: a response, not a query.
    pub response: bool,
    /// The kind of query (0 is QUERY).
    pub opcode: u8,
    /// AA: the answer comes from the name's own server.
    pub authoritative: bool,
    /// TC: the reply did not fit and was cut; ask again over TCP.
    pub truncated: bool,
    /// RD: the querier asks the server to resolve the name fully.
    pub recursion_desired: bool,
    /// RA: the server does that.
    pub recursion_available: bool,
    /// The low 4 bits of the response code.
    pub rcode: u8,
}

/// A question: which records of which name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The name asked about.
    pub name: Name,
    /// QTYPE.
    pub qtype: RecordType,
    /// QCLASS (1 is IN).
    pub qclass: u16,
}

/// A resource record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The owner name.
    pub name: Name,
    /// TYPE.
    pub rtype: RecordType,
    /// CLASS (for OPT: the sender's UDP payload size).
    pub class: u16,
    /// TTL in seconds (for OPT: extended rcode, version and flags).
    pub ttl: u32,
    /// RDATA.
    pub data: Rdata,
}

/// A record's data, decoded for the types whose data is an address or a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rdata {
    /// A.
    A(Ipv4Addr),
    /// AAAA.
    Aaaa(Ipv6Addr),
    /// NS, CNAME or PTR: a name, decompressed.
    Name(Name),
    /// Any other type, as it was sent (names in it are left compressed).
    Other(Vec<u8>),
}

/// A whole message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The header.
    pub header: Header,
    /// The question section.
    pub questions: Vec<Question>,
    /// The answer section.
    pub answers: Vec<Record>,
    /// The authority section.
    pub authorities: Vec<Record>,
    /// The additional section (where the OPT record is).
    pub additionals: Vec<Record>,
}

/// Why bytes are no DNS message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The message ends before what its header announces.
    #[error("the message ends inside the {part} that starts at byte {offset}")]
    Truncated { part: &'static str, offset: usize },
    /// A label length byte with the reserved top bits `01` or `10`.
    #[error("the label at byte {offset} has the reserved type {byte:#04x}")]
    LabelType { offset: usize, byte: u8 },
    /// A compression pointer not pointing before the part of the name it continues.
    #[error("the compression pointer at byte {offset} points to byte {target}, not back")]
    Pointer { offset: usize, target: usize },
    /// A name of more than 255 bytes.
    #[error("the name at byte {offset} is longer than 255 bytes")]
    NameTooLong { offset: usize },
    /// A record whose data does not have the size or shape its type demands.
    #[error("the data of the type {rtype} record at byte {offset} is malformed ({len} bytes)")]
    Rdata {
        offset: usize,
        rtype: u16,
        len: usize,
    },
    /// Bytes after the last record.
    #[error("{count} bytes follow the last record, at byte {offset}")]
    Trailing { offset: usize, count: usize },
}

impl Message {
    /// Reads a message (query or reply); every byte must belong to it.
    pub fn parse(bytes: &[u8]) -> Result<Message, MessageError> {
        let mut reader = Reader { msg: bytes, pos: 0 };
        let (header, [qd, an, ns, ar]) = reader.header()?;
        // No capacity from the counts: they are the sender's word, the bytes are not.
        let mut questions = Vec::new();
        for _ in 0..qd {
            questions.push(reader.question()?);
        }
        let mut section = |count: u16| -> Result<Vec<Record>, MessageError> {
            (0..count).map(|_| reader.record()).collect()
        };
        let answers = section(an)?;
        let authorities = section(ns)?;
        let additionals = section(ar)?;
        if reader.pos < bytes.len() {
            return Err(MessageError::Trailing {
                offset: reader.pos,
                count: bytes.len() - reader.pos,
            });
        }
        Ok(Message {
            header,
            questions,
            answers,
            authorities,
            additionals,
        })
    }
}

/// A cursor over a message.
struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, part: &'static str) -> Result<&'a [u8], MessageError> {
        let truncated = MessageError::Truncated {
            part,
            offset: self.pos,
        };
        let end = self.pos.checked_add(len).ok_or(truncated.clone())?;
        let bytes = self.msg.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn u16(&mut self, part: &'static str) -> Result<u16, MessageError> {
        let bytes = self.take(2, part)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self, part: &'static str) -> Result<u32, MessageError> {
        let hi = self.u16(part)?;
        let lo = self.u16(part)?;
        Ok((u32::from(hi) << 16) | u32::from(lo))
    }

    /// The header and the four section counts.
    fn header(&mut self) -> Result<(Header, [u16; 4]), MessageError> {
        let id = self.u16("header")?;
        let flags = self.u16("header")?;
        let counts = [
            self.u16("header")?,
            self.u16("header")?,
            self.u16("header")?,
            self.u16("header")?,
        ];
        let bit = |n: u16| flags & (1 << n) != 0;
        let header = Header {
            id,
            response: bit(15),
            opcode: ((flags >> 11) & 0xF) as u8,
            authoritative: bit(10),
            truncated: bit(9),
            recursion_desired: bit(8),
            recursion_available: bit(7),
            rcode: (flags & 0xF) as u8,
        };
        Ok((header, counts))
    }

    /// A name at the cursor, following compression pointers; the cursor moves past the
    /// name's bytes in place (up to and including its first pointer).
    fn name(&mut self) -> Result<Name, MessageError> {
        let start = self.pos;
        let mut wire = Vec::new();
        // Where the part of the name being read starts: a pointer must point before it,
        // so each jump goes strictly backwards and reading always ends.
        let mut part_start = self.pos;
        let mut at = self.pos;
        let mut end_in_place = None;
        loop {
            let truncated = MessageError::Truncated {
                part: "name",
                offset: start,
            };
            let &len = self.msg.get(at).ok_or(truncated.clone())?;
            match len & 0xC0 {
                0x00 if len == 0 => {
                    wire.push(0);
                    end_in_place.get_or_insert(at + 1);
                    break;
                }
                0x00 => {
                    let label = self
                        .msg
                        .get(at + 1..at + 1 + usize::from(len))
                        .ok_or(truncated)?;
                    // The label, its length byte and the root's zero still to come.
                    if wire.len() + 1 + label.len() + 1 > MAX_NAME_LEN {
                        return Err(MessageError::NameTooLong { offset: start });
                    }
                    wire.push(len);
                    wire.extend_from_slice(label);
                    at += 1 + label.len();
                }
                0xC0 => {
                    let &low = self.msg.get(at + 1).ok_or(truncated)?;
                    let target = (usize::from(len & 0x3F) << 8) | usize::from(low);
                    if target >= part_start {
                        return Err(MessageError::Pointer { offset: at, target });
                    }
                    end_in_place.get_or_insert(at + 2);
                    part_start = target;
                    at = target;
                }
                _ => {
                    return Err(MessageError::LabelType {
                        offset: at,
                        byte: len,
                    })
                }
            }
        }
        self.pos = end_in_place.unwrap_or(at);
        Ok(Name(wire))
    }

    fn question(&mut self) -> Result<Question, MessageError> {
        let name = self.name()?;
        let qtype = RecordType(self.u16("question")?);
        let qclass = self.u16("question")?;
        Ok(Question {
            name,
            qtype,
            qclass,
        })
    }

    fn record(&mut self) -> Result<Record, MessageError> {
        let name = self.name()?;
        let rtype = RecordType(self.u16("record")?);
        let class = self.u16("record")?;
        let ttl = self.u32("record")?;
        let len = usize::from(self.u16("record")?);
        let offset = self.pos;
        let bad = MessageError::Rdata {
            offset,
            rtype: rtype.0,
            len,
        };
        let data = match rtype {
            RecordType::A => {
                let bytes: [u8; 4] = self.take(len, "record data")?.try_into().or(Err(bad))?;
                Rdata::A(Ipv4Addr::from(bytes))
            }
            RecordType::AAAA => {
                let bytes: [u8; 16] = self.take(len, "record data")?.try_into().or(Err(bad))?;
                Rdata::Aaaa(Ipv6Addr::from(bytes))
            }
            RecordType::NS | RecordType::CNAME | RecordType::PTR => {
                // Check the length first: the name is read from the whole message.
                self.take(len, "record data")?;
                self.pos = offset;
                let target = self.name()?;
                if self.pos != offset + len {
                    return Err(bad);
                }
                Rdata::Name(target)
            }
            _ => Rdata::Other(self.take(len, "record data")?.to_vec()),
        };
        Ok(Record {
            name,
            rtype,
            class,
            ttl,
            data,
        })
    }
}

/// What a query's OPT record says (RFC 6891).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edns {
    /// The largest UDP reply the querier accepts.
    pub udp_payload_size: u16,
    /// The EDNS version (only 0 exists).
    pub version: u8,
    /// DO: the querier wants DNSSEC records (this server has none).
    pub dnssec_ok: bool,
}

/// A query read strictly: opcode QUERY, one question, no answer or authority record,
/// at most one OPT record (other additional records, such as a TSIG, are ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The id to echo.
    pub id: u16,
    /// RD, echoed.
    pub recursion_desired: bool,
    /// The question.
    pub question: Question,
    /// The OPT record, when the querier speaks EDNS.
    pub edns: Option<Edns>,
}

/// Why a message is no query this server answers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The bytes are no DNS message.
    #[error("malformed DNS message: {0}")]
    Message(#[from] MessageError),
    /// A response (QR set): never answered, so that two servers can't loop.
    #[error("the message is a response, not a query")]
    Response,
    /// An opcode other than QUERY (0).
    #[error("opcode {0} is not supported (only QUERY)")]
    Opcode(u8),
    /// Zero or several questions.
    #[error("a query has one question, this one has {0}")]
    Questions(usize),
    /// Records in the answer or authority section.
    #[error("a query has no {section} records, this one has {count}")]
    Records { section: &'static str, count: usize },
    /// More than one OPT record.
    #[error("the query has {0} OPT records, at most one is allowed")]
    SeveralOpt(usize),
    /// An OPT record owned by another name than the root.
    #[error("the query's OPT record is not owned by the root name")]
    OptName,
}

impl QueryError {
    /// The rcode to answer with, or `None` when nothing must be answered (a response,
    /// or too few bytes to know whom to answer).
    pub fn rcode(&self) -> Option<Rcode> {
        match self {
            QueryError::Response => None,
            QueryError::Message(MessageError::Truncated { part: "header", .. }) => None,
            QueryError::Opcode(_) => Some(Rcode::NotImp),
            _ => Some(Rcode::FormErr),
        }
    }
}

/// A record this server answers with; its owner is the question's name and its TTL 0
/// (containers come and go: nobody should cache them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// A reverse-lookup answer.
    Ptr(Name),
}

impl Query {
    /// Reads a query; see [`QueryError`] for what is refused.
    pub fn parse(bytes: &[u8]) -> Result<Query, QueryError> {
        let (header, _) = Reader { msg: bytes, pos: 0 }.header()?;
        if header.response {
            return Err(QueryError::Response);
        }
        if header.opcode != 0 {
            return Err(QueryError::Opcode(header.opcode));
        }
        let message = Message::parse(bytes)?;
        for (section, count) in [
            ("answer", message.answers.len()),
            ("authority", message.authorities.len()),
        ] {
            if count != 0 {
                return Err(QueryError::Records { section, count });
            }
        }
        let opts: Vec<&Record> = message
            .additionals
            .iter()
            .filter(|r| r.rtype == RecordType::OPT)
            .collect();
        let edns = match opts.as_slice() {
            [] => None,
            [opt] if opt.name != Name::root() => return Err(QueryError::OptName),
            [opt] => Some(Edns {
                udp_payload_size: opt.class,
                version: (opt.ttl >> 16) as u8,
                dnssec_ok: opt.ttl & 0x8000 != 0,
            }),
            several => return Err(QueryError::SeveralOpt(several.len())),
        };
        let questions = message.questions.len();
        let Ok([question]) = <[Question; 1]>::try_from(message.questions) else {
            return Err(QueryError::Questions(questions));
        };
        Ok(Query {
            id: header.id,
            recursion_desired: header.recursion_desired,
            question,
            edns,
        })
    }

    /// The largest UDP reply the querier takes: 512 bytes without EDNS, else what it
    /// says, between 512 and [`EDNS_UDP_LIMIT`].
    pub fn udp_limit(&self) -> usize {
        self.edns.map_or(UDP_LIMIT, |edns| {
            usize::from(
                edns.udp_payload_size
                    .clamp(UDP_LIMIT as u16, EDNS_UDP_LIMIT),
            )
        })
    }

    /// The reply: the question echoed as it was asked, as many of `answers` as fit in
    /// `limit` bytes (TC set when some did not: the querier asks again over TCP), and an
    /// OPT record when the query had one. AA is set for NOERROR and NXDOMAIN (the
    /// server's own names), RA always (other names are resolved upstream).
    pub fn reply(&self, rcode: Rcode, answers: &[Answer], limit: usize) -> Vec<u8> {
        let limit = limit.clamp(UDP_LIMIT, TCP_LIMIT);
        let opt_len = if self.edns.is_some() { 11 } else { 0 };
        let mut out = Vec::with_capacity(UDP_LIMIT);
        out.extend_from_slice(&[0; HEADER_LEN]);
        out.extend_from_slice(self.question.name.wire());
        out.extend_from_slice(&self.question.qtype.0.to_be_bytes());
        out.extend_from_slice(&self.question.qclass.to_be_bytes());
        let mut count: u16 = 0;
        let mut truncated = false;
        for answer in answers {
            let (rtype, data): (RecordType, &[u8]) = match answer {
                Answer::A(address) => (RecordType::A, &address.octets()),
                Answer::Ptr(name) => (RecordType::PTR, name.wire()),
            };
            // Owner pointer, type, class, TTL, data length, data.
            let len = 2 + 2 + 2 + 4 + 2 + data.len();
            if out.len() + len + opt_len > limit || count == u16::MAX {
                truncated = true;
                break;
            }
            out.extend_from_slice(&QUESTION_NAME_POINTER);
            out.extend_from_slice(&rtype.0.to_be_bytes());
            out.extend_from_slice(&CLASS_IN.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
            out.extend_from_slice(&(data.len() as u16).to_be_bytes());
            out.extend_from_slice(data);
            count += 1;
        }
        let authoritative = matches!(rcode, Rcode::NoError | Rcode::NxDomain);
        let rcode = rcode.value();
        if self.edns.is_some() {
            // Root owner, OPT, our payload size, extended rcode + version 0 + no flags.
            out.push(0);
            out.extend_from_slice(&RecordType::OPT.0.to_be_bytes());
            out.extend_from_slice(&EDNS_UDP_LIMIT.to_be_bytes());
            out.extend_from_slice(&(u32::from(rcode >> 4) << 24).to_be_bytes());
            out.extend_from_slice(&0u16.to_be_bytes());
        }
        let flags = 1 << 15
            | u16::from(authoritative) << 10
            | u16::from(truncated) << 9
            | u16::from(self.recursion_desired) << 8
            | 1 << 7
            | (rcode & 0xF);
        let header = [self.id, flags, 1, count, 0, u16::from(self.edns.is_some())];
        for (slot, value) in out.chunks_exact_mut(2).zip(header) {
            slot.copy_from_slice(&value.to_be_bytes());
        }
        out
    }
}

/// A reply with only a header, for a request that could not be read as a query:
/// its id, opcode and RD echoed, `rcode`, no section. `None` when the request is
/// shorter than a header or is itself a response.
pub fn error_reply(request: &[u8], rcode: Rcode) -> Option<Vec<u8>> {
    let (header, _) = Reader {
        msg: request,
        pos: 0,
    }
    .header()
    .ok()?;
    if header.response {
        return None;
    }
    let flags = 1 << 15
        | u16::from(header.opcode) << 11
        | u16::from(header.recursion_desired) << 8
        | 1 << 7
        | (rcode.value() & 0xF);
    let mut out = vec![0; HEADER_LEN];
    out[..2].copy_from_slice(&header.id.to_be_bytes());
    out[2..4].copy_from_slice(&flags.to_be_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Web.Example` A, id 0x1234, RD.
    const QUERY: [u8; 29] = [
        0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, // header
        3, b'W', b'e', b'b', 7, b'E', b'x', b'a', b'm', b'p', b'l', b'e', 0, // name
        0, 1, 0, 1, // A IN
    ];
    /// An OPT record: UDP 4096, version 0, DO.
    const OPT_4096_DO: [u8; 11] = [0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 0];

    fn with_opt(query: &[u8], opt: &[u8]) -> Vec<u8> {
        let mut bytes = query.to_vec();
        bytes[11] += 1;
        bytes.extend_from_slice(opt);
        bytes
    }

    fn name(text: &str) -> Name {
        Name::from_dotted(text).unwrap()
    }

    #[test]
    fn reads_a_query() {
        let query = Query::parse(&QUERY).unwrap();
        assert_eq!(
            query,
            Query {
                id: 0x1234,
                recursion_desired: true,
                question: Question {
                    name: name("Web.Example"),
                    qtype: RecordType::A,
                    qclass: CLASS_IN,
                },
                edns: None,
            }
        );
        assert_eq!(query.udp_limit(), 512);
    }

    #[test]
    fn writes_addresses_echoing_the_question_as_asked() {
        let query = Query::parse(&QUERY).unwrap();
        let answers = [
            Answer::A([10, 0, 0, 2].into()),
            Answer::A([10, 0, 0, 3].into()),
        ];
        let reply = query.reply(Rcode::NoError, &answers, 512);
        let mut expected = vec![0x12, 0x34, 0x85, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        expected.extend_from_slice(&QUERY[12..]);
        expected.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 2]);
        expected.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 3]);
        assert_eq!(reply, expected);
        // And our reader reads it back, the pointers followed.
        let message = Message::parse(&reply).unwrap();
        assert!(message.header.response && message.header.authoritative);
        assert_eq!(message.answers.len(), 2);
        assert_eq!(message.answers[1].name, name("Web.Example"));
        assert_eq!(message.answers[1].data, Rdata::A([10, 0, 0, 3].into()));
        assert_eq!(message.answers[1].ttl, 0);
    }

    #[test]
    fn writes_nxdomain_servfail_and_empty_answers() {
        let query = Query::parse(&QUERY).unwrap();
        let header = |rcode: Rcode| query.reply(rcode, &[], 512)[..12].to_vec();
        assert_eq!(
            header(Rcode::NxDomain),
            [0x12, 0x34, 0x85, 0x83, 0, 1, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            header(Rcode::NoError),
            [0x12, 0x34, 0x85, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]
        );
        // Not authoritative: the failure is upstream's.
        assert_eq!(
            header(Rcode::ServFail),
            [0x12, 0x34, 0x81, 0x82, 0, 1, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(query.reply(Rcode::ServFail, &[], 512).len(), QUERY.len());
    }

    #[test]
    fn writes_a_pointer() {
        let mut bytes = vec![0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(name("2.0.0.10.in-addr.arpa").wire());
        bytes.extend_from_slice(&[0, 12, 0, 1]);
        let query = Query::parse(&bytes).unwrap();
        assert_eq!(
            query.question.name.reverse_ipv4(),
            Some([10, 0, 0, 2].into())
        );
        let reply = query.reply(Rcode::NoError, &[Answer::Ptr(name("proj-web-1"))], 512);
        let mut expected = vec![0, 7, 0x84, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        expected.extend_from_slice(&bytes[12..]);
        expected.extend_from_slice(&[0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 0, 0, 12]);
        expected.extend_from_slice(b"\x0aproj-web-1\x00");
        assert_eq!(reply, expected);
        let message = Message::parse(&reply).unwrap();
        assert_eq!(message.answers[0].data, Rdata::Name(name("proj-web-1")));
    }

    #[test]
    fn reads_edns_and_answers_with_an_opt_record() {
        let bytes = with_opt(&QUERY, &OPT_4096_DO);
        let query = Query::parse(&bytes).unwrap();
        assert_eq!(
            query.edns,
            Some(Edns {
                udp_payload_size: 4096,
                version: 0,
                dnssec_ok: true
            })
        );
        assert_eq!(query.udp_limit(), 1232);
        let reply = query.reply(Rcode::NoError, &[], 512);
        assert_eq!(
            reply[..12],
            [0x12, 0x34, 0x85, 0x80, 0, 1, 0, 0, 0, 0, 0, 1]
        );
        assert_eq!(
            reply[QUERY.len()..],
            [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]
        );
        // A payload size under 512 means 512.
        let small = with_opt(&QUERY, &[0, 0, 41, 0x01, 0x00, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Query::parse(&small).unwrap().udp_limit(), 512);
    }

    #[test]
    fn bad_version_goes_in_the_opt_record() {
        let bytes = with_opt(&QUERY, &[0, 0, 41, 0x10, 0x00, 0, 1, 0, 0, 0, 0]);
        let query = Query::parse(&bytes).unwrap();
        assert_eq!(query.edns.unwrap().version, 1);
        let reply = query.reply(Rcode::BadVers, &[], 512);
        // Header rcode 0 (16 & 0xF), extended rcode 1 (16 >> 4) in the OPT's TTL.
        assert_eq!(reply[3], 0x80);
        assert_eq!(
            reply[QUERY.len()..],
            [0, 0, 41, 0x04, 0xD0, 1, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn truncates_to_the_udp_limit() {
        let query = Query::parse(&QUERY).unwrap();
        let answers: Vec<Answer> = (0..40).map(|i| Answer::A([10, 0, 1, i].into())).collect();
        // 12 + 17 bytes of question, 16 per address: 30 fit in 512.
        let reply = query.reply(Rcode::NoError, &answers, 512);
        assert_eq!(reply.len(), 29 + 30 * 16);
        assert_eq!(reply[2..4], [0x87, 0x80]); // TC set
        assert_eq!(reply[6..8], [0, 30]);
        // Over TCP, all of them.
        let reply = query.reply(Rcode::NoError, &answers, TCP_LIMIT);
        assert_eq!(reply[2..4], [0x85, 0x80]);
        assert_eq!(reply[6..8], [0, 40]);
        // With EDNS (4096 asked, 1232 given), all of them and the OPT record.
        let query = Query::parse(&with_opt(&QUERY, &OPT_4096_DO)).unwrap();
        let reply = query.reply(Rcode::NoError, &answers, query.udp_limit());
        assert_eq!(reply.len(), 29 + 40 * 16 + 11);
        assert_eq!(reply[2..4], [0x85, 0x80]);
        let many: Vec<Answer> = (0..=255).map(|i| Answer::A([10, 0, 1, i].into())).collect();
        let reply = query.reply(Rcode::NoError, &many, query.udp_limit());
        // (1232 - 29 - 11) / 16 = 74.
        assert_eq!(reply[6..8], [0, 74]);
        assert_eq!(reply[2..4], [0x87, 0x80]);
        assert!(reply.len() <= 1232);
    }

    #[test]
    fn reads_compressed_names_in_replies() {
        // A reply for `www.example.org` CNAME: owner points at the question, the
        // CNAME's data is `web` then a pointer to `example.org` inside the question,
        // then a PTR whose data is a pointer to the CNAME's data.
        let mut reply = vec![0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        reply.extend_from_slice(b"\x03www\x07example\x03org\x00\x00\x05\x00\x01");
        reply.extend_from_slice(&[0xC0, 12, 0, 5, 0, 1, 0, 0, 0x0E, 0x10, 0, 6]);
        let cname_at = reply.len();
        reply.extend_from_slice(&[3, b'w', b'e', b'b', 0xC0, 16]);
        reply.extend_from_slice(&[0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 0, 0, 2]);
        reply.extend_from_slice(&[0xC0, cname_at as u8]);
        let message = Message::parse(&reply).unwrap();
        assert_eq!(message.questions[0].name, name("www.example.org"));
        assert_eq!(message.answers[0].ttl, 3600);
        assert_eq!(
            message.answers[0].data,
            Rdata::Name(name("web.example.org"))
        );
        assert_eq!(
            message.answers[1].data,
            Rdata::Name(name("web.example.org"))
        );
    }

    #[test]
    fn refuses_pointer_loops_and_forward_pointers() {
        let mut bytes = QUERY[..12].to_vec();
        bytes.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
        assert_eq!(
            Message::parse(&bytes),
            Err(MessageError::Pointer {
                offset: 12,
                target: 12
            })
        );
        let mut bytes = QUERY[..12].to_vec();
        bytes.extend_from_slice(&[1, b'a', 0xC0, 20, 0, 1, 0, 1, 0]);
        assert_eq!(
            Message::parse(&bytes),
            Err(MessageError::Pointer {
                offset: 14,
                target: 20
            })
        );
        // Two names pointing at each other: the second jump is not backwards.
        let mut bytes = vec![0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(&[1, b'a', 0xC0, 22, 0, 1, 0, 1]);
        bytes.extend_from_slice(&[1, b'b', 0xC0, 12, 0, 1, 0, 1]);
        assert_eq!(
            Message::parse(&bytes),
            Err(MessageError::Pointer {
                offset: 14,
                target: 22
            })
        );
    }

    #[test]
    fn refuses_malformed_names() {
        let mut bytes = QUERY[..12].to_vec();
        bytes.extend_from_slice(&[0x40, 0, 0, 1, 0, 1]);
        assert_eq!(
            Message::parse(&bytes),
            Err(MessageError::LabelType {
                offset: 12,
                byte: 0x40
            })
        );
        // 128 one-letter labels: 256 bytes with the root.
        let mut bytes = QUERY[..12].to_vec();
        for _ in 0..128 {
            bytes.extend_from_slice(&[1, b'a']);
        }
        bytes.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(
            Message::parse(&bytes),
            Err(MessageError::NameTooLong { offset: 12 })
        );
        assert_eq!(
            Message::parse(&QUERY[..20]),
            Err(MessageError::Truncated {
                part: "name",
                offset: 12
            })
        );
    }

    #[test]
    fn refuses_what_a_query_must_not_be() {
        let rcode = |bytes: &[u8]| Query::parse(bytes).unwrap_err().rcode();
        let mut response = QUERY;
        response[2] |= 0x80;
        assert_eq!(Query::parse(&response), Err(QueryError::Response));
        assert_eq!(rcode(&response), None);
        assert_eq!(rcode(&QUERY[..11]), None);
        let mut update = QUERY;
        update[2] |= 5 << 3;
        assert_eq!(Query::parse(&update), Err(QueryError::Opcode(5)));
        assert_eq!(rcode(&update), Some(Rcode::NotImp));
        let mut no_question = QUERY[..12].to_vec();
        no_question[5] = 0;
        assert_eq!(Query::parse(&no_question), Err(QueryError::Questions(0)));
        assert_eq!(rcode(&no_question), Some(Rcode::FormErr));
        let mut two = QUERY.to_vec();
        two[5] = 2;
        two.extend_from_slice(&QUERY[12..]);
        assert_eq!(Query::parse(&two), Err(QueryError::Questions(2)));
        let mut trailing = QUERY.to_vec();
        trailing.push(0);
        assert_eq!(
            Query::parse(&trailing),
            Err(QueryError::Message(MessageError::Trailing {
                offset: 29,
                count: 1
            }))
        );
        assert_eq!(rcode(&trailing), Some(Rcode::FormErr));
        let mut answer = QUERY.to_vec();
        answer[7] = 1;
        answer.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 2]);
        assert_eq!(
            Query::parse(&answer),
            Err(QueryError::Records {
                section: "answer",
                count: 1
            })
        );
        let two_opts = with_opt(&with_opt(&QUERY, &OPT_4096_DO), &OPT_4096_DO);
        assert_eq!(Query::parse(&two_opts), Err(QueryError::SeveralOpt(2)));
        let named_opt = with_opt(&QUERY, &[0xC0, 12, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Query::parse(&named_opt), Err(QueryError::OptName));
        // An A record with 5 bytes of data.
        let bad_a = with_opt(&QUERY, &[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5]);
        assert_eq!(
            Query::parse(&bad_a),
            Err(QueryError::Message(MessageError::Rdata {
                offset: 40,
                rtype: 1,
                len: 5
            }))
        );
    }

    #[test]
    fn other_additional_records_are_ignored() {
        // A TSIG-like record (type 250) beside the OPT one.
        let bytes = with_opt(
            &with_opt(&QUERY, &OPT_4096_DO),
            &[0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 2, 1, 2],
        );
        let query = Query::parse(&bytes).unwrap();
        assert_eq!(query.edns.map(|e| e.udp_payload_size), Some(4096));
    }

    #[test]
    fn error_replies_echo_id_opcode_and_rd() {
        let request = [0xBE, 0xEF, 0x29, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xFF];
        assert_eq!(
            error_reply(&request, Rcode::NotImp),
            Some(vec![0xBE, 0xEF, 0xA9, 0x84, 0, 0, 0, 0, 0, 0, 0, 0])
        );
        assert_eq!(error_reply(&request[..11], Rcode::FormErr), None);
        let mut response = request;
        response[2] |= 0x80;
        assert_eq!(error_reply(&response, Rcode::FormErr), None);
    }

    #[test]
    fn names_from_text() {
        assert_eq!(name("a.Bc").wire(), b"\x01a\x02Bc\x00");
        assert_eq!(name("a.Bc."), name("a.Bc"));
        assert_eq!(name(".").wire(), [0]);
        assert_eq!(name(""), Name::root());
        assert_eq!(
            name("a.bc").labels().collect::<Vec<_>>(),
            [b"a".as_slice(), b"bc"]
        );
        assert!(name("WEB.example").eq_ignore_case(&name("web.EXAMPLE")));
        assert!(!name("web.example").eq_ignore_case(&name("web.example.org")));
        assert_eq!(
            Name::from_dotted("a..b"),
            Err(NameError::EmptyLabel {
                name: "a..b".into()
            })
        );
        let long_label = "x".repeat(64);
        assert_eq!(
            Name::from_dotted(&long_label),
            Err(NameError::LabelTooLong { name: long_label })
        );
        let label = "x".repeat(63);
        let at_limit = [label.as_str(); 4].join(".")[..253].to_owned();
        assert_eq!(Name::from_dotted(&at_limit).unwrap().wire().len(), 255);
        let over = format!("{at_limit}x");
        assert_eq!(
            Name::from_dotted(&over),
            Err(NameError::TooLong { name: over.clone() })
        );
    }

    #[test]
    fn reverse_names() {
        let reverse = |text: &str| name(text).reverse_ipv4();
        assert_eq!(reverse("4.3.2.1.in-addr.arpa"), Some([1, 2, 3, 4].into()));
        assert_eq!(
            reverse("0.255.16.172.IN-ADDR.ARPA."),
            Some([172, 16, 255, 0].into())
        );
        assert_eq!(reverse("04.3.2.1.in-addr.arpa"), None);
        assert_eq!(reverse("256.3.2.1.in-addr.arpa"), None);
        assert_eq!(reverse("+4.3.2.1.in-addr.arpa"), None);
        assert_eq!(reverse("3.2.1.in-addr.arpa"), None);
        assert_eq!(reverse("4.3.2.1.ip6.arpa"), None);
        assert_eq!(reverse("web"), None);
    }
}
