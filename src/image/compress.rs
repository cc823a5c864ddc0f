//! Compression of layers and archives, told apart by their first bytes: plain tar,
//! gzip (several members allowed) and zstd (several frames allowed).

use super::error::ImageError;
use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use std::io::{self, BufRead, BufReader, Cursor, Read};

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
const BZIP2_MAGIC: &[u8] = b"BZh";
const LONGEST_MAGIC: usize = 6;

/// How a tar stream is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The OCI media type of a layer blob compressed this way.
    pub(crate) fn layer_media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

/// Looks at the first bytes of `reader` and gives the decompressed stream.
pub(crate) fn decompress<'a, R: Read + 'a>(
    mut reader: R,
    what: &'static str,
) -> Result<(Compression, Box<dyn Read + 'a>), ImageError> {
    let mut prefix = Vec::with_capacity(LONGEST_MAGIC);
    (&mut reader)
        .take(LONGEST_MAGIC as u64)
        .read_to_end(&mut prefix)
        .map_err(|source| ImageError::Read { what, source })?;
    let unsupported = |format| ImageError::UnsupportedCompression { what, format };
    if prefix.starts_with(XZ_MAGIC) {
        return Err(unsupported("xz"));
    }
    if prefix.starts_with(BZIP2_MAGIC) {
        return Err(unsupported("bzip2"));
    }
    let compression = if prefix.starts_with(GZIP_MAGIC) {
        Compression::Gzip
    } else if prefix.starts_with(ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    };
    let whole = Cursor::new(prefix).chain(reader);
    let stream: Box<dyn Read + 'a> = match compression {
        Compression::None => Box::new(whole),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(whole)),
        Compression::Zstd => Box::new(ZstdReader::new(BufReader::new(whole))),
    };
    Ok((compression, stream))
}

/// Decodes every zstd frame of a stream in turn (skipping skippable frames) and checks
/// each frame's checksum when it has one.
struct ZstdReader<R> {
    source: R,
    decoder: FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> ZstdReader<R> {
    fn new(source: R) -> Self {
        ZstdReader {
            source,
            decoder: FrameDecoder::new(),
            in_frame: false,
        }
    }

    /// Starts the next frame; `false` at the end of the stream.
    fn next_frame(&mut self) -> io::Result<bool> {
        loop {
            if self.source.fill_buf()?.is_empty() {
                return Ok(false);
            }
            match self.decoder.init(&mut self.source) {
                Ok(()) => return Ok(true),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let skipped = io::copy(
                        &mut (&mut self.source).take(u64::from(length)),
                        &mut io::sink(),
                    )?;
                    if skipped != u64::from(length) {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                Err(err) => return Err(io::Error::new(io::ErrorKind::InvalidData, err)),
            }
        }
    }

    fn check_frame_checksum(&self) -> io::Result<()> {
        match (
            self.decoder.get_checksum_from_data(),
            self.decoder.get_calculated_checksum(),
        ) {
            (Some(stored), Some(computed)) if stored != computed => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "zstd frame checksum mismatch",
            )),
            _ => Ok(()),
        }
    }
}

impl<R: BufRead> Read for ZstdReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if !self.next_frame()? {
                    return Ok(0);
                }
                self.in_frame = true;
            }
            if self.decoder.can_collect() > 0 {
                return self.decoder.read(buf);
            }
            if self.decoder.is_finished() {
                self.check_frame_checksum()?;
                self.in_frame = false;
                continue;
            }
            self.decoder
                .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBlocks(1))
                .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    fn read_all(input: &[u8]) -> Result<(Compression, Vec<u8>), String> {
        let (compression, mut stream) = decompress(input, "layer").map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        stream.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok((compression, out))
    }

    #[test]
    fn each_format_is_told_by_its_magic() {
        let data = b"hello world ".repeat(1000);
        assert_eq!(read_all(&data).unwrap(), (Compression::None, data.clone()));
        assert_eq!(
            read_all(&gzip(&data)).unwrap(),
            (Compression::Gzip, data.clone())
        );
        assert_eq!(
            read_all(&zstd(&data)).unwrap(),
            (Compression::Zstd, data.clone())
        );
        assert_eq!(read_all(b"").unwrap(), (Compression::None, Vec::new()));
        assert_eq!(
            read_all(b"ab").unwrap(),
            (Compression::None, b"ab".to_vec())
        );
    }

    #[test]
    fn several_gzip_members_and_zstd_frames_are_read_in_turn() {
        let mut members = gzip(b"one ");
        members.extend(gzip(b"two"));
        assert_eq!(read_all(&members).unwrap().1, b"one two");
        let mut frames = zstd(b"one ");
        // A skippable frame: magic 0x184D2A50, length 3, three bytes.
        frames.extend([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
        frames.extend(zstd(b"two"));
        assert_eq!(read_all(&frames).unwrap().1, b"one two");
    }

    #[test]
    fn truncated_streams_are_errors() {
        let data = b"some layer content ".repeat(500);
        let gz = gzip(&data);
        assert_eq!(
            read_all(&gz[..gz.len() - 4]).unwrap_err(),
            "unexpected end of file"
        );
        let zst = zstd(&data);
        assert!(read_all(&zst[..zst.len() / 2]).is_err());
    }

    #[test]
    fn xz_and_bzip2_are_named_as_unsupported() {
        assert_eq!(
            read_all(&[0xfd, b'7', b'z', b'X', b'Z', 0, 1]).unwrap_err(),
            "the layer is compressed with xz; only plain tar, gzip and zstd are supported"
        );
        assert_eq!(
            read_all(b"BZh91AY").unwrap_err(),
            "the layer is compressed with bzip2; only plain tar, gzip and zstd are supported"
        );
    }

    #[test]
    fn media_types_follow_the_compression() {
        assert_eq!(
            Compression::Zstd.layer_media_type(),
            "application/vnd.oci.image.layer.v1.tar+zstd"
        );
    }
}
