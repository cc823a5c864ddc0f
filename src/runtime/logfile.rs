//! The container log format: Docker's json-file, one JSON object per line.

use serde::{Deserialize, Serialize};

/// Which stream an entry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One entry of a log file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The text, with its newline when it had one.
    pub log: String,
    /// Its stream.
    pub stream: Stream,
    /// When it was read (RFC 3339 with nanoseconds, UTC).
    pub time: String,
}
