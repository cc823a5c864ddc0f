//! Image references as docker reads and prints them: `busybox` is
//! `docker.io/library/busybox:latest`, shown back as `busybox:latest`.

use super::digest::Digest;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The registry that a name without one belongs to.
pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of docker's official images (`busybox` is `library/busybox`).
const OFFICIAL_NAMESPACE: &str = "library/";
const DEFAULT_TAG: &str = "latest";
/// Docker's limit on the length of a repository name, registry included.
const NAME_MAX_LEN: usize = 255;
const TAG_MAX_LEN: usize = 128;

/// A normalized image reference: registry, repository path, and a tag and/or a digest
/// (a reference with neither gets the tag `latest`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// Why a string is not an image reference.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {input:?}: {problem}")]
pub struct ReferenceError {
    pub input: String,
    pub problem: ReferenceProblem,
}

/// What is wrong with a reference.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceProblem {
    #[error("it is empty")]
    Empty,
    #[error("the repository name must be lowercase")]
    Uppercase,
    #[error(
        "path component {0:?} must be lowercase letters and digits, separated by '.', '_', \
         '__' or dashes"
    )]
    PathComponent(String),
    #[error("registry {0:?} is not a host name or address with an optional :port")]
    Domain(String),
    #[error(
        "tag {0:?} must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
    )]
    Tag(String),
    #[error("digest {0:?} is not sha256: followed by 64 lowercase hex digits")]
    Digest(String),
    #[error("the repository name is longer than 255 characters")]
    TooLong,
    #[error("a 64-digit hexadecimal string is an image ID, not a repository name")]
    HexName,
}

impl Reference {
    /// Reads a reference as docker does (`busybox`, `busybox:1.36`,
    /// `host:5000/team/app:v2`, `name@sha256:…`, `name:tag@sha256:…`).
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        let fail = |problem| ReferenceError {
            input: input.to_string(),
            problem,
        };
        if input.is_empty() {
            return Err(fail(ReferenceProblem::Empty));
        }
        let (name_and_tag, digest) = match input.split_once('@') {
            Some((before, digest)) => {
                let digest = digest
                    .parse::<Digest>()
                    .map_err(|_| fail(ReferenceProblem::Digest(digest.to_string())))?;
                (before, Some(digest))
            }
            None => (input, None),
        };
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(colon) => {
                let colon = last_slash + colon;
                (&name_and_tag[..colon], Some(&name_and_tag[colon + 1..]))
            }
            None => (name_and_tag, None),
        };
        if let Some(tag) = tag {
            if !is_tag(tag) {
                return Err(fail(ReferenceProblem::Tag(tag.to_string())));
            }
        }
        if name.is_empty() {
            return Err(fail(ReferenceProblem::Empty));
        }
        if is_hex64(name) {
            return Err(fail(ReferenceProblem::HexName));
        }
        let (domain, path) = split_domain(name);
        if !is_domain(domain) {
            return Err(fail(ReferenceProblem::Domain(domain.to_string())));
        }
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(fail(ReferenceProblem::Uppercase));
        }
        if let Some(bad) = path.split('/').find(|c| !is_path_component(c)) {
            return Err(fail(ReferenceProblem::PathComponent(bad.to_string())));
        }
        let domain = match domain {
            LEGACY_DEFAULT_DOMAIN => DEFAULT_DOMAIN,
            domain => domain,
        };
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("{OFFICIAL_NAMESPACE}{path}")
        } else {
            path.to_string()
        };
        let tag = match (tag, &digest) {
            (Some(tag), _) => Some(tag.to_string()),
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (None, Some(_)) => None,
        };
        let full_name_len = domain.len() + 1 + path.len();
        if full_name_len > NAME_MAX_LEN {
            return Err(fail(ReferenceProblem::TooLong));
        }
        Ok(Reference {
            domain: domain.to_string(),
            path,
            tag,
            digest,
        })
    }

    /// The registry: `docker.io`, `host:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry: `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The manifest digest the reference pins, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The full repository name: `docker.io/library/busybox`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The full form, as the store keys it: `docker.io/library/busybox:latest`.
    pub fn canonical(&self) -> String {
        let mut text = self.repository();
        self.push_tag_and_digest(&mut text);
        text
    }

    fn push_tag_and_digest(&self, text: &mut String) {
        if let Some(tag) = &self.tag {
            text.push(':');
            text.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            text.push('@');
            text.push_str(&digest.to_string());
        }
    }
}

/// Docker's rule: the first component is a registry when it has a `.` or a `:`, is
/// `localhost`, or has an uppercase letter (a repository path never does).
fn split_domain(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => (DEFAULT_DOMAIN, name),
    }
}

/// `host[:port]`, the host being dot-separated labels of letters, digits and inner
/// dashes (which also covers IPv4 addresses).
fn is_domain(domain: &str) -> bool {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let label_ok = |label: &str| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    port_ok && host.split('.').all(label_ok)
}

/// `[a-z0-9]+` runs joined by one separator: `.`, `_`, `__` or any number of `-`.
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut separator = String::new();
    for &b in bytes {
        if alnum(&b) {
            if !matches!(separator.as_str(), "" | "." | "_" | "__")
                && !separator.bytes().all(|s| s == b'-')
            {
                return false;
            }
            separator.clear();
        } else if matches!(b, b'.' | b'_' | b'-') {
            separator.push(b as char);
        } else {
            return false;
        }
    }
    true
}

fn is_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    match tag.as_bytes().split_first() {
        Some((&first, rest)) => {
            word(first)
                && tag.len() <= TAG_MAX_LEN
                && rest.iter().all(|&b| word(b) || b == b'.' || b == b'-')
        }
        None => false,
    }
}

fn is_hex64(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Reference, ReferenceError> {
        Reference::parse(input)
    }
}

/// The short form docker prints: `busybox:latest`, `team/app:v1`, `host:5000/app:v2`.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix(OFFICIAL_NAMESPACE) {
                Some(official) if !official.contains('/') => official.to_string(),
                _ => self.path.clone(),
            }
        } else {
            self.repository()
        };
        self.push_tag_and_digest(&mut text);
        f.write_str(&text)
    }
}

impl Serialize for Reference {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.canonical())
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Reference, D::Error> {
        let text = String::deserialize(deserializer)?;
        Reference::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn references_normalize_and_print_as_docker_does() {
        let at = format!("@sha256:{HEX}");
        let table = [
            (
                "busybox",
                "docker.io/library/busybox:latest",
                "busybox:latest".to_string(),
            ),
            (
                "busybox:1.36",
                "docker.io/library/busybox:1.36",
                "busybox:1.36".into(),
            ),
            (
                "library/busybox",
                "docker.io/library/busybox:latest",
                "busybox:latest".into(),
            ),
            (
                "docker.io/busybox",
                "docker.io/library/busybox:latest",
                "busybox:latest".into(),
            ),
            (
                "index.docker.io/busybox",
                "docker.io/library/busybox:latest",
                "busybox:latest".into(),
            ),
            ("team/app:v1", "docker.io/team/app:v1", "team/app:v1".into()),
            (
                "docker.io/library/a/b",
                "docker.io/library/a/b:latest",
                "library/a/b:latest".into(),
            ),
            (
                "host:5000/a/b:tag",
                "host:5000/a/b:tag",
                "host:5000/a/b:tag".into(),
            ),
            (
                "localhost/app",
                "localhost/app:latest",
                "localhost/app:latest".into(),
            ),
            (
                "Registry/app",
                "Registry/app:latest",
                "Registry/app:latest".into(),
            ),
            (
                "127.0.0.1:5000/x",
                "127.0.0.1:5000/x:latest",
                "127.0.0.1:5000/x:latest".into(),
            ),
            (
                "a.b-c__d---e",
                "docker.io/library/a.b-c__d---e:latest",
                "a.b-c__d---e:latest".into(),
            ),
            (
                "quay.io/x/y:V_1.0-rc",
                "quay.io/x/y:V_1.0-rc",
                "quay.io/x/y:V_1.0-rc".into(),
            ),
        ];
        for (input, canonical, short) in table {
            let reference = Reference::parse(input).unwrap();
            assert_eq!(reference.canonical(), canonical, "{input}");
            assert_eq!(reference.to_string(), short, "{input}");
        }
        let pinned = Reference::parse(&format!("busybox{at}")).unwrap();
        assert_eq!(pinned.tag(), None);
        assert_eq!(pinned.digest().unwrap().hex(), HEX);
        assert_eq!(pinned.to_string(), format!("busybox{at}"));
        assert_eq!(pinned.canonical(), format!("docker.io/library/busybox{at}"));
        let both = Reference::parse(&format!("busybox:1{at}")).unwrap();
        assert_eq!(both.tag(), Some("1"));
        assert_eq!(both.to_string(), format!("busybox:1{at}"));
    }

    #[test]
    fn parts_are_exposed() {
        let reference = Reference::parse("host:5000/a/b:tag").unwrap();
        assert_eq!(reference.domain(), "host:5000");
        assert_eq!(reference.path(), "a/b");
        assert_eq!(reference.tag(), Some("tag"));
        assert_eq!(reference.digest(), None);
        assert_eq!(reference.repository(), "host:5000/a/b");
    }

    #[test]
    fn bad_references_say_what_is_wrong() {
        let long = format!("host.io/{}", "a".repeat(248));
        let long_tag = format!("a:{}", "t".repeat(129));
        let table = [
            ("", ReferenceProblem::Empty),
            (":tag", ReferenceProblem::Empty),
            ("Busybox", ReferenceProblem::Uppercase),
            ("busybox:", ReferenceProblem::Tag(String::new())),
            ("busybox:.x", ReferenceProblem::Tag(".x".into())),
            (&long_tag, ReferenceProblem::Tag("t".repeat(129))),
            (
                "busybox@sha256:abc",
                ReferenceProblem::Digest("sha256:abc".into()),
            ),
            (
                "busybox@md5:abc",
                ReferenceProblem::Digest("md5:abc".into()),
            ),
            ("a/-b", ReferenceProblem::PathComponent("-b".into())),
            ("a//b", ReferenceProblem::PathComponent(String::new())),
            ("a/b_-c", ReferenceProblem::PathComponent("b_-c".into())),
            ("a/b___c", ReferenceProblem::PathComponent("b___c".into())),
            ("a/b..c", ReferenceProblem::PathComponent("b..c".into())),
            ("a/b.", ReferenceProblem::PathComponent("b.".into())),
            (
                "ex ample",
                ReferenceProblem::PathComponent("ex ample".into()),
            ),
            ("host:port/a", ReferenceProblem::Domain("host:port".into())),
            ("-host.io/a", ReferenceProblem::Domain("-host.io".into())),
            ("host..io/a", ReferenceProblem::Domain("host..io".into())),
            (HEX, ReferenceProblem::HexName),
            (&long, ReferenceProblem::TooLong),
        ];
        for (input, problem) in table {
            assert_eq!(
                Reference::parse(input),
                Err(ReferenceError {
                    input: input.to_string(),
                    problem,
                }),
                "{input}"
            );
        }
        assert_eq!(
            Reference::parse("Busybox").unwrap_err().to_string(),
            "invalid image reference \"Busybox\": the repository name must be lowercase"
        );
    }

    #[test]
    fn the_default_namespace_counts_toward_the_length_limit() {
        // docker.io/library/ takes 18 of the 255 characters.
        let name = "a".repeat(237);
        assert!(Reference::parse(&name).is_ok());
        let name = "a".repeat(238);
        assert_eq!(
            Reference::parse(&name).unwrap_err().problem,
            ReferenceProblem::TooLong
        );
    }

    #[test]
    fn references_round_trip_through_json_in_full_form() {
        let reference = Reference::parse("busybox").unwrap();
        let json = serde_json::to_string(&reference).unwrap();
        assert_eq!(json, "\"docker.io/library/busybox:latest\"");
        assert_eq!(serde_json::from_str::<Reference>(&json).unwrap(), reference);
    }
}
