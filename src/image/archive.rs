//! `docker save` archives and OCI image layouts in a tar, loaded into the store.
//!
//! The archive is read once, each file into a temp file with its digest (files are
//! never unpacked under their archive names); then `manifest.json` (docker save, also
//! written by docker 25+ beside its OCI layout) or else `index.json` (OCI) says which
//! images it holds. Every blob is checked against its digest and size, every layer
//! against its config's diff ID.

use super::compress::decompress;
use super::config::{
    host_architecture, ConfigFile, Descriptor, Index, Manifest, ANNOTATION_CONTAINERD_NAME,
    ANNOTATION_REF_NAME, MEDIA_TYPE_DOCKER_LIST, MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_OCI_CONFIG,
    MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST,
};
use super::digest::Digest;
use super::error::ImageError;
use super::reference::Reference;
use super::store::{to_json, ImageStore, Ingested, NewImage, Staged};
use super::unpack::{normalize, EofTracker};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use tar::EntryType;

const WHAT: &str = "image archive";
const DOCKER_MANIFEST: &str = "manifest.json";
const OCI_INDEX: &str = "index.json";
/// How many symlinks in a row the archive may chain.
const MAX_LINK_HOPS: usize = 40;

/// One image of a `docker save` manifest.json.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SavedImage {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

/// The files of an archive, spooled into the store's temp dir.
#[derive(Default)]
struct Archive {
    files: HashMap<String, Staged>,
    /// Symlinks and hard links: archive path -> the archive path they stand for.
    links: HashMap<String, String>,
    /// Layers already ingested, by archive path (images of one archive share layers).
    ingested: HashMap<String, Ingested>,
}

impl ImageStore {
    /// Loads every image of a `docker save` archive or an OCI image-layout archive
    /// (plain, gzip or zstd), with every name it gives them, and returns the names.
    /// Nothing is stored when any part of it is bad.
    pub fn load_archive(&mut self, reader: impl Read) -> Result<Vec<Reference>, ImageError> {
        let loaded = self.load(reader);
        self.after(loaded)
    }

    fn load(&mut self, reader: impl Read) -> Result<Vec<Reference>, ImageError> {
        let mut archive = self.spool_archive(reader)?;
        let images = if archive.resolve(DOCKER_MANIFEST).is_some() {
            self.docker_save_images(&mut archive)?
        } else if archive.resolve(OCI_INDEX).is_some() {
            self.oci_images(&mut archive)?
        } else {
            return Err(ImageError::UnknownArchive);
        };
        let references: Vec<Reference> = images
            .iter()
            .flat_map(|image| image.references.clone())
            .collect();
        if references.is_empty() {
            return Err(ImageError::Unnamed);
        }
        self.add_images(images)?;
        Ok(references)
    }

    fn spool_archive(&self, reader: impl Read) -> Result<Archive, ImageError> {
        let read = |source| ImageError::Read { what: WHAT, source };
        let (_, stream) = decompress(reader, WHAT)?;
        let mut tar = tar::Archive::new(EofTracker::new(stream));
        let mut archive = Archive::default();
        for entry in tar.entries().map_err(read)? {
            let mut entry = entry.map_err(read)?;
            let raw_path = entry.path().map_err(read)?.into_owned();
            let path = normalize(&raw_path).map_err(|problem| ImageError::UnsafeEntry {
                what: WHAT,
                entry: raw_path.to_string_lossy().into_owned(),
                problem,
            })?;
            let key = path.to_string_lossy().into_owned();
            match entry.header().entry_type() {
                EntryType::Regular | EntryType::Continuous => {
                    let staged = self.spool(&mut entry, WHAT)?;
                    archive.links.remove(&key);
                    archive.files.insert(key, staged);
                }
                kind @ (EntryType::Symlink | EntryType::Link) => {
                    let Some(target) = entry.link_name().map_err(read)? else {
                        continue;
                    };
                    // A symlink is relative to its directory, a hard link to the root.
                    let base = match kind {
                        EntryType::Symlink => path.parent().unwrap_or(Path::new("")),
                        _ => Path::new(""),
                    };
                    if let Some(resolved) = resolve_lexically(base, &target) {
                        archive.files.remove(&key);
                        archive.links.insert(key, resolved);
                    }
                }
                _ => {}
            }
        }
        if tar.into_inner().hit_eof() {
            return Err(ImageError::Truncated { what: WHAT });
        }
        Ok(archive)
    }

    fn docker_save_images(&self, archive: &mut Archive) -> Result<Vec<NewImage>, ImageError> {
        let saved: Vec<SavedImage> = self.archive_json(archive, DOCKER_MANIFEST, "the archive")?;
        let mut images = Vec::new();
        for image in saved {
            let config_bytes = self.archive_file(archive, &image.config, DOCKER_MANIFEST)?;
            let config: ConfigFile = parse(&config_bytes, &image.config)?;
            let config_digest = Digest::of(&config_bytes);
            check_layer_count(&config_digest, &config, image.layers.len())?;
            let mut layers = Vec::new();
            for (path, diff_id) in image.layers.iter().zip(&config.rootfs.diff_ids) {
                layers.push(self.archive_layer(archive, path, DOCKER_MANIFEST, None, diff_id)?);
            }
            let manifest = Manifest {
                schema_version: 2,
                media_type: Some(MEDIA_TYPE_OCI_MANIFEST.to_string()),
                config: descriptor(
                    MEDIA_TYPE_OCI_CONFIG,
                    config_digest,
                    config_bytes.len() as u64,
                ),
                layers: layers
                    .iter()
                    .map(|layer| {
                        descriptor(layer.media_type, layer.record.blob.clone(), layer.blob_size)
                    })
                    .collect(),
            };
            let references = image
                .repo_tags
                .unwrap_or_default()
                .iter()
                .map(|tag| Reference::parse(tag))
                .collect::<Result<Vec<_>, _>>()?;
            images.push(NewImage {
                config: config_bytes,
                manifest: to_json(&manifest),
                layers: layers.into_iter().map(|layer| layer.record).collect(),
                references,
            });
        }
        Ok(images)
    }

    fn oci_images(&self, archive: &mut Archive) -> Result<Vec<NewImage>, ImageError> {
        let index: Index = self.archive_json(archive, OCI_INDEX, "the archive")?;
        let mut images = Vec::new();
        for entry in index.manifests {
            let references = oci_names(&entry.annotations)?;
            if references.is_empty() {
                continue;
            }
            let target = match entry.media_type.as_str() {
                MEDIA_TYPE_OCI_INDEX | MEDIA_TYPE_DOCKER_LIST => {
                    let bytes = self.archive_blob(archive, &entry, "image index", OCI_INDEX)?;
                    let nested: Index = parse(&bytes, &blob_path(&entry.digest))?;
                    pick_platform(&entry.digest, nested)?
                }
                _ => entry,
            };
            if !matches!(
                target.media_type.as_str(),
                MEDIA_TYPE_OCI_MANIFEST | MEDIA_TYPE_DOCKER_MANIFEST
            ) {
                return Err(ImageError::UnsupportedMediaType {
                    digest: target.digest,
                    media_type: target.media_type,
                    expected: "an image manifest or index",
                });
            }
            let manifest_path = blob_path(&target.digest);
            let manifest_bytes = self.archive_blob(archive, &target, "manifest", OCI_INDEX)?;
            let manifest: Manifest = parse(&manifest_bytes, &manifest_path)?;
            let config_bytes =
                self.archive_blob(archive, &manifest.config, "config", &manifest_path)?;
            let config: ConfigFile = parse(&config_bytes, &blob_path(&manifest.config.digest))?;
            check_layer_count(&manifest.config.digest, &config, manifest.layers.len())?;
            let mut layers = Vec::new();
            for (layer, diff_id) in manifest.layers.iter().zip(&config.rootfs.diff_ids) {
                if !is_layer_media_type(&layer.media_type) {
                    return Err(ImageError::UnsupportedMediaType {
                        digest: layer.digest.clone(),
                        media_type: layer.media_type.clone(),
                        expected: "an image layer",
                    });
                }
                let path = blob_path(&layer.digest);
                let ingested =
                    self.archive_layer(archive, &path, &manifest_path, Some(layer), diff_id)?;
                layers.push(ingested.record);
            }
            images.push(NewImage {
                config: config_bytes,
                manifest: manifest_bytes,
                layers,
                references,
            });
        }
        Ok(images)
    }

    /// The whole content of an archive file (a small JSON document).
    fn archive_file(
        &self,
        archive: &Archive,
        path: &str,
        referrer: &str,
    ) -> Result<Vec<u8>, ImageError> {
        let staged = archive.file(path, referrer)?;
        self.read_staged(staged)
    }

    fn archive_json<T: DeserializeOwned>(
        &self,
        archive: &Archive,
        path: &str,
        referrer: &str,
    ) -> Result<T, ImageError> {
        parse(&self.archive_file(archive, path, referrer)?, path)
    }

    /// The content of the blob `descriptor` points at, checked against its digest and size.
    fn archive_blob(
        &self,
        archive: &Archive,
        descriptor: &Descriptor,
        what: &'static str,
        referrer: &str,
    ) -> Result<Vec<u8>, ImageError> {
        let staged = archive.file(&blob_path(&descriptor.digest), referrer)?;
        check_blob(staged, descriptor, what)?;
        self.read_staged(staged)
    }

    /// Ingests the layer at `path` (once per archive), checking its blob against
    /// `descriptor` when there is one, and its content against `diff_id`.
    fn archive_layer(
        &self,
        archive: &mut Archive,
        path: &str,
        referrer: &str,
        descriptor: Option<&Descriptor>,
        diff_id: &Digest,
    ) -> Result<Ingested, ImageError> {
        let key = archive
            .resolve(path)
            .ok_or_else(|| ImageError::MissingArchiveFile {
                file: path.to_string(),
                referrer: referrer.to_string(),
            })?;
        if let Some(ingested) = archive.ingested.get(&key) {
            if &ingested.record.diff_id != diff_id {
                return Err(ImageError::DigestMismatch {
                    what: "layer content (diff ID)",
                    expected: diff_id.clone(),
                    actual: ingested.record.diff_id.clone(),
                });
            }
            return Ok(ingested.clone());
        }
        let staged = archive
            .files
            .remove(&key)
            .ok_or_else(|| ImageError::MissingArchiveFile {
                file: path.to_string(),
                referrer: referrer.to_string(),
            })?;
        if let Some(descriptor) = descriptor {
            check_blob(&staged, descriptor, "layer blob")?;
        }
        let ingested = self.ingest_layer(staged, Some(diff_id))?;
        archive.ingested.insert(key, ingested.clone());
        Ok(ingested)
    }
}

impl Archive {
    /// The archive path of the file `path` names, through symlinks and hard links.
    fn resolve(&self, path: &str) -> Option<String> {
        let mut key = normalize(Path::new(path))
            .ok()?
            .to_string_lossy()
            .into_owned();
        for _ in 0..MAX_LINK_HOPS {
            if self.files.contains_key(&key) || self.ingested.contains_key(&key) {
                return Some(key);
            }
            key = self.links.get(&key)?.clone();
        }
        None
    }

    fn file(&self, path: &str, referrer: &str) -> Result<&Staged, ImageError> {
        self.resolve(path)
            .and_then(|key| self.files.get(&key))
            .ok_or_else(|| ImageError::MissingArchiveFile {
                file: path.to_string(),
                referrer: referrer.to_string(),
            })
    }
}

/// `target` seen from the directory `base`, with `..` applied; `None` when it leaves
/// the archive.
fn resolve_lexically(base: &Path, target: &Path) -> Option<String> {
    let mut resolved = if target.is_absolute() {
        PathBuf::new()
    } else {
        base.to_path_buf()
    };
    for component in target.components() {
        match component {
            Component::Normal(part) => resolved.push(part),
            Component::ParentDir => {
                if !resolved.pop() {
                    return None;
                }
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(resolved.to_string_lossy().into_owned())
}

fn blob_path(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

fn descriptor(media_type: &str, digest: Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_string(),
        digest,
        size,
        annotations: BTreeMap::new(),
        platform: None,
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8], file: &str) -> Result<T, ImageError> {
    serde_json::from_slice(bytes).map_err(|source| ImageError::ArchiveJson {
        file: file.to_string(),
        source,
    })
}

fn check_blob(
    staged: &Staged,
    descriptor: &Descriptor,
    what: &'static str,
) -> Result<(), ImageError> {
    if staged.digest != descriptor.digest {
        return Err(ImageError::DigestMismatch {
            what,
            expected: descriptor.digest.clone(),
            actual: staged.digest.clone(),
        });
    }
    if staged.size != descriptor.size {
        return Err(ImageError::SizeMismatch {
            what,
            digest: descriptor.digest.clone(),
            expected: descriptor.size,
            actual: staged.size,
        });
    }
    Ok(())
}

fn check_layer_count(config: &Digest, file: &ConfigFile, layers: usize) -> Result<(), ImageError> {
    let diff_ids = file.rootfs.diff_ids.len();
    if diff_ids == layers {
        Ok(())
    } else {
        Err(ImageError::LayerCount {
            config: config.clone(),
            diff_ids,
            layers,
        })
    }
}

/// The names an OCI index gives a manifest: containerd's full image name, else
/// `org.opencontainers.image.ref.name` when it is a full reference (a bare tag such as
/// `latest` names no repository).
fn oci_names(annotations: &BTreeMap<String, String>) -> Result<Vec<Reference>, ImageError> {
    let name = annotations.get(ANNOTATION_CONTAINERD_NAME).or_else(|| {
        annotations
            .get(ANNOTATION_REF_NAME)
            .filter(|name| name.contains(['/', ':', '@']))
    });
    Ok(match name {
        Some(name) => vec![Reference::parse(name)?],
        None => Vec::new(),
    })
}

/// The manifest of a multi-platform index for this host (linux and its architecture).
fn pick_platform(index_digest: &Digest, index: Index) -> Result<Descriptor, ImageError> {
    let architecture = host_architecture();
    index
        .manifests
        .into_iter()
        .find(|entry| {
            entry
                .platform
                .as_ref()
                .is_some_and(|p| p.os == "linux" && p.architecture == architecture)
        })
        .ok_or_else(|| ImageError::NoPlatform {
            index: index_digest.clone(),
            architecture: architecture.to_string(),
        })
}

fn is_layer_media_type(media_type: &str) -> bool {
    (media_type.starts_with("application/vnd.oci.image.layer.")
        || media_type.starts_with("application/vnd.docker.image.rootfs."))
        && media_type.contains(".tar")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_within_the_archive() {
        let resolve =
            |base: &str, target: &str| resolve_lexically(Path::new(base), Path::new(target));
        assert_eq!(
            resolve("abc", "../def/layer.tar"),
            Some("def/layer.tar".into())
        );
        assert_eq!(
            resolve("", "/blobs/sha256/x"),
            Some("blobs/sha256/x".into())
        );
        assert_eq!(resolve("a", "./b"), Some("a/b".into()));
        assert_eq!(resolve("a", "../../x"), None);
    }

    #[test]
    fn oci_names_prefer_the_full_name() {
        let names = |pairs: &[(&str, &str)]| {
            let annotations = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            oci_names(&annotations)
                .map(|refs| refs.iter().map(|r| r.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            names(&[
                (ANNOTATION_CONTAINERD_NAME, "docker.io/library/busybox:1"),
                (ANNOTATION_REF_NAME, "1")
            ])
            .unwrap(),
            ["busybox:1"]
        );
        assert_eq!(
            names(&[(ANNOTATION_REF_NAME, "app:v2")]).unwrap(),
            ["app:v2"]
        );
        assert_eq!(
            names(&[(ANNOTATION_REF_NAME, "latest")]).unwrap(),
            Vec::<String>::new()
        );
        assert!(matches!(
            names(&[(ANNOTATION_REF_NAME, "Bad:x")]),
            Err(ImageError::Reference(_))
        ));
    }

    #[test]
    fn layer_media_types() {
        for good in [
            "application/vnd.oci.image.layer.v1.tar",
            "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        ] {
            assert!(is_layer_media_type(good), "{good}");
        }
        for bad in [
            "application/vnd.in-toto+json",
            "application/vnd.oci.image.config.v1+json",
        ] {
            assert!(!is_layer_media_type(bad), "{bad}");
        }
    }

    #[test]
    fn the_host_platform_is_picked_from_an_index() {
        let digest = Digest::of(b"index");
        let entry = |arch: &str| Descriptor {
            media_type: MEDIA_TYPE_OCI_MANIFEST.into(),
            digest: Digest::of(arch.as_bytes()),
            size: 1,
            annotations: BTreeMap::new(),
            platform: Some(super::super::config::Platform {
                architecture: arch.into(),
                os: "linux".into(),
            }),
        };
        let index = Index {
            manifests: vec![entry("s390x-not-this"), entry(host_architecture())],
        };
        assert_eq!(
            pick_platform(&digest, index).unwrap(),
            entry(host_architecture())
        );
        let index = Index {
            manifests: vec![entry("nope")],
        };
        assert_eq!(
            pick_platform(&digest, index).unwrap_err().to_string(),
            format!(
                "the image index {digest} has no manifest for linux/{}",
                host_architecture()
            )
        );
    }
}
