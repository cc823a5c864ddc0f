//! `logs`: a container's log entries (the last N with `tail`), then, with `follow`,
//! the new ones as they are written, until the container ends or the caller leaves.

use super::containers;
use super::protocol::{Event, Reply};
use super::server::{blocking, Conn, Engine, RequestError};
use crate::runtime::logfile::LogEntry;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How often a followed log is read again.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(100);

/// `logs`.
pub(crate) async fn logs(
    engine: &Arc<Engine>,
    container: &str,
    follow: bool,
    tail: Option<usize>,
    conn: &Conn,
) -> Result<Reply, RequestError> {
    let record = containers::find(engine, container)?;
    // Taken before the first read, so that an end right after it is not missed.
    let exit = if follow {
        engine.containers.exit_of(&record.id)
    } else {
        None
    };
    let Some(path) = record.spec.spec().log.clone() else {
        return Ok(Reply::Ok);
    };
    let mut cursor = LogCursor::new(path);
    let (mut cursor_back, batch) = blocking(move || {
        let batch = cursor.read(tail)?;
        Ok((cursor, batch))
    })
    .await?;
    if send(conn, batch).await.is_err() {
        return Ok(Reply::Ok);
    }
    let Some(mut exit) = exit else {
        return Ok(Reply::Ok);
    };
    loop {
        let ended = tokio::select! {
            _ = exit.wait_for(Option::is_some) => true,
            () = tokio::time::sleep(FOLLOW_INTERVAL) => false,
            // Nobody reads any more.
            () = conn.closed() => return Ok(Reply::Ok),
        };
        let mut cursor = cursor_back;
        let (back, batch) = blocking(move || {
            let batch = cursor.read(None)?;
            Ok((cursor, batch))
        })
        .await?;
        cursor_back = back;
        if send(conn, batch).await.is_err() || ended {
            return Ok(Reply::Ok);
        }
    }
}

async fn send(conn: &Conn, batch: Batch) -> io::Result<()> {
    if batch.unreadable > 0 {
        let message = format!(
            "{} line(s) of the log file {} can't be read and were skipped",
            batch.unreadable,
            batch.path.display()
        );
        conn.send(&Event::Warning { message }).await?;
    }
    for entry in batch.entries {
        conn.send(&Event::Log(entry)).await?;
    }
    Ok(())
}

/// Entries read from a log file.
#[derive(Debug)]
struct Batch {
    entries: Vec<LogEntry>,
    /// Lines that are not log entries.
    unreadable: usize,
    path: PathBuf,
}

/// A place in a log file: everything before `offset` has been read. A line still
/// being written (no newline yet) is read once it is whole.
#[derive(Debug)]
struct LogCursor {
    path: PathBuf,
    offset: u64,
}

impl LogCursor {
    fn new(path: PathBuf) -> LogCursor {
        LogCursor { path, offset: 0 }
    }

    /// The whole entries written since the last read (only the last `keep` of them when
    /// given). A log file that does not exist (yet) has none.
    fn read(&mut self, keep: Option<usize>) -> Result<Batch, RequestError> {
        let mut batch = Batch {
            entries: Vec::new(),
            unreadable: 0,
            path: self.path.clone(),
        };
        let failed = |source| super::containers::ContainerError::Log {
            path: self.path.clone(),
            source,
        };
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(batch),
            Err(err) => return Err(failed(err).into()),
        };
        file.seek(SeekFrom::Start(self.offset)).map_err(failed)?;
        let mut reader = BufReader::new(file);
        let mut kept = VecDeque::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(failed)?;
            if n == 0 || line.last() != Some(&b'\n') {
                break;
            }
            self.offset += n as u64;
            match serde_json::from_slice::<LogEntry>(&line) {
                Ok(entry) => {
                    kept.push_back(entry);
                    if keep.is_some_and(|keep| kept.len() > keep) {
                        kept.pop_front();
                    }
                }
                Err(_) => batch.unreadable += 1,
            }
        }
        batch.entries = kept.into();
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::logfile::Stream;
    use std::io::Write;

    fn line(text: &str) -> String {
        format!("{{\"log\":\"{text}\\n\",\"stream\":\"stdout\",\"time\":\"t\"}}\n")
    }

    fn logs(batch: &Batch) -> Vec<&str> {
        batch.entries.iter().map(|e| e.log.as_str()).collect()
    }

    #[test]
    fn reads_whole_lines_once_and_keeps_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.json");
        let mut cursor = LogCursor::new(path.clone());
        // No file yet: no entries.
        assert!(cursor.read(None).unwrap().entries.is_empty());

        let mut file = File::create(&path).unwrap();
        write!(file, "{}{}{}", line("a"), line("b"), line("c")).unwrap();
        // Half a line: not read until it is whole.
        let half = line("d");
        let (first, second) = half.split_at(10);
        write!(file, "{first}").unwrap();
        let batch = cursor.read(Some(2)).unwrap();
        assert_eq!(logs(&batch), ["b\n", "c\n"]);
        assert_eq!(batch.entries[0].stream, Stream::Stdout);
        assert!(cursor.read(None).unwrap().entries.is_empty());

        write!(file, "{second}not json\n{}", line("e")).unwrap();
        let batch = cursor.read(None).unwrap();
        assert_eq!(logs(&batch), ["d\n", "e\n"]);
        assert_eq!(batch.unreadable, 1);
        assert!(cursor.read(None).unwrap().entries.is_empty());
    }
}
