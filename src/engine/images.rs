//! The engine's image requests: import, load, list, inspect, remove, prune, over the
//! [`ImageStore`] (its work runs on the blocking pool, one operation at a time).

use super::protocol::{ImageSummary, Reply};
use super::server::{blocking, Engine, RequestError};
use crate::image::{Change, Image, ImageError, ImageId, ImageStore, Reference, Removed};
use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::os::fd::OwnedFd;
use std::sync::{Arc, RwLockReadGuard, RwLockWriteGuard};

/// `image import`: descriptor 0 is a rootfs tarball.
pub(crate) async fn import(
    engine: &Arc<Engine>,
    name: &str,
    changes: &[String],
    fds: Vec<OwnedFd>,
) -> Result<Reply, RequestError> {
    let reference = Reference::parse(name).map_err(ImageError::from)?;
    let changes = changes
        .iter()
        .map(|change| change.parse::<Change>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(ImageError::from)?;
    let tarball = File::from(first_fd(fds, "rootfs tarball")?);
    let engine = engine.clone();
    blocking(move || {
        let mut images = lock(&engine);
        images.import_rootfs(BufReader::new(tarball), &reference, &changes)?;
        Ok(Reply::Image(summary(&images.inspect(&reference)?)))
    })
    .await
}

/// `image load`: descriptor 0 is a `docker save` or OCI archive.
pub(crate) async fn load(engine: &Arc<Engine>, fds: Vec<OwnedFd>) -> Result<Reply, RequestError> {
    let archive = File::from(first_fd(fds, "image archive")?);
    let engine = engine.clone();
    blocking(move || {
        let names = lock(&engine).load_archive(BufReader::new(archive))?;
        Ok(Reply::Loaded {
            names: names.iter().map(ToString::to_string).collect(),
        })
    })
    .await
}

/// `image ls`.
pub(crate) async fn list(engine: &Arc<Engine>) -> Result<Reply, RequestError> {
    let engine = engine.clone();
    blocking(move || {
        let images = lock(&engine).list()?;
        Ok(Reply::Images(images.iter().map(summary).collect()))
    })
    .await
}

/// `image inspect`: docker's shape, one object per name.
pub(crate) async fn inspect(
    engine: &Arc<Engine>,
    names: Vec<String>,
) -> Result<Reply, RequestError> {
    let engine = engine.clone();
    blocking(move || {
        let images = lock(&engine);
        let all = images.list()?;
        let found = names
            .iter()
            .map(|name| find(&images, &all, name).map(|image| inspect_json(&image)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Reply::Json(serde_json::Value::Array(found)))
    })
    .await
}

/// `image rm`: a name is taken off; an image whose last name goes is deleted, unless a
/// container uses it (refused, or with `force` left dangling).
pub(crate) async fn remove(
    engine: &Arc<Engine>,
    names: Vec<String>,
    force: bool,
) -> Result<Reply, RequestError> {
    let engine = engine.clone();
    blocking(move || {
        // The store first: a `run` records its container while it holds the store.
        let mut images = lock(&engine);
        let used = used_images(&engine)?;
        let in_use = |id: &ImageId| used.contains(&id.to_string());
        let mut removed = Removed::default();
        for name in &names {
            let all = images.list()?;
            let done = match Reference::parse(name) {
                Ok(reference) if images.resolve(&reference).is_ok() => {
                    images.remove(&reference, force, &in_use)?
                }
                _ => {
                    let image = find(&images, &all, name)?;
                    remove_image(&mut images, &image, force, &in_use)?
                }
            };
            merge(&mut removed, done);
        }
        Ok(removed_reply(removed))
    })
    .await
}

/// `image prune`: dangling images no container uses; with `all`, every image no
/// container uses.
pub(crate) async fn prune(engine: &Arc<Engine>, all: bool) -> Result<Reply, RequestError> {
    let engine = engine.clone();
    blocking(move || {
        // The store first: a `run` records its container while it holds the store.
        let mut images = lock(&engine);
        let used = used_images(&engine)?;
        let in_use = |id: &ImageId| used.contains(&id.to_string());
        let mut removed = Removed::default();
        if all {
            for image in images.list()? {
                if !image.references.is_empty() && !in_use(&image.id) {
                    let done = remove_image(&mut images, &image, false, &in_use)?;
                    merge(&mut removed, done);
                }
            }
        }
        merge(&mut removed, images.prune(&in_use)?);
        Ok(removed_reply(removed))
    })
    .await
}

/// The store, for one blocking operation that changes it (imports, removals). A panic
/// never holds the lock (the engine has none), so a poisoned lock is taken as it is.
pub(crate) fn lock(engine: &Engine) -> RwLockWriteGuard<'_, ImageStore> {
    engine
        .images
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The store, for reading: containers are made from it in parallel, while no image
/// they use can be removed.
pub(crate) fn read(engine: &Engine) -> RwLockReadGuard<'_, ImageStore> {
    engine
        .images
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn first_fd(fds: Vec<OwnedFd>, what: &'static str) -> Result<OwnedFd, RequestError> {
    fds.into_iter()
        .next()
        .ok_or(RequestError::MissingDescriptor { what })
}

/// The image IDs (`sha256:…`) the containers' records use.
fn used_images(engine: &Engine) -> Result<HashSet<String>, RequestError> {
    Ok(engine
        .state
        .containers()?
        .into_iter()
        .map(|record| record.image_id)
        .collect())
}

/// The image `name` means: a name, a full ID (`sha256:…`) or a unique prefix of one.
pub(crate) fn find(images: &ImageStore, all: &[Image], name: &str) -> Result<Image, RequestError> {
    // `sha256:…` would read as the repository `sha256`: it is only an ID.
    let id = name.strip_prefix("sha256:");
    let by_name = match id {
        Some(_) => None,
        None => Reference::parse(name)
            .ok()
            .map(|reference| images.inspect(&reference)),
    };
    if let Some(Ok(image)) = by_name {
        return Ok(image);
    }
    let hex = id.unwrap_or(name);
    let is_hex = !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    let matches: Vec<&Image> = if is_hex {
        all.iter()
            .filter(|image| image.id.0.hex().starts_with(&hex.to_ascii_lowercase()))
            .collect()
    } else {
        Vec::new()
    };
    match matches.as_slice() {
        [image] => Ok((*image).clone()),
        // A name says how to get the image.
        [] => match by_name {
            Some(Err(not_found)) => Err(not_found.into()),
            _ => Err(RequestError::NoSuchImage {
                name: name.to_string(),
            }),
        },
        _ => Err(RequestError::AmbiguousImage {
            prefix: name.to_string(),
            count: matches.len(),
        }),
    }
}

/// Removes an image with all its names (as `docker rmi <ID>` does).
fn remove_image(
    images: &mut ImageStore,
    image: &Image,
    force: bool,
    in_use: &dyn Fn(&ImageId) -> bool,
) -> Result<Removed, RequestError> {
    match image.references.first() {
        Some(name) => {
            // By digest, a reference takes every name of the image.
            let pinned = Reference::parse(&format!("{}@{}", name.repository(), image.manifest))
                .map_err(ImageError::from)?;
            Ok(images.remove(&pinned, force, in_use)?)
        }
        None if in_use(&image.id) => {
            if force {
                Ok(Removed::default())
            } else {
                Err(RequestError::DanglingImageInUse {
                    id: image.id.clone(),
                })
            }
        }
        None => Ok(images.prune(&|other| other != &image.id || in_use(other))?),
    }
}

fn merge(into: &mut Removed, more: Removed) {
    into.untagged.extend(more.untagged);
    into.images.extend(more.images);
    into.blobs.extend(more.blobs);
    into.layers.extend(more.layers);
}

fn removed_reply(removed: Removed) -> Reply {
    Reply::Removed {
        untagged: removed.untagged.iter().map(ToString::to_string).collect(),
        deleted: removed.images.iter().map(ToString::to_string).collect(),
    }
}

/// An image as `image ls` shows it.
pub(crate) fn summary(image: &Image) -> ImageSummary {
    ImageSummary {
        id: image.id.to_string(),
        names: image.references.iter().map(ToString::to_string).collect(),
        size: image.size,
        created: image.created.clone(),
    }
}

/// An image as `docker image inspect` shows it.
fn inspect_json(image: &Image) -> serde_json::Value {
    serde_json::json!({
        "Id": image.id.to_string(),
        "RepoTags": image.references.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "Created": image.created,
        "Architecture": image.architecture,
        "Os": image.os,
        "Size": image.size,
        "Config": image.config,
        "RootFS": {
            "Type": "layers",
            "Layers": image.layers.iter().map(ToString::to_string).collect::<Vec<_>>(),
        },
    })
}
