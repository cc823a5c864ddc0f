//! What can go wrong in the image store, with the data a user needs to act on it.

use super::change::ChangeError;
use super::digest::{Digest, ImageId};
use super::reference::{Reference, ReferenceError};
use std::io;
use std::path::{Path, PathBuf};

/// An image store operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(
        "image {reference} not found: import a rootfs tarball with `rcompose image import \
         FILE {reference}`, or load a saved image with `rcompose image load -i FILE`"
    )]
    NotFound { reference: Reference },
    #[error(
        "image {reference} ({id}) is used by a container: remove the container first, or \
         force the removal"
    )]
    InUse { reference: Reference, id: ImageId },
    #[error(
        "cannot store an image under {reference}: a name to store under has a tag, not a digest"
    )]
    DigestTag { reference: Reference },
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done: `creating`, `writing`, `renaming`, …
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading the {what} failed (is it corrupt or truncated?): {source}")]
    Read {
        /// `image archive`, `layer`.
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(
        "the {what} stops before the end-of-archive marker of its tar stream: it is truncated"
    )]
    Truncated { what: &'static str },
    #[error("the {what} is compressed with {format}; only plain tar, gzip and zstd are supported")]
    UnsupportedCompression {
        what: &'static str,
        format: &'static str,
    },
    #[error("unsafe entry {entry:?} in the {what}: {problem}")]
    UnsafeEntry {
        /// `layer`, `image archive`.
        what: &'static str,
        entry: String,
        problem: EntryProblem,
    },
    #[error("the {what} should have digest {expected}, but its content has digest {actual}")]
    DigestMismatch {
        /// `layer blob`, `layer content (diff ID)`, `config`, `manifest`, `stored blob`.
        what: &'static str,
        expected: Digest,
        actual: Digest,
    },
    #[error("the {what} {digest} should be {expected} bytes, but it is {actual}")]
    SizeMismatch {
        what: &'static str,
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error(
        "the archive is neither a docker-save archive (it has no manifest.json) nor an OCI \
         image layout (it has no index.json)"
    )]
    UnknownArchive,
    #[error("{file} in the archive is not valid: {source}")]
    ArchiveJson {
        file: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the archive has no {file}, which {referrer} names")]
    MissingArchiveFile { file: String, referrer: String },
    #[error("{digest} has media type {media_type:?}, which is not {expected}")]
    UnsupportedMediaType {
        digest: Digest,
        media_type: String,
        /// What was expected there: `an image manifest or index`, `an image layer`.
        expected: &'static str,
    },
    #[error("the image index {index} has no manifest for linux/{architecture}")]
    NoPlatform { index: Digest, architecture: String },
    #[error("image config {config} lists {diff_ids} layers, but its manifest has {layers}")]
    LayerCount {
        config: Digest,
        diff_ids: usize,
        layers: usize,
    },
    #[error(
        "the archive names no image: manifest.json has no RepoTags and index.json has no \
         image name annotation"
    )]
    Unnamed,
    #[error("the image store file {} is corrupt: {source}", path.display())]
    CorruptStore {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("image {id} is not in the store")]
    UnknownImage { id: ImageId },
    #[error("layer {diff_id} of image {id} is missing from the store ({})", path.display())]
    LayerMissing {
        id: ImageId,
        diff_id: Digest,
        path: PathBuf,
    },
}

/// Why an entry of a layer tarball is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntryProblem {
    #[error("its path has a '..' component")]
    ParentComponent,
    #[error("a non-directory entry has an empty path")]
    EmptyPath,
    #[error("its parent {0:?} is a symlink, and nothing is written through a symlink")]
    ParentIsSymlink(String),
    #[error("its parent {0:?} is not a directory")]
    ParentNotDirectory(String),
    #[error("it is a hard link to {0:?}, which is outside the layer")]
    LinkOutside(String),
    #[error("it is a hard link to {0:?}, which no earlier entry of the layer created")]
    LinkTargetMissing(String),
    #[error("it is a hard link to the directory {0:?}")]
    LinkToDirectory(String),
    #[error("it is a whiteout (.wh.) of no valid name")]
    BadWhiteout,
    #[error("it is a symlink with an empty target")]
    EmptySymlink,
    #[error("its owner or group id {0} does not fit in 32 bits")]
    IdOutOfRange(u64),
    #[error("its entry type {0:?} is not a file, directory, link, device or fifo")]
    UnknownType(char),
}

/// Adds what was being done, and to which path, to an I/O error.
pub(crate) trait IoContext<T> {
    fn doing(self, action: &'static str, path: &Path) -> Result<T, ImageError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn doing(self, action: &'static str, path: &Path) -> Result<T, ImageError> {
        self.map_err(|source| ImageError::Io {
            action,
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_says_how_to_get_the_image() {
        let err = ImageError::NotFound {
            reference: Reference::parse("busybox").unwrap(),
        };
        assert_eq!(
            err.to_string(),
            "image busybox:latest not found: import a rootfs tarball with `rcompose image \
             import FILE busybox:latest`, or load a saved image with `rcompose image load -i FILE`"
        );
    }

    #[test]
    fn io_errors_name_the_action_and_the_path() {
        let err = Err::<(), _>(io::Error::from(io::ErrorKind::NotFound))
            .doing("opening", Path::new("/x/y"))
            .unwrap_err();
        assert_eq!(err.to_string(), "opening /x/y: entity not found");
    }

    #[test]
    fn unsafe_entries_name_the_entry_and_the_problem() {
        let err = ImageError::UnsafeEntry {
            what: "layer",
            entry: "a/passwd".into(),
            problem: EntryProblem::ParentIsSymlink("a".into()),
        };
        assert_eq!(
            err.to_string(),
            "unsafe entry \"a/passwd\" in the layer: its parent \"a\" is a symlink, and nothing \
             is written through a symlink"
        );
    }
}
