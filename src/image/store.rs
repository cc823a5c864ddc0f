//! The image store on disk, under the rcompose root:
//!
//! ```text
//! <root>/images/blobs/sha256/<hex>     manifests, configs and layer tarballs, by digest
//! <root>/images/repositories.json      the images (config digest -> manifest, layers)
//!                                      and their names (reference -> image)
//! <root>/images/tmp/                   files and dirs being written; emptied by `open`
//! <root>/layers/<hex of diff ID>/      each layer unpacked once, shared read-only
//! ```
//!
//! Every file is written to a temp file, fsynced and renamed into place; a layer is
//! unpacked into a temp dir, synced and renamed, so a layer dir is always complete.
//! Content is written first and the index last: content that no image in the index
//! refers to (after a failure or a crash) is garbage, removed by the next import or
//! load that fails, by `remove` and by `prune`.
//!
//! One process owns a store at a time (the engine): `open` clears the temp dir.

use super::change::Change;
use super::compress::decompress;
use super::config::{
    host_architecture, rfc3339, ConfigFile, Descriptor, History, ImageConfig, Manifest, RootFs,
    MEDIA_TYPE_OCI_CONFIG, MEDIA_TYPE_OCI_MANIFEST,
};
use super::digest::{Digest, HashingReader, ImageId};
use super::error::{ImageError, IoContext};
use super::reference::Reference;
use super::unpack::unpack;
use crate::runtime::fs::sync_filesystem;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use tempfile::{NamedTempFile, TempPath};

const INDEX_FILE: &str = "repositories.json";

/// A content-addressed image store rooted in a directory: blobs under
/// `<root>/images/blobs/sha256/`, names in `<root>/images/repositories.json`, layers
/// unpacked in `<root>/layers/<hex of diff ID>/` (see the module docs).
#[derive(Debug)]
pub struct ImageStore {
    root: PathBuf,
    index: StoreIndex,
}

/// An image as `inspect` and `list` show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub id: ImageId,
    /// Every name of the image, sorted by full name; empty for a dangling image.
    pub references: Vec<Reference>,
    pub config: ImageConfig,
    /// The layers' diff IDs, bottom layer first.
    pub layers: Vec<Digest>,
    /// Bytes of file content in the image's layers (each layer counted once).
    pub size: u64,
    /// When the image was made (RFC 3339), as its config says.
    pub created: Option<String>,
    pub architecture: String,
    pub os: String,
    /// The digest of the image's manifest (what `name@sha256:…` references pin).
    pub manifest: Digest,
}

/// What `remove` or `prune` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// Names taken off images.
    pub untagged: Vec<Reference>,
    /// Images deleted from the store.
    pub images: Vec<ImageId>,
    /// Blobs deleted because no image uses them any more.
    pub blobs: Vec<Digest>,
    /// Layer dirs deleted because no image uses them any more (their diff IDs).
    pub layers: Vec<Digest>,
}

/// The index file: every image, and every name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct StoreIndex {
    images: BTreeMap<ImageId, ImageRecord>,
    references: BTreeMap<Reference, ImageId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ImageRecord {
    manifest: Digest,
    /// Bottom layer first.
    layers: Vec<LayerRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LayerRecord {
    /// The layer tarball as stored (maybe compressed).
    pub blob: Digest,
    /// The digest of the uncompressed tarball, which names the layer dir.
    pub diff_id: Digest,
    /// Bytes of file content in the layer.
    pub size: u64,
}

/// A file written in the temp dir, with its digest; deleted unless committed.
pub(crate) struct Staged {
    path: TempPath,
    pub digest: Digest,
    pub size: u64,
}

/// A layer now in the store, and the blob it came from.
#[derive(Clone, Debug)]
pub(crate) struct Ingested {
    pub record: LayerRecord,
    pub blob_size: u64,
    pub media_type: &'static str,
}

/// An image whose content is in the store, ready to enter the index.
pub(crate) struct NewImage {
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
    pub layers: Vec<LayerRecord>,
    pub references: Vec<Reference>,
}

impl ImageStore {
    /// Opens (creating as needed) the store under `root`, and clears what an earlier
    /// process left half-written.
    pub fn open(root: impl Into<PathBuf>) -> Result<ImageStore, ImageError> {
        let root = root.into();
        let mut store = ImageStore {
            root,
            index: StoreIndex::default(),
        };
        for dir in [store.blobs_dir(), store.layers_dir(), store.tmp_dir()] {
            fs::create_dir_all(&dir).doing("creating", &dir)?;
        }
        let tmp = store.tmp_dir();
        for entry in fs::read_dir(&tmp).doing("reading", &tmp)? {
            let path = entry.doing("reading", &tmp)?.path();
            remove_any(&path).doing("removing", &path)?;
        }
        let index_path = store.index_path();
        match fs::read(&index_path) {
            Ok(bytes) => {
                store.index =
                    serde_json::from_slice(&bytes).map_err(|source| ImageError::CorruptStore {
                        path: index_path,
                        source,
                    })?;
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).doing("reading", &index_path),
        }
        Ok(store)
    }

    /// Makes a one-layer image of a rootfs tarball (plain, gzip or zstd), as `docker
    /// import` does, with `changes` applied to an empty config, and names it `reference`
    /// (which moves the name off any image that had it).
    pub fn import_rootfs(
        &mut self,
        reader: impl Read,
        reference: &Reference,
        changes: &[Change],
    ) -> Result<ImageId, ImageError> {
        if reference.digest().is_some() {
            return Err(ImageError::DigestTag {
                reference: reference.clone(),
            });
        }
        let imported = self.import(reader, reference, changes);
        self.after(imported)
    }

    fn import(
        &mut self,
        reader: impl Read,
        reference: &Reference,
        changes: &[Change],
    ) -> Result<ImageId, ImageError> {
        let staged = self.spool(reader, "rootfs tarball")?;
        let layer = self.ingest_layer(staged, None)?;
        let mut config = ImageConfig::default();
        for change in changes {
            change.apply(&mut config);
        }
        let now = rfc3339(SystemTime::now());
        let config_file = ConfigFile {
            created: Some(now.clone()),
            architecture: host_architecture().to_string(),
            os: "linux".to_string(),
            config,
            rootfs: RootFs {
                kind: "layers".to_string(),
                diff_ids: vec![layer.record.diff_id.clone()],
            },
            history: vec![History {
                created: Some(now),
                comment: Some("Imported from a rootfs tarball".to_string()),
            }],
        };
        let config = to_json(&config_file);
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_OCI_MANIFEST.to_string()),
            config: Descriptor {
                media_type: MEDIA_TYPE_OCI_CONFIG.to_string(),
                digest: Digest::of(&config),
                size: config.len() as u64,
                annotations: BTreeMap::new(),
                platform: None,
            },
            layers: vec![Descriptor {
                media_type: layer.media_type.to_string(),
                digest: layer.record.blob.clone(),
                size: layer.blob_size,
                annotations: BTreeMap::new(),
                platform: None,
            }],
        };
        let id = ImageId(Digest::of(&config));
        self.add_images(vec![NewImage {
            config,
            manifest: to_json(&manifest),
            layers: vec![layer.record],
            references: vec![reference.clone()],
        }])?;
        Ok(id)
    }

    /// Every image in the store, named ones first (by name), then dangling ones.
    pub fn list(&self) -> Result<Vec<Image>, ImageError> {
        let mut images = self
            .index
            .images
            .keys()
            .map(|id| self.image(id))
            .collect::<Result<Vec<_>, _>>()?;
        images.sort_by(|a, b| {
            (a.references.is_empty(), a.references.first(), &a.id).cmp(&(
                b.references.is_empty(),
                b.references.first(),
                &b.id,
            ))
        });
        Ok(images)
    }

    /// The image `reference` names.
    pub fn inspect(&self, reference: &Reference) -> Result<Image, ImageError> {
        self.image(&self.resolve(reference)?)
    }

    /// The ID of the image `reference` names: by its tag, or, for `name@sha256:…`, the
    /// image whose manifest has that digest.
    pub fn resolve(&self, reference: &Reference) -> Result<ImageId, ImageError> {
        let found = match reference.digest() {
            Some(digest) => self
                .index
                .images
                .iter()
                .find(|(_, record)| &record.manifest == digest)
                .map(|(id, _)| id),
            None => self.index.references.get(reference),
        };
        found.cloned().ok_or_else(|| ImageError::NotFound {
            reference: reference.clone(),
        })
    }

    /// Removes a name, as `docker rmi` does. A tag that is not the image's last name is
    /// just taken off. Removing the last name (or the image by digest, which takes all
    /// its names) deletes the image and every blob and layer no other image uses;
    /// unless `in_use` says a container uses it: then it is refused, or with `force`
    /// the names go and the image stays, dangling, until `prune` finds it unused.
    pub fn remove(
        &mut self,
        reference: &Reference,
        force: bool,
        in_use: &dyn Fn(&ImageId) -> bool,
    ) -> Result<Removed, ImageError> {
        let id = self.resolve(reference)?;
        let names: Vec<Reference> = self.names_of(&id);
        let untagged: Vec<Reference> = if reference.digest().is_some() {
            names.clone()
        } else {
            vec![reference.clone()]
        };
        let last_names = untagged.len() == names.len();
        let used = last_names && in_use(&id);
        if used && !force {
            return Err(ImageError::InUse {
                reference: reference.clone(),
                id,
            });
        }
        let mut next = self.index.clone();
        for name in &untagged {
            next.references.remove(name);
        }
        let delete = last_names && !used;
        if delete {
            next.images.remove(&id);
        }
        self.save_index(next)?;
        let mut removed = if delete {
            self.collect_garbage()?
        } else {
            Removed::default()
        };
        removed.untagged = untagged;
        if delete {
            removed.images.push(id);
        }
        Ok(removed)
    }

    /// Deletes every dangling image (one with no name) that `in_use` says no container
    /// uses, then every blob and layer no image uses.
    pub fn prune(&mut self, in_use: &dyn Fn(&ImageId) -> bool) -> Result<Removed, ImageError> {
        let named: HashSet<&ImageId> = self.index.references.values().collect();
        let dangling: Vec<ImageId> = self
            .index
            .images
            .keys()
            .filter(|id| !named.contains(id) && !in_use(id))
            .cloned()
            .collect();
        if !dangling.is_empty() {
            let mut next = self.index.clone();
            for id in &dangling {
                next.images.remove(id);
            }
            self.save_index(next)?;
        }
        let mut removed = self.collect_garbage()?;
        removed.images = dangling;
        Ok(removed)
    }

    /// The image's layer dirs, top layer first, as overlayfs takes its lower dirs. A
    /// layer that appears twice is given once, at its topmost place (the lower copy
    /// could only show what the upper one shows again).
    pub fn layer_dirs(&self, id: &ImageId) -> Result<Vec<PathBuf>, ImageError> {
        let record = self
            .index
            .images
            .get(id)
            .ok_or_else(|| ImageError::UnknownImage { id: id.clone() })?;
        let mut seen = HashSet::new();
        let mut dirs = Vec::new();
        for layer in record.layers.iter().rev() {
            if !seen.insert(&layer.diff_id) {
                continue;
            }
            let dir = self.layer_dir(&layer.diff_id);
            if !dir.is_dir() {
                return Err(ImageError::LayerMissing {
                    id: id.clone(),
                    diff_id: layer.diff_id.clone(),
                    path: dir,
                });
            }
            dirs.push(dir);
        }
        Ok(dirs)
    }

    fn image(&self, id: &ImageId) -> Result<Image, ImageError> {
        let record = self
            .index
            .images
            .get(id)
            .ok_or_else(|| ImageError::UnknownImage { id: id.clone() })?;
        let path = self.blob_path(&id.0);
        let bytes = self.read_blob(&id.0)?;
        let config: ConfigFile = serde_json::from_slice(&bytes)
            .map_err(|source| ImageError::CorruptStore { path, source })?;
        let mut counted = HashSet::new();
        let size = record
            .layers
            .iter()
            .filter(|layer| counted.insert(&layer.diff_id))
            .map(|layer| layer.size)
            .sum();
        Ok(Image {
            id: id.clone(),
            references: self.names_of(id),
            config: config.config,
            layers: record.layers.iter().map(|l| l.diff_id.clone()).collect(),
            size,
            created: config.created,
            architecture: config.architecture,
            os: config.os,
            manifest: record.manifest.clone(),
        })
    }

    fn names_of(&self, id: &ImageId) -> Vec<Reference> {
        self.index
            .references
            .iter()
            .filter(|(_, named)| *named == id)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Passes a result on; after a failure, removes what the failed operation left.
    pub(crate) fn after<T>(&mut self, result: Result<T, ImageError>) -> Result<T, ImageError> {
        if result.is_err() {
            // The first error is the one to report; leftovers go with the next cleanup.
            let _ = self.collect_garbage();
        }
        result
    }

    /// Writes the images' config and manifest blobs, then names them in the index.
    pub(crate) fn add_images(&mut self, images: Vec<NewImage>) -> Result<(), ImageError> {
        let mut next = self.index.clone();
        for image in images {
            let id = ImageId(self.write_blob(&image.config)?);
            let manifest = self.write_blob(&image.manifest)?;
            next.images.entry(id.clone()).or_insert(ImageRecord {
                manifest,
                layers: image.layers,
            });
            for reference in image.references {
                next.references.insert(reference, id.clone());
            }
        }
        self.save_index(next)
    }

    /// Copies `reader` into a temp file, hashing it.
    pub(crate) fn spool(
        &self,
        reader: impl Read,
        what: &'static str,
    ) -> Result<Staged, ImageError> {
        let tmp = self.tmp_dir();
        let mut file =
            NamedTempFile::with_prefix_in("blob-", &tmp).doing("creating a file in", &tmp)?;
        let mut hashing = HashingReader::new(reader);
        let path = file.path().to_path_buf();
        copy_reading(&mut hashing, file.as_file_mut(), &path, what)?;
        let (digest, size) = hashing
            .finish()
            .map_err(|source| ImageError::Read { what, source })?;
        Ok(Staged {
            path: file.into_temp_path(),
            digest,
            size,
        })
    }

    /// Unpacks a staged layer tarball into its layer dir (unless that dir is already
    /// there: then the tarball is only checked) and moves the tarball into the blobs.
    pub(crate) fn ingest_layer(
        &self,
        staged: Staged,
        expected_diff_id: Option<&Digest>,
    ) -> Result<Ingested, ImageError> {
        const WHAT: &str = "layer";
        let read = |source| ImageError::Read { what: WHAT, source };
        let file = File::open(&staged.path).doing("opening", &staged.path)?;
        let (compression, stream) = decompress(file, WHAT)?;
        let mut hashing = HashingReader::new(stream);
        let existing = expected_diff_id
            .map(|diff_id| self.layer_dir(diff_id))
            .filter(|dir| dir.is_dir());
        let (diff_id, size) = match existing {
            Some(dir) => {
                let (diff_id, _) = hashing.finish().map_err(read)?;
                check_digest("layer content (diff ID)", expected_diff_id, &diff_id)?;
                (diff_id, content_size(&dir).doing("measuring", &dir)?)
            }
            None => {
                let mut tmp = tempfile::Builder::new()
                    .prefix("layer-")
                    .tempdir_in(self.tmp_dir())
                    .doing("creating a dir in", &self.tmp_dir())?;
                unpack(&mut hashing, tmp.path())?;
                let (diff_id, _) = hashing.finish().map_err(read)?;
                check_digest("layer content (diff ID)", expected_diff_id, &diff_id)?;
                let dir = self.layer_dir(&diff_id);
                if !dir.is_dir() {
                    sync_filesystem(tmp.path()).doing("syncing", tmp.path())?;
                    fs::rename(tmp.path(), &dir).doing("renaming into place", &dir)?;
                    // Renamed: nothing is left to clean up.
                    tmp.disable_cleanup(true);
                    sync_dir(&self.layers_dir())?;
                }
                (diff_id, content_size(&dir).doing("measuring", &dir)?)
            }
        };
        let blob_size = staged.size;
        let blob = self.commit_blob(staged)?;
        Ok(Ingested {
            record: LayerRecord {
                blob,
                diff_id,
                size,
            },
            blob_size,
            media_type: compression.layer_media_type(),
        })
    }

    /// Reads a staged file whole (a small JSON document).
    pub(crate) fn read_staged(&self, staged: &Staged) -> Result<Vec<u8>, ImageError> {
        fs::read(&staged.path).doing("reading", &staged.path)
    }

    /// Moves a staged file into the blobs under its digest.
    pub(crate) fn commit_blob(&self, staged: Staged) -> Result<Digest, ImageError> {
        let path = self.blob_path(&staged.digest);
        if !path.is_file() {
            File::open(&staged.path)
                .and_then(|file| file.sync_all())
                .doing("syncing", &staged.path)?;
            staged
                .path
                .persist(&path)
                .map_err(|err| err.error)
                .doing("renaming into place", &path)?;
            sync_dir(&self.blobs_dir())?;
        }
        Ok(staged.digest)
    }

    fn write_blob(&self, bytes: &[u8]) -> Result<Digest, ImageError> {
        let staged = self.spool(bytes, "image document")?;
        self.commit_blob(staged)
    }

    /// A stored blob, checked against its digest.
    fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, ImageError> {
        let path = self.blob_path(digest);
        let bytes = fs::read(&path).doing("reading", &path)?;
        let actual = Digest::of(&bytes);
        check_digest("stored blob", Some(digest), &actual)?;
        Ok(bytes)
    }

    fn save_index(&mut self, next: StoreIndex) -> Result<(), ImageError> {
        let path = self.index_path();
        let tmp = self.tmp_dir();
        let mut file =
            NamedTempFile::with_prefix_in("index-", &tmp).doing("creating a file in", &tmp)?;
        let json = serde_json::to_vec_pretty(&next)
            .expect("the store index serializes: its map keys are strings");
        let written = file.path().to_path_buf();
        file.write_all(&json)
            .and_then(|()| file.as_file().sync_all())
            .doing("writing", &written)?;
        file.persist(&path)
            .map_err(|err| err.error)
            .doing("renaming into place", &path)?;
        sync_dir(&self.images_dir())?;
        self.index = next;
        Ok(())
    }

    /// Deletes the blobs and layer dirs that no image in the index uses.
    fn collect_garbage(&self) -> Result<Removed, ImageError> {
        let mut live_blobs = HashSet::new();
        let mut live_layers = HashSet::new();
        for (id, record) in &self.index.images {
            live_blobs.insert(&id.0);
            live_blobs.insert(&record.manifest);
            for layer in &record.layers {
                live_blobs.insert(&layer.blob);
                live_layers.insert(&layer.diff_id);
            }
        }
        let mut removed = Removed::default();
        for digest in stored_digests(&self.blobs_dir())? {
            if !live_blobs.contains(&digest) {
                let path = self.blob_path(&digest);
                fs::remove_file(&path).doing("removing", &path)?;
                removed.blobs.push(digest);
            }
        }
        for diff_id in stored_digests(&self.layers_dir())? {
            if !live_layers.contains(&diff_id) {
                self.remove_layer_dir(&diff_id)?;
                removed.layers.push(diff_id);
            }
        }
        Ok(removed)
    }

    /// Moves the layer dir out of `layers/` first, so that a crash while deleting it
    /// never leaves a partial layer under its name.
    fn remove_layer_dir(&self, diff_id: &Digest) -> Result<(), ImageError> {
        let dir = self.layer_dir(diff_id);
        let doomed = tempfile::Builder::new()
            .prefix("removing-")
            .tempdir_in(self.tmp_dir())
            .doing("creating a dir in", &self.tmp_dir())?;
        let target = doomed.path().join("layer");
        fs::rename(&dir, &target).doing("moving out", &dir)?;
        fs::remove_dir_all(doomed.path()).doing("removing", doomed.path())
    }

    fn images_dir(&self) -> PathBuf {
        self.root.join("images")
    }

    fn blobs_dir(&self) -> PathBuf {
        self.images_dir().join("blobs").join("sha256")
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blobs_dir().join(digest.hex())
    }

    fn index_path(&self) -> PathBuf {
        self.images_dir().join(INDEX_FILE)
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.images_dir().join("tmp")
    }

    fn layers_dir(&self) -> PathBuf {
        self.root.join("layers")
    }

    fn layer_dir(&self, diff_id: &Digest) -> PathBuf {
        self.layers_dir().join(diff_id.hex())
    }
}

fn check_digest(
    what: &'static str,
    expected: Option<&Digest>,
    actual: &Digest,
) -> Result<(), ImageError> {
    match expected {
        Some(expected) if expected != actual => Err(ImageError::DigestMismatch {
            what,
            expected: expected.clone(),
            actual: actual.clone(),
        }),
        _ => Ok(()),
    }
}

/// JSON of a document the store makes. Serializing these types cannot fail: every map
/// key is a string.
pub(crate) fn to_json<T: Serialize>(document: &T) -> Vec<u8> {
    serde_json::to_vec(document).expect("image documents serialize: their map keys are strings")
}

/// The digests named by the entries of `dir` (other names are not ours and stay).
fn stored_digests(dir: &Path) -> Result<BTreeSet<Digest>, ImageError> {
    let mut digests = BTreeSet::new();
    for entry in fs::read_dir(dir).doing("reading", dir)? {
        let entry = entry.doing("reading", dir)?;
        if let Some(digest) = entry
            .file_name()
            .to_str()
            .and_then(|n| Digest::from_hex(n).ok())
        {
            digests.insert(digest);
        }
    }
    Ok(digests)
}

fn sync_dir(dir: &Path) -> Result<(), ImageError> {
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .doing("syncing", dir)
}

fn remove_any(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// Copies `reader` to `file`, telling read failures (bad input) from write failures.
fn copy_reading(
    reader: &mut impl Read,
    file: &mut File,
    path: &Path,
    what: &'static str,
) -> Result<(), ImageError> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(ImageError::Read { what, source }),
        };
        file.write_all(buf.get(..n).unwrap_or_default())
            .doing("writing", path)?;
    }
}

/// Bytes of regular file content under `dir`, each inode counted once (no recursion:
/// layers can be deep).
fn content_size(dir: &Path) -> io::Result<u64> {
    let mut total = 0;
    let mut inodes = HashSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() && inodes.insert((meta.dev(), meta.ino())) {
                total += meta.len();
            }
        }
    }
    Ok(total)
}
