//! The image store: a content-addressed store of image blobs (OCI image-layout style),
//! with every layer unpacked once and shared read-only, ready as overlayfs lower dirs.

mod change;
mod compress;
mod config;
mod digest;
mod error;
mod reference;
mod unpack;

pub use change::{Change, ChangeError, ChangeProblem};
pub use config::{Healthcheck, ImageConfig};
pub use digest::{Digest, DigestError, ImageId};
pub use error::{EntryProblem, ImageError};
pub use reference::{Reference, ReferenceError, ReferenceProblem};
