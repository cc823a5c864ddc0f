//! Content digests (`sha256:<64 hex>`), the image ID, and readers that hash what flows
//! through them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

/// A sha256 content digest, written `sha256:` and 64 lowercase hex digits: the name of
/// a blob, of a layer (its `diff_id`) and of an image.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    hex: String,
}

/// A string that is not a sha256 digest.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a digest: expected sha256: and 64 lowercase hex digits")]
pub struct DigestError {
    pub input: String,
}

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_hasher(Sha256::new_with_prefix(bytes))
    }

    /// A digest from its 64 hex digits alone (the file name of a blob or a layer).
    pub fn from_hex(hex: &str) -> Result<Digest, DigestError> {
        if is_sha256_hex(hex) {
            Ok(Digest {
                hex: hex.to_string(),
            })
        } else {
            Err(DigestError {
                input: hex.to_string(),
            })
        }
    }

    /// The 64 hex digits, without `sha256:`.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    fn from_hasher(hasher: Sha256) -> Digest {
        let hex = hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Digest { hex }
    }
}

fn is_sha256_hex(hex: &str) -> bool {
    hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(text: &str) -> Result<Digest, DigestError> {
        match text.strip_prefix("sha256:") {
            Some(hex) if is_sha256_hex(hex) => Ok(Digest {
                hex: hex.to_string(),
            }),
            _ => Err(DigestError {
                input: text.to_string(),
            }),
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The ID of an image: the digest of its config, as docker's `IMAGE ID` is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ImageId(pub Digest);

impl ImageId {
    /// The first 12 hex digits, as `docker images` shows an ID.
    pub fn short(&self) -> &str {
        self.0.hex().get(..12).unwrap_or(self.0.hex())
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A reader that hashes and counts every byte read through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// Reads what is left to the end, then gives the digest and length of everything read.
    pub(crate) fn finish(mut self) -> io::Result<(Digest, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((Digest::from_hasher(self.hasher), self.len))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = buf.get(..n).unwrap_or_default();
        self.hasher.update(read);
        self.len += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn digest_of_bytes_matches_sha256sum() {
        assert_eq!(Digest::of(b"").to_string(), format!("sha256:{EMPTY}"));
        assert_eq!(
            Digest::of(b"abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parsing_accepts_only_sha256_with_64_lowercase_hex() {
        let digest: Digest = format!("sha256:{EMPTY}").parse().unwrap();
        assert_eq!(digest.hex(), EMPTY);
        for bad in [
            EMPTY.to_string(),
            format!("sha512:{EMPTY}"),
            format!("sha256:{}", EMPTY.to_uppercase()),
            format!("sha256:{}", &EMPTY[1..]),
            format!("sha256:{EMPTY}0"),
            "sha256:".to_string(),
        ] {
            assert_eq!(
                bad.parse::<Digest>(),
                Err(DigestError { input: bad.clone() }),
                "{bad}"
            );
        }
        assert_eq!(
            DigestError {
                input: "x".to_string()
            }
            .to_string(),
            "\"x\" is not a digest: expected sha256: and 64 lowercase hex digits"
        );
    }

    #[test]
    fn from_hex_takes_a_file_name() {
        assert_eq!(Digest::from_hex(EMPTY).unwrap(), Digest::of(b""));
        assert!(Digest::from_hex("tmp").is_err());
    }

    #[test]
    fn digests_round_trip_through_json() {
        let digest = Digest::of(b"");
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"sha256:{EMPTY}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), digest);
        assert!(serde_json::from_str::<Digest>("\"sha256:zz\"").is_err());
    }

    #[test]
    fn an_image_id_is_shown_short_with_12_digits() {
        let id = ImageId(Digest::of(b""));
        assert_eq!(id.short(), "e3b0c44298fc");
        assert_eq!(id.to_string(), format!("sha256:{EMPTY}"));
    }

    #[test]
    fn a_hashing_reader_digests_everything_that_passes() {
        let mut reader = HashingReader::new(&b"abcdef"[..]);
        let mut first = [0u8; 2];
        reader.read_exact(&mut first).unwrap();
        let (digest, len) = reader.finish().unwrap();
        assert_eq!((digest, len), (Digest::of(b"abcdef"), 6));
    }
}
