//! Messages between the CLI and the engine over the unix socket: one JSON value per
//! line, each line prefixed by the number of descriptors that travel with it
//! (`2 {"type":"run",...}\n`). Descriptors ride on the line's first `sendmsg`
//! (SCM_RIGHTS); the receiver queues them in arrival order and gives each line its own
//! count, so how the kernel splits the stream never mixes them up.

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The most descriptors one message carries.
pub const MAX_FDS: usize = 4;

/// The longest line accepted (a whole project travels in a `run` request).
pub const MAX_LINE: usize = 64 * 1024 * 1024;

/// Encodes `message` as a line with its descriptor count.
pub fn encode<T: Serialize>(message: &T, fds: usize) -> io::Result<Vec<u8>> {
    let mut line = format!("{fds} ").into_bytes();
    serde_json::to_writer(&mut line, message)?;
    line.push(b'\n');
    Ok(line)
}

/// Sends some of `bytes`, with `fds` attached when given; returns how many bytes went.
/// On a non-blocking socket this may fail with `WouldBlock`.
pub fn send_chunk(sock: BorrowedFd<'_>, bytes: &[u8], fds: &[RawFd]) -> io::Result<usize> {
    let iov = [IoSlice::new(bytes)];
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => return other.map_err(io::Error::from),
        }
    }
}

/// Sends a whole line on a blocking socket, `fds` with its first byte.
pub fn send_line(sock: BorrowedFd<'_>, line: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let mut sent = send_chunk(sock, line, fds)?;
    while sent < line.len() {
        let n = send_chunk(sock, &line[sent..], &[])?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        sent += n;
    }
    Ok(())
}

/// Reassembles lines and their descriptors from what arrives on a socket.
#[derive(Debug, Default)]
pub struct Receiver {
    buffer: Vec<u8>,
    fds: VecDeque<OwnedFd>,
    eof: bool,
}

impl Receiver {
    /// A receiver with nothing received yet.
    pub fn new() -> Receiver {
        Receiver::default()
    }

    /// Whether the peer has closed its side.
    pub fn eof(&self) -> bool {
        self.eof
    }

    /// Reads once from `sock` (one `recvmsg`); returns the number of bytes read, 0 at
    /// the end of the stream. On a non-blocking socket this may fail with `WouldBlock`.
    pub fn feed(&mut self, sock: BorrowedFd<'_>) -> io::Result<usize> {
        let mut chunk = [0u8; 64 * 1024];
        let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
        let (n, received) = loop {
            let mut iov = [IoSliceMut::new(&mut chunk)];
            match recvmsg::<()>(
                sock.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(msg) => {
                    let mut received = Vec::new();
                    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
                        if let ControlMessageOwned::ScmRights(fds) = cmsg {
                            received.extend(fds);
                        }
                    }
                    break (msg.bytes, received);
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(errno) => return Err(errno.into()),
            }
        };
        // SAFETY: SCM_RIGHTS hands us new descriptors that nothing else owns.
        self.fds.extend(
            received
                .into_iter()
                .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
        );
        if n == 0 {
            self.eof = true;
        }
        self.buffer.extend_from_slice(&chunk[..n]);
        if self.buffer.len() > MAX_LINE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a message longer than {MAX_LINE} bytes"),
            ));
        }
        Ok(n)
    }

    /// The next complete message and its descriptors, if one has arrived.
    pub fn next_message<T: DeserializeOwned>(&mut self) -> io::Result<Option<(T, Vec<OwnedFd>)>> {
        let Some(end) = self.buffer.iter().position(|&b| b == b'\n') else {
            if self.eof && !self.buffer.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the connection closed in the middle of a message",
                ));
            }
            return Ok(None);
        };
        let line: Vec<u8> = self.buffer.drain(..=end).collect();
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
        let space = line
            .iter()
            .position(|&b| b == b' ')
            .ok_or_else(|| invalid("a message without its descriptor count".to_string()))?;
        let count: usize = std::str::from_utf8(&line[..space])
            .ok()
            .and_then(|n| n.parse().ok())
            .filter(|&n| n <= MAX_FDS)
            .ok_or_else(|| invalid("a message with a bad descriptor count".to_string()))?;
        if self.fds.len() < count {
            return Err(invalid(format!(
                "a message announced {count} descriptors, {} came",
                self.fds.len()
            )));
        }
        let fds = self.fds.drain(..count).collect();
        let message = serde_json::from_slice(&line[space + 1..])
            .map_err(|err| invalid(format!("a message that can't be read: {err}")))?;
        Ok(Some((message, fds)))
    }

    /// Blocks until the next message arrives; `None` at the end of the stream.
    pub fn recv<T: DeserializeOwned>(
        &mut self,
        sock: BorrowedFd<'_>,
    ) -> io::Result<Option<(T, Vec<OwnedFd>)>> {
        loop {
            if let Some(message) = self.next_message()? {
                return Ok(Some(message));
            }
            if self.eof {
                return Ok(None);
            }
            self.feed(sock)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn lines_and_their_descriptors_arrive_together() {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut pipe_read, pipe_write) = std::io::pipe().unwrap();
        let first = encode(&serde_json::json!({"n": 1}), 1).unwrap();
        send_line(a.as_fd(), &first, &[pipe_write.as_raw_fd()]).unwrap();
        drop(pipe_write);
        let second = encode(&"two", 0).unwrap();
        send_line(a.as_fd(), &second, &[]).unwrap();
        drop(a);

        let mut receiver = Receiver::new();
        let (value, fds): (serde_json::Value, _) = receiver.recv(b.as_fd()).unwrap().unwrap();
        assert_eq!(value, serde_json::json!({"n": 1}));
        assert_eq!(fds.len(), 1);
        // The descriptor received is the pipe's write end.
        let mut writer = std::fs::File::from(fds.into_iter().next().unwrap());
        writer.write_all(b"through").unwrap();
        drop(writer);
        let mut got = String::new();
        pipe_read.read_to_string(&mut got).unwrap();
        assert_eq!(got, "through");

        let (value, fds): (String, _) = receiver.recv(b.as_fd()).unwrap().unwrap();
        assert_eq!((value.as_str(), fds.len()), ("two", 0));
        assert!(receiver.recv::<String>(b.as_fd()).unwrap().is_none());
    }

    #[test]
    fn bad_lines_are_errors() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"x {}\n2 {}\n{}").unwrap();
        drop(a);
        let mut receiver = Receiver::new();
        let err = receiver.recv::<serde_json::Value>(b.as_fd()).unwrap_err();
        assert_eq!(err.to_string(), "a message with a bad descriptor count");
        let err = receiver.recv::<serde_json::Value>(b.as_fd()).unwrap_err();
        assert_eq!(err.to_string(), "a message announced 2 descriptors, 0 came");
        let err = receiver.recv::<serde_json::Value>(b.as_fd()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the connection closed in the middle of a message"
        );
    }
}
