//! The image store: a content-addressed store of image blobs (OCI image-layout style),
//! with every layer unpacked once and shared read-only, ready as overlayfs lower dirs.
//!
//! Images come in through [`ImageStore::import_rootfs`] (a rootfs tarball, like
//! `docker import`) and [`ImageStore::load_archive`] (`docker save` and OCI archives).
//! `store.rs` describes the layout on disk, `unpack.rs` how layers are unpacked safely.

mod archive;
mod change;
mod compress;
mod config;
mod digest;
mod error;
mod reference;
mod store;
mod unpack;

pub use change::{Change, ChangeError, ChangeProblem};
pub use config::{Healthcheck, ImageConfig};
pub use digest::{Digest, DigestError, ImageId};
pub use error::{EntryProblem, ImageError};
pub use reference::{Reference, ReferenceError, ReferenceProblem};
pub use store::{Image, ImageStore, Removed};
