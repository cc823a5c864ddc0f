//! Container logs in Docker's `json-file` format: one JSON object per line,
//!
//! ```text
//! {"log":"hello\n","stream":"stdout","time":"2026-11-25T03:12:00.123456789Z"}
//! ```
//!
//! The helper writes them ([`LogWriter`]) from what the program prints; `logs` reads
//! them ([`read_entries`], [`tail`]). An entry is one line of output with its `\n`; a
//! line longer than [`MAX_ENTRY`] bytes is cut into partial entries (no `\n`), as is
//! what is left unfinished when the output ends. Output that is not UTF-8 is kept,
//! with U+FFFD in place of each invalid sequence.

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The longest entry: a line longer than this without a `\n` is written in pieces
/// (Docker's 16 KiB).
pub const MAX_ENTRY: usize = 16 * 1024;

/// Which of the program's output streams an entry comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    fn index(self) -> usize {
        match self {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }
}

/// One line of output (or a piece of one), as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The text, with its `\n` unless the entry is partial.
    pub log: String,
    /// The stream it was printed on.
    pub stream: Stream,
    /// When it was read, as [`format_time`] writes it.
    pub time: String,
}

/// `t` in RFC 3339, UTC, with nanoseconds: `2026-11-25T03:12:00.123456789Z` (always
/// nine digits, as Docker writes them, so that times sort as strings).
pub fn format_time(t: SystemTime) -> String {
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(since) => (
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            since.subsec_nanos(),
        ),
        Err(before) => {
            let before = before.duration();
            let secs = i64::try_from(before.as_secs()).map_or(i64::MIN, |s| -s);
            match before.subsec_nanos() {
                0 => (secs, 0),
                nanos => (secs.saturating_sub(1), 1_000_000_000 - nanos),
            }
        }
    };
    let (days, second_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`: eras of 400 years, years starting in March).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let month_from_march = (5 * day_of_year + 2) / 153; // [0, 11]
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1; // [1, 31]
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    }; // [1, 12]
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// Turns the program's output, as it is read, into log entries written to `out`
/// (the log file, opened for appending). Each entry is one `write` of one line, so a
/// reader never sees half an entry.
#[derive(Debug)]
pub struct LogWriter<W> {
    out: W,
    /// What was read of each stream's current line (less than [`MAX_ENTRY`] bytes).
    pending: [Vec<u8>; 2],
}

impl<W: Write> LogWriter<W> {
    /// A writer to `out`.
    pub fn new(out: W) -> Self {
        LogWriter {
            out,
            pending: [Vec::new(), Vec::new()],
        }
    }

    /// Takes `data` read from `stream` at `time`: writes an entry for each line it
    /// completes and for each [`MAX_ENTRY`] bytes without a `\n`, and keeps the rest
    /// for the next call. All of `data` is taken even when writing fails (the first
    /// error is returned).
    pub fn write(&mut self, stream: Stream, data: &[u8], time: SystemTime) -> io::Result<()> {
        let mut pending = std::mem::take(&mut self.pending[stream.index()]);
        pending.extend_from_slice(data);
        let time = format_time(time);
        let mut result = Ok(());
        let mut start = 0;
        while let Some(rest) = pending.get(start..) {
            let end = match rest.iter().position(|&b| b == b'\n') {
                Some(newline) if newline < MAX_ENTRY => newline + 1,
                _ if rest.len() >= MAX_ENTRY => utf8_cut(rest.get(..MAX_ENTRY).unwrap_or(rest)),
                _ => break,
            };
            let written = self.entry(stream, rest.get(..end).unwrap_or(rest), &time);
            result = result.and(written);
            start += end;
        }
        pending.drain(..start.min(pending.len()));
        self.pending[stream.index()] = pending;
        result
    }

    /// `stream` ended: writes what is left of its last line as a partial entry.
    pub fn finish(&mut self, stream: Stream, time: SystemTime) -> io::Result<()> {
        let pending = std::mem::take(&mut self.pending[stream.index()]);
        if pending.is_empty() {
            return Ok(());
        }
        self.entry(stream, &pending, &format_time(time))
    }

    fn entry(&mut self, stream: Stream, bytes: &[u8], time: &str) -> io::Result<()> {
        let entry = LogEntry {
            log: String::from_utf8_lossy(bytes).into_owned(),
            stream,
            time: time.to_string(),
        };
        let mut line = serde_json::to_vec(&entry)?;
        line.push(b'\n');
        self.out.write_all(&line)
    }
}

/// Where to cut `piece` (a full [`MAX_ENTRY`] without a newline) so that a UTF-8
/// character is not split between two entries: before a character that starts in its
/// last three bytes and does not end in it.
fn utf8_cut(piece: &[u8]) -> usize {
    let len = piece.len();
    for back in 1..=3.min(len) {
        let Some(&byte) = piece.get(len - back) else {
            break;
        };
        if byte & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back for its lead
        }
        let width = match byte {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 1,
        };
        return if width > back { len - back } else { len };
    }
    len
}

/// The entries of a log, one per line, in order. A line that is not an entry is an
/// error of kind `InvalidData`; empty lines are skipped.
pub fn read_entries(r: impl BufRead) -> impl Iterator<Item = io::Result<LogEntry>> {
    r.lines()
        .filter(|line| !matches!(line, Ok(line) if line.is_empty()))
        .map(|line| Ok(serde_json::from_str(&line?)?))
}

/// How much of a log [`tail`] reads at a time, from its end.
const TAIL_CHUNK: usize = 64 * 1024;

/// The last `n` entries of the log at `path`, read from its end (a long log is not
/// read whole).
pub fn tail(path: &Path, n: usize) -> io::Result<Vec<LogEntry>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let start = start_of_last_lines(&file, len, n)?;
    file.seek(SeekFrom::Start(start))?;
    read_entries(BufReader::new(file)).collect()
}

/// The offset where the last `n` lines of the first `len` bytes of `file` start.
fn start_of_last_lines(file: &File, len: u64, n: usize) -> io::Result<u64> {
    let mut buf = vec![0; TAIL_CHUNK];
    let mut newlines = 0;
    let mut end = len;
    while end > 0 {
        let size = end.min(TAIL_CHUNK as u64);
        let begin = end - size;
        let chunk = buf.get_mut(..size as usize).unwrap_or_default();
        file.read_exact_at(chunk, begin)?;
        for (i, &byte) in chunk.iter().enumerate().rev() {
            let after = begin + i as u64 + 1;
            // The last byte's newline ends the last line; others separate lines.
            if byte == b'\n' && after != len {
                newlines += 1;
                if newlines == n {
                    return Ok(after);
                }
            }
        }
        end = begin;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn times_are_rfc3339_utc_with_nanoseconds() {
        let cases = [
            (UNIX_EPOCH, "1970-01-01T00:00:00.000000000Z"),
            (
                at(1_700_000_000, 123_456_789),
                "2023-11-14T22:13:20.123456789Z",
            ),
            (at(951_782_400, 1), "2000-02-29T00:00:00.000000001Z"),
            (at(4_107_542_400, 0), "2100-03-01T00:00:00.000000000Z"),
            (
                at(253_402_300_799, 999_999_999),
                "9999-12-31T23:59:59.999999999Z",
            ),
            (
                UNIX_EPOCH - Duration::from_nanos(1),
                "1969-12-31T23:59:59.999999999Z",
            ),
            (
                UNIX_EPOCH - Duration::from_secs(62_135_596_800),
                "0001-01-01T00:00:00.000000000Z",
            ),
        ];
        for (time, text) in cases {
            assert_eq!(format_time(time), text);
        }
    }

    /// The entries written to a buffer, as (log, stream) pairs, all at one time.
    fn entries(out: &[u8]) -> Vec<(String, Stream)> {
        read_entries(out)
            .map(|entry| {
                let entry = entry.unwrap();
                assert_eq!(entry.time, "2023-11-14T22:13:20.000000005Z");
                (entry.log, entry.stream)
            })
            .collect()
    }

    #[test]
    fn lines_are_entries_with_their_stream_and_time() {
        let time = at(1_700_000_000, 5);
        let mut out = Vec::new();
        let mut writer = LogWriter::new(&mut out);
        writer.write(Stream::Stdout, b"hello\nwor", time).unwrap();
        writer.write(Stream::Stderr, b"oops\n", time).unwrap();
        writer.write(Stream::Stdout, b"ld\n\nlast", time).unwrap();
        writer.finish(Stream::Stdout, time).unwrap();
        writer.finish(Stream::Stderr, time).unwrap();
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.000000005Z\"}\n\
             {\"log\":\"oops\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20.000000005Z\"}\n\
             {\"log\":\"world\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.000000005Z\"}\n\
             {\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.000000005Z\"}\n\
             {\"log\":\"last\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.000000005Z\"}\n"
        );
    }

    #[test]
    fn long_lines_are_cut_into_16_kib_partial_entries() {
        let time = at(1_700_000_000, 5);
        let mut out = Vec::new();
        let mut writer = LogWriter::new(&mut out);
        // 40000 bytes then a newline, in uneven reads.
        let line = [b"a".repeat(40_000), b"\n".to_vec()].concat();
        for piece in line.chunks(7_000) {
            writer.write(Stream::Stdout, piece, time).unwrap();
        }
        // Exactly 16 KiB then a newline: one full entry and one of just "\n".
        let exact = [b"b".repeat(MAX_ENTRY), b"\n".to_vec()].concat();
        writer.write(Stream::Stderr, &exact, time).unwrap();
        assert_eq!(
            entries(&out),
            [
                ("a".repeat(16_384), Stream::Stdout),
                ("a".repeat(16_384), Stream::Stdout),
                ("a".repeat(7_232) + "\n", Stream::Stdout),
                ("b".repeat(16_384), Stream::Stderr),
                ("\n".to_string(), Stream::Stderr),
            ]
        );
    }

    #[test]
    fn a_character_is_never_split_between_partial_entries() {
        let time = at(1_700_000_000, 5);
        let mut out = Vec::new();
        let mut writer = LogWriter::new(&mut out);
        // "é" (2 bytes) and "€" (3 bytes) straddling the 16 KiB boundary.
        let mut data = b"x".repeat(MAX_ENTRY - 1);
        data.extend_from_slice("é€\n".as_bytes());
        writer.write(Stream::Stdout, &data, time).unwrap();
        let mut data = b"y".repeat(MAX_ENTRY - 2);
        data.extend_from_slice("€".as_bytes());
        writer.write(Stream::Stdout, &data, time).unwrap();
        writer.finish(Stream::Stdout, time).unwrap();
        assert_eq!(
            entries(&out),
            [
                ("x".repeat(MAX_ENTRY - 1), Stream::Stdout),
                ("é€\n".to_string(), Stream::Stdout),
                ("y".repeat(MAX_ENTRY - 2), Stream::Stdout),
                ("€".to_string(), Stream::Stdout),
            ]
        );
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        let time = at(1_700_000_000, 5);
        let mut out = Vec::new();
        let mut writer = LogWriter::new(&mut out);
        writer
            .write(Stream::Stdout, b"a\xffb\xe2\x82\n\x00\x1b[1m\n", time)
            .unwrap();
        // A full 16 KiB of bytes that are no UTF-8 at all is cut at 16 KiB.
        writer
            .write(Stream::Stderr, &[0xff; MAX_ENTRY + 1], time)
            .unwrap();
        writer.finish(Stream::Stderr, time).unwrap();
        assert_eq!(
            entries(&out),
            [
                ("a\u{fffd}b\u{fffd}\n".to_string(), Stream::Stdout),
                ("\u{0}\u{1b}[1m\n".to_string(), Stream::Stdout),
                ("\u{fffd}".repeat(MAX_ENTRY), Stream::Stderr),
                ("\u{fffd}".to_string(), Stream::Stderr),
            ]
        );
    }

    #[test]
    fn where_partial_entries_are_cut() {
        assert_eq!(utf8_cut(b"abc"), 3);
        assert_eq!(utf8_cut("aé".as_bytes()), 3);
        assert_eq!(utf8_cut(b"a\xc3"), 1);
        assert_eq!(utf8_cut(b"a\xe2\x82"), 1);
        assert_eq!(utf8_cut(b"a\xf0\x9f\x98"), 1);
        assert_eq!(utf8_cut("a😀".as_bytes()), 5);
        // Continuation bytes with no lead in reach, and stray bytes: cut at the end.
        assert_eq!(utf8_cut(b"\x82\x82\x82\x82"), 4);
        assert_eq!(utf8_cut(b"a\xff"), 2);
        assert_eq!(utf8_cut(b""), 0);
    }

    #[test]
    fn unreadable_lines_are_errors() {
        let log = "{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n\n\
                   {\"log\":\"b\\n\",\"stream\":\"stdin\",\"time\":\"t\"}\nnot json\n";
        let read: Vec<_> = read_entries(log.as_bytes()).collect();
        assert_eq!(read.len(), 3);
        assert_eq!(
            read[0].as_ref().unwrap(),
            &LogEntry {
                log: "a\n".to_string(),
                stream: Stream::Stdout,
                time: "t".to_string()
            }
        );
        for err in [&read[1], &read[2]] {
            assert_eq!(err.as_ref().unwrap_err().kind(), io::ErrorKind::InvalidData);
        }
    }

    #[test]
    fn tail_reads_the_last_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.json");
        let time = at(1_700_000_000, 5);
        let mut file = File::create(&path).unwrap();
        let mut writer = LogWriter::new(&mut file);
        // About 200 KiB: several chunks from the end.
        for i in 0..3000 {
            writer
                .write(Stream::Stdout, format!("line {i}\n").as_bytes(), time)
                .unwrap();
        }
        let logs = |n| -> Vec<String> {
            tail(&path, n)
                .unwrap()
                .into_iter()
                .map(|entry| entry.log)
                .collect()
        };
        assert_eq!(logs(0), Vec::<String>::new());
        assert_eq!(logs(1), ["line 2999\n"]);
        assert_eq!(logs(3), ["line 2997\n", "line 2998\n", "line 2999\n"]);
        let all = logs(2500);
        assert_eq!(all.len(), 2500);
        assert_eq!(all[0], "line 500\n");
        assert_eq!(logs(3000).len(), 3000);
        assert_eq!(logs(5000).len(), 3000);
        let empty = dir.path().join("empty.json");
        File::create(&empty).unwrap();
        assert!(tail(&empty, 10).unwrap().is_empty());
        assert_eq!(
            tail(&dir.path().join("missing"), 1).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}
