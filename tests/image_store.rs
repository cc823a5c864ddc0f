//! End-to-end behaviour of the image store: imports, loads, shared layers, removal
//! accounting, and layers that try to escape. Archives are built here with the `tar`
//! crate. These tests run as root (whiteouts are device nodes, opaque directories carry
//! a `trusted.` xattr, and one test mounts an overlay).

use flate2::write::GzEncoder;
use rcompose::image::{
    Change, Digest, EntryProblem, ImageConfig, ImageError, ImageId, ImageStore, Reference, Removed,
};
use serde_json::{json, Value};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use tar::{EntryType, Header};

// ---------------------------------------------------------------- helpers

/// A store in a fresh temp dir, with an empty sibling dir that must stay empty.
struct Fixture {
    base: tempfile::TempDir,
    store: ImageStore,
}

impl Fixture {
    fn new() -> Fixture {
        let base = tempfile::tempdir().unwrap();
        fs::create_dir(base.path().join("sibling")).unwrap();
        let store = ImageStore::open(base.path().join("root")).unwrap();
        Fixture { base, store }
    }

    fn root(&self) -> PathBuf {
        self.base.path().join("root")
    }

    fn sibling(&self) -> PathBuf {
        self.base.path().join("sibling")
    }

    fn import(&mut self, tar: &[u8], name: &str) -> Result<ImageId, ImageError> {
        self.store.import_rootfs(tar, &reference(name), &[])
    }

    fn names(&self, dir: &str) -> Vec<String> {
        names_in(&self.root().join(dir))
    }

    /// Nothing but what images use: after a failure, the store is as it was.
    fn assert_nothing_left(&self) {
        assert_eq!(self.names("images/blobs/sha256"), Vec::<String>::new());
        assert_eq!(self.names("layers"), Vec::<String>::new());
        assert_eq!(self.names("images/tmp"), Vec::<String>::new());
        assert_eq!(names_in(&self.sibling()), Vec::<String>::new());
        assert_eq!(self.store.list().unwrap(), Vec::new());
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn reference(name: &str) -> Reference {
    Reference::parse(name).unwrap()
}

fn never(_: &ImageId) -> bool {
    false
}

fn always(_: &ImageId) -> bool {
    true
}

/// Appends an entry whose name and link name are written byte for byte (tar's own
/// builder refuses the malicious ones).
fn raw(builder: &mut tar::Builder<Vec<u8>>, kind: EntryType, name: &str, link: &str, data: &[u8]) {
    raw_with(builder, kind, name, link, data, |_| {});
}

fn raw_with(
    builder: &mut tar::Builder<Vec<u8>>,
    kind: EntryType,
    name: &str,
    link: &str,
    data: &[u8],
    adjust: impl FnOnce(&mut Header),
) {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    header.set_size(data.len() as u64);
    header.set_mode(if kind == EntryType::Directory {
        0o755
    } else {
        0o644
    });
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_700_000_000);
    adjust(&mut header);
    header.set_cksum();
    builder.append(&header, data).unwrap();
}

fn tarball(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    build(&mut builder);
    builder.into_inner().unwrap()
}

/// A small rootfs: a few dirs, an executable, a symlink, a hard link.
fn rootfs() -> Vec<u8> {
    tarball(|b| {
        raw(b, EntryType::Directory, "./", "", b"");
        raw(b, EntryType::Directory, "bin/", "", b"");
        raw_with(
            b,
            EntryType::Regular,
            "bin/app",
            "",
            b"#!/bin/sh\necho hi\n",
            |h| h.set_mode(0o755),
        );
        raw(b, EntryType::Symlink, "bin/sh", "app", b"");
        raw(b, EntryType::Link, "bin/app2", "bin/app", b"");
        raw(b, EntryType::Directory, "etc/", "", b"");
        raw(b, EntryType::Regular, "etc/hostname", "", b"box\n");
    })
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn file(builder: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut header = Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    builder.append_data(&mut header, path, data).unwrap();
}

fn config_json(diff_ids: &[Digest], cmd: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-05-06T07:08:09Z",
        "config": {"Cmd": [cmd], "Env": ["PATH=/bin"], "Entrypoint": null},
        "rootfs": {"type": "layers", "diff_ids": diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>()},
    }))
    .unwrap()
}

/// A `docker save` archive (the classic layout) of images given as (plain layer
/// tarballs, tags); layers shared between images are stored once, as docker does.
fn docker_save(images: &[(Vec<Vec<u8>>, Vec<&str>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut manifest = Vec::new();
    let mut written = std::collections::HashSet::new();
    for (layers, tags) in images {
        let diff_ids: Vec<Digest> = layers.iter().map(|l| Digest::of(l)).collect();
        let config = config_json(&diff_ids, "sh");
        let config_name = format!("{}.json", Digest::of(&config).hex());
        file(&mut builder, &config_name, &config);
        let mut layer_paths = Vec::new();
        for (layer, diff_id) in layers.iter().zip(&diff_ids) {
            let path = format!("{}/layer.tar", diff_id.hex());
            if written.insert(path.clone()) {
                file(&mut builder, &path, layer);
            }
            layer_paths.push(path);
        }
        manifest.push(json!({"Config": config_name, "RepoTags": tags, "Layers": layer_paths}));
    }
    file(
        &mut builder,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    file(&mut builder, "repositories", b"{}");
    builder.into_inner().unwrap()
}

struct OciBlobs {
    builder: tar::Builder<Vec<u8>>,
}

impl OciBlobs {
    fn new() -> OciBlobs {
        let mut builder = tar::Builder::new(Vec::new());
        file(
            &mut builder,
            "oci-layout",
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        );
        OciBlobs { builder }
    }

    fn add(&mut self, media_type: &str, bytes: &[u8]) -> Value {
        let digest = Digest::of(bytes);
        file(
            &mut self.builder,
            &format!("blobs/sha256/{}", digest.hex()),
            bytes,
        );
        json!({"mediaType": media_type, "digest": digest.to_string(), "size": bytes.len()})
    }

    /// An image of gzip layers: returns the manifest descriptor.
    fn image(&mut self, layers: &[Vec<u8>], cmd: &str) -> Value {
        let diff_ids: Vec<Digest> = layers.iter().map(|l| Digest::of(l)).collect();
        let config = self.add(
            "application/vnd.oci.image.config.v1+json",
            &config_json(&diff_ids, cmd),
        );
        let layers: Vec<Value> = layers
            .iter()
            .map(|l| self.add("application/vnd.oci.image.layer.v1.tar+gzip", &gzip(l)))
            .collect();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": layers,
        });
        self.add(
            "application/vnd.oci.image.manifest.v1+json",
            &serde_json::to_vec(&manifest).unwrap(),
        )
    }

    fn finish(mut self, manifests: Vec<Value>) -> Vec<u8> {
        let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
        file(
            &mut self.builder,
            "index.json",
            &serde_json::to_vec(&index).unwrap(),
        );
        self.builder.into_inner().unwrap()
    }
}

fn with_annotations(mut descriptor: Value, annotations: Value) -> Value {
    descriptor["annotations"] = annotations;
    descriptor
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn layer(files: &[(&str, &[u8])]) -> Vec<u8> {
    tarball(|b| {
        for (name, data) in files {
            raw(b, EntryType::Regular, name, "", data);
        }
    })
}

// ---------------------------------------------------------------- imports

#[test]
fn import_reads_plain_gzip_and_zstd_alike() {
    let mut fx = Fixture::new();
    let plain = rootfs();
    let diff_id = Digest::of(&plain);
    for (name, input, media_type) in [
        ("plain", plain.clone(), "tar"),
        ("gz", gzip(&plain), "tar+gzip"),
        ("zst", zstd(&plain), "tar+zstd"),
    ] {
        let id = fx.import(&input, name).unwrap();
        let image = fx.store.inspect(&reference(name)).unwrap();
        assert_eq!(image.id, id);
        assert_eq!(image.references, [reference(name)]);
        assert_eq!(image.layers, std::slice::from_ref(&diff_id), "{name}");
        // bin/app (18 bytes, hard-linked as bin/app2) and etc/hostname (4 bytes).
        assert_eq!(image.size, 22);
        assert_eq!(image.os, "linux");
        assert_eq!(image.architecture, host_arch());
        let manifest: Value = serde_json::from_slice(
            &fs::read(
                fx.root()
                    .join("images/blobs/sha256")
                    .join(image.manifest.hex()),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            manifest["layers"][0]["mediaType"],
            format!("application/vnd.oci.image.layer.v1.{media_type}")
        );
        assert_eq!(
            manifest["layers"][0]["digest"],
            Digest::of(&input).to_string()
        );
        assert_eq!(manifest["config"]["digest"], id.to_string());
    }
    // One layer dir for the three: the same content.
    assert_eq!(fx.names("layers"), [diff_id.hex().to_string()]);
    let dir = fx.root().join("layers").join(diff_id.hex());
    assert_eq!(
        fs::read(dir.join("bin/app")).unwrap(),
        b"#!/bin/sh\necho hi\n"
    );
    assert_eq!(
        fs::metadata(dir.join("bin/app")).unwrap().mode() & 0o7777,
        0o755
    );
    assert_eq!(fs::read_link(dir.join("bin/sh")).unwrap(), Path::new("app"));
    assert_eq!(
        fs::metadata(dir.join("bin/app2")).unwrap().ino(),
        fs::metadata(dir.join("bin/app")).unwrap().ino()
    );
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o7777, 0o755);
    assert_eq!(
        names_in(&fx.root().join("images/tmp")),
        Vec::<String>::new()
    );
}

#[test]
fn import_applies_changes_and_the_store_reopens_with_them() {
    let mut fx = Fixture::new();
    let changes: Vec<Change> = [
        r#"CMD ["sh", "-c", "echo hi"]"#,
        "ENV PATH=/bin:/usr/bin",
        "ENV HOME /root",
        "WORKDIR /srv",
        "USER 1000:1000",
        "EXPOSE 8080 53/udp",
        "LABEL org.example.role=test",
        "STOPSIGNAL SIGQUIT",
        "VOLUME /data",
        "ENTRYPOINT /init",
        "HEALTHCHECK --interval=5s CMD true",
    ]
    .iter()
    .map(|text| text.parse().unwrap())
    .collect();
    let id = fx
        .store
        .import_rootfs(&rootfs()[..], &reference("app:v1"), &changes)
        .unwrap();
    let store = ImageStore::open(fx.root()).unwrap();
    let image = store.inspect(&reference("app:v1")).unwrap();
    assert_eq!(image.id, id);
    let config = image.config;
    assert_eq!(
        config.cmd,
        Some(vec!["sh".into(), "-c".into(), "echo hi".into()])
    );
    assert_eq!(
        config.entrypoint,
        Some(vec!["/bin/sh".into(), "-c".into(), "/init".into()])
    );
    assert_eq!(config.env, ["PATH=/bin:/usr/bin", "HOME=/root"]);
    assert_eq!(config.working_dir, "/srv");
    assert_eq!(config.user, "1000:1000");
    assert_eq!(
        config.exposed_ports.iter().collect::<Vec<_>>(),
        ["53/udp", "8080/tcp"]
    );
    assert_eq!(config.labels["org.example.role"], "test");
    assert_eq!(config.stop_signal.as_deref(), Some("SIGQUIT"));
    assert_eq!(config.volumes.iter().collect::<Vec<_>>(), ["/data"]);
    let healthcheck = config.healthcheck.unwrap();
    assert_eq!(healthcheck.test, ["CMD-SHELL", "true"]);
    assert_eq!(
        healthcheck.interval,
        Some(std::time::Duration::from_secs(5))
    );
    let created = image.created.unwrap();
    assert_eq!(
        created.len(),
        "2025-01-01T00:00:00.000000000Z".len(),
        "{created}"
    );
}

#[test]
fn importing_a_name_again_moves_it_and_leaves_the_old_image_dangling() {
    let mut fx = Fixture::new();
    let first = fx.import(&layer(&[("a", b"1")]), "app").unwrap();
    let second = fx.import(&layer(&[("a", b"2")]), "app").unwrap();
    assert_ne!(first, second);
    assert_eq!(fx.store.inspect(&reference("app")).unwrap().id, second);
    let list = fx.store.list().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (&list[0].id, &list[0].references[..]),
        (&second, &[reference("app")][..])
    );
    assert_eq!((&list[1].id, list[1].references.len()), (&first, 0));
    let removed = fx.store.prune(&never).unwrap();
    assert_eq!(removed.images, [first]);
    assert_eq!(removed.layers, [Digest::of(&layer(&[("a", b"1")]))]);
    assert_eq!(removed.blobs.len(), 3, "config, manifest and layer blob");
    assert_eq!(fx.store.list().unwrap().len(), 1);
}

#[test]
fn a_tag_with_a_digest_cannot_name_an_import() {
    let mut fx = Fixture::new();
    let pinned = format!("app@{}", Digest::of(b"x"));
    let err = fx.import(&rootfs(), &pinned).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot store an image under {pinned}: a name to store under has a tag, not a digest"
        )
    );
}

#[test]
fn a_missing_image_says_how_to_get_it() {
    let fx = Fixture::new();
    let err = fx.store.inspect(&reference("ghcr.io/x/y:1")).unwrap_err();
    assert!(matches!(err, ImageError::NotFound { .. }));
    assert_eq!(
        err.to_string(),
        "image ghcr.io/x/y:1 not found: import a rootfs tarball with `rcompose image import \
         FILE ghcr.io/x/y:1`, or load a saved image with `rcompose image load -i FILE`"
    );
}

// ---------------------------------------------------------------- loads

#[test]
fn a_docker_save_archive_loads_every_tag_with_shared_layers_once() {
    let mut fx = Fixture::new();
    let base = layer(&[("etc/motd", b"hello"), ("var/cache/a", b"a")]);
    let top = tarball(|b| {
        raw(b, EntryType::Regular, "etc/.wh.motd", "", b"");
        raw(b, EntryType::Regular, "var/cache/.wh..wh..opq", "", b"");
        raw(b, EntryType::Regular, "var/cache/b", "", b"b");
    });
    let other = layer(&[("other", b"o")]);
    let archive = docker_save(&[
        (vec![base.clone(), top.clone()], vec!["app:1", "app:latest"]),
        (
            vec![base.clone(), other.clone()],
            vec!["registry.local:5000/team/other:2"],
        ),
    ]);
    let loaded = fx.store.load_archive(&gzip(&archive)[..]).unwrap();
    let shown: Vec<String> = loaded.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        shown,
        ["app:1", "app:latest", "registry.local:5000/team/other:2"]
    );

    let app = fx.store.inspect(&reference("app:1")).unwrap();
    assert_eq!(
        app.references,
        [reference("app:1"), reference("app:latest")]
    );
    assert_eq!(app.layers, [Digest::of(&base), Digest::of(&top)]);
    assert_eq!(app.config.cmd, Some(vec!["sh".to_string()]));
    assert_eq!(app.created.as_deref(), Some("2024-05-06T07:08:09Z"));
    assert_eq!(app.size, 5 + 1 + 1);
    let mut layer_names: Vec<String> = [&base, &top, &other]
        .iter()
        .map(|l| Digest::of(l).hex().to_string())
        .collect();
    layer_names.sort();
    assert_eq!(fx.names("layers"), layer_names);

    let dirs = fx.store.layer_dirs(&app.id).unwrap();
    let layers = fx.root().join("layers");
    assert_eq!(
        dirs,
        [
            layers.join(Digest::of(&top).hex()),
            layers.join(Digest::of(&base).hex())
        ]
    );
    let whiteout = fs::symlink_metadata(dirs[0].join("etc/motd")).unwrap();
    assert!(whiteout.file_type().is_char_device());
    assert_eq!(whiteout.rdev(), 0);
    let mut value = [0u8; 4];
    let len = rustix::fs::lgetxattr(
        dirs[0].join("var/cache"),
        "trusted.overlay.opaque",
        &mut value[..],
    )
    .unwrap();
    assert_eq!(&value[..len], b"y");
    assert_eq!(fs::read(dirs[1].join("etc/motd")).unwrap(), b"hello");
}

#[test]
fn layers_merge_in_an_overlay_as_the_image_says() {
    let mut fx = Fixture::new();
    let base = layer(&[
        ("etc/motd", b"hello"),
        ("var/cache/a", b"a"),
        ("keep", b"k"),
    ]);
    let top = tarball(|b| {
        raw(b, EntryType::Regular, "etc/.wh.motd", "", b"");
        raw(b, EntryType::Regular, "var/cache/.wh..wh..opq", "", b"");
        raw(b, EntryType::Regular, "var/cache/b", "", b"b");
    });
    fx.store
        .load_archive(&docker_save(&[(vec![base, top], vec!["app"])])[..])
        .unwrap();
    let id = fx.store.resolve(&reference("app")).unwrap();
    let lower: Vec<String> = fx
        .store
        .layer_dirs(&id)
        .unwrap()
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    let merged = fx.base.path().join("merged");
    fs::create_dir(&merged).unwrap();
    let status = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o"])
        .arg(format!("lowerdir={}", lower.join(":")))
        .arg(&merged)
        .status()
        .unwrap();
    assert!(status.success(), "mounting the overlay failed");
    let seen = (
        merged.join("etc/motd").exists(),
        names_in(&merged.join("var/cache")),
        fs::read(merged.join("keep")),
    );
    let unmounted = Command::new("umount").arg(&merged).status().unwrap();
    assert!(unmounted.success());
    assert!(!seen.0, "etc/motd is whited out");
    assert_eq!(seen.1, ["b"], "var/cache is opaque");
    assert_eq!(seen.2.unwrap(), b"k");
}

#[test]
fn an_oci_layout_archive_loads_its_named_manifests() {
    let mut fx = Fixture::new();
    let shared = layer(&[("bin/tool", b"t")]);
    let mut blobs = OciBlobs::new();
    let plain = blobs.image(std::slice::from_ref(&shared), "plain");
    let by_ref_name = with_annotations(
        plain.clone(),
        json!({"org.opencontainers.image.ref.name": "localhost/plain:1"}),
    );
    let by_containerd_name = with_annotations(
        plain.clone(),
        json!({"io.containerd.image.name": "docker.io/library/plain:2", "org.opencontainers.image.ref.name": "2"}),
    );
    let tag_only = with_annotations(
        plain,
        json!({"org.opencontainers.image.ref.name": "latest"}),
    );
    // A multi-platform index: only the host's manifest is taken.
    let host = blobs.image(&[shared.clone(), layer(&[("host", b"h")])], "host");
    let foreign = blobs.image(&[layer(&[("foreign", b"f")])], "foreign");
    let mut host_entry = host;
    host_entry["platform"] = json!({"os": "linux", "architecture": host_arch()});
    let mut foreign_entry = foreign;
    foreign_entry["platform"] = json!({"os": "linux", "architecture": "not-this-one"});
    let nested = json!({"schemaVersion": 2, "manifests": [foreign_entry, host_entry]});
    let nested = blobs.add(
        "application/vnd.oci.image.index.v1+json",
        &serde_json::to_vec(&nested).unwrap(),
    );
    let multi = with_annotations(nested, json!({"io.containerd.image.name": "multi:3"}));
    let archive = blobs.finish(vec![by_ref_name, by_containerd_name, tag_only, multi]);

    let loaded = fx.store.load_archive(&archive[..]).unwrap();
    let shown: Vec<String> = loaded.iter().map(|r| r.to_string()).collect();
    assert_eq!(shown, ["localhost/plain:1", "plain:2", "multi:3"]);
    let plain = fx.store.inspect(&reference("plain:2")).unwrap();
    // Sorted by full name: docker.io/library/plain:2 before localhost/plain:1.
    assert_eq!(
        plain.references,
        [reference("plain:2"), reference("localhost/plain:1")]
    );
    let multi = fx.store.inspect(&reference("multi:3")).unwrap();
    assert_eq!(multi.config.cmd, Some(vec!["host".to_string()]));
    assert_eq!(multi.layers.len(), 2);
    assert_eq!(multi.layers[0], plain.layers[0]);
    // The foreign layer was never taken in; the shared one is stored once.
    assert_eq!(fx.names("layers").len(), 2);
    // The manifest digest pins the image.
    let pinned = reference(&format!("multi@{}", multi.manifest));
    assert_eq!(fx.store.resolve(&pinned).unwrap(), multi.id);
}

#[test]
fn an_archive_that_names_no_image_is_refused_and_leaves_nothing() {
    let mut fx = Fixture::new();
    let mut blobs = OciBlobs::new();
    let image = blobs.image(&[layer(&[("f", b"x")])], "sh");
    let archive = blobs.finish(vec![with_annotations(
        image,
        json!({"org.opencontainers.image.ref.name": "latest"}),
    )]);
    let err = fx.store.load_archive(&archive[..]).unwrap_err();
    assert!(matches!(err, ImageError::Unnamed), "{err}");
    fx.assert_nothing_left();
    let err = fx
        .store
        .load_archive(&tarball(|b| file(b, "x", b"y"))[..])
        .unwrap_err();
    assert!(matches!(err, ImageError::UnknownArchive), "{err}");
    fx.assert_nothing_left();
}

#[test]
fn a_layer_that_does_not_match_its_diff_id_leaves_nothing_behind() {
    let mut fx = Fixture::new();
    let good = layer(&[("a", b"good")]);
    let evil = layer(&[("a", b"evil")]);
    // The first image is fine; the second's config promises other content.
    let mut archive_images = vec![(vec![good.clone()], vec!["fine:1"])];
    archive_images.push((vec![evil.clone()], vec!["bad:1"]));
    let mut archive = docker_save(&archive_images);
    // Swap the evil layer's bytes for different content of the same length.
    let needle = b"evil";
    let at = archive.windows(4).position(|w| w == needle).unwrap();
    archive[at..at + 4].copy_from_slice(b"EVIL");
    let err = fx.store.load_archive(&archive[..]).unwrap_err();
    match &err {
        ImageError::DigestMismatch { what, expected, .. } => {
            assert_eq!(*what, "layer content (diff ID)");
            assert_eq!(expected, &Digest::of(&evil));
        }
        other => panic!("expected a digest mismatch, got {other}"),
    }
    fx.assert_nothing_left();
}

#[test]
fn an_oci_blob_that_does_not_match_its_digest_is_refused() {
    let mut fx = Fixture::new();
    let mut blobs = OciBlobs::new();
    let image = blobs.image(&[layer(&[("f", b"x")])], "sh");
    let mut archive = blobs.finish(vec![with_annotations(
        image,
        json!({"org.opencontainers.image.ref.name": "app:1"}),
    )]);
    // Change the config's Cmd in place: its blob no longer matches its name.
    let at = archive.windows(4).position(|w| w == b"[\"sh").unwrap();
    archive[at + 2] = b'z';
    let err = fx.store.load_archive(&archive[..]).unwrap_err();
    assert!(
        matches!(&err, ImageError::DigestMismatch { what: "config", .. }),
        "{err}"
    );
    fx.assert_nothing_left();
}

#[test]
fn a_truncated_archive_or_tarball_is_an_error_and_leaves_nothing() {
    let mut fx = Fixture::new();
    let archive = docker_save(&[(vec![layer(&[("a", &[1u8; 3000])])], vec!["app"])]);
    for cut in [archive.len() / 2, archive.len() - 1024] {
        let err = fx.store.load_archive(&archive[..cut]).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::Read { .. }
                    | ImageError::Truncated { .. }
                    | ImageError::MissingArchiveFile { .. }
            ),
            "cut at {cut}: {err}"
        );
        fx.assert_nothing_left();
    }
    let gz = gzip(&rootfs());
    let err = fx.import(&gz[..gz.len() - 10], "app").unwrap_err();
    assert!(
        matches!(err, ImageError::Read { what: "layer", .. }),
        "{err}"
    );
    fx.assert_nothing_left();
    let plain = rootfs();
    let err = fx.import(&plain[..plain.len() - 1024], "app").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the layer stops before the end-of-archive marker of its tar stream: it is truncated"
    );
    fx.assert_nothing_left();
    let err = fx
        .import(&[0xfd, b'7', b'z', b'X', b'Z', 0, 0], "app")
        .unwrap_err();
    assert!(matches!(
        err,
        ImageError::UnsupportedCompression { format: "xz", .. }
    ));
    fx.assert_nothing_left();
}

// ---------------------------------------------------------------- removal

#[test]
fn remove_deletes_only_what_no_other_image_uses() {
    let mut fx = Fixture::new();
    let base = layer(&[("base", b"b")]);
    let a_top = layer(&[("a", b"a")]);
    let b_top = layer(&[("b", b"b")]);
    fx.store
        .load_archive(
            &docker_save(&[
                (vec![base.clone(), a_top.clone()], vec!["a"]),
                (vec![base.clone(), b_top.clone()], vec!["b"]),
            ])[..],
        )
        .unwrap();
    assert_eq!(fx.names("layers").len(), 3);
    assert_eq!(fx.names("images/blobs/sha256").len(), 2 * 2 + 3);
    let a = fx.store.inspect(&reference("a")).unwrap();

    let removed = fx.store.remove(&reference("a"), false, &never).unwrap();
    let mut blobs = vec![a.id.0.clone(), a.manifest.clone(), Digest::of(&a_top)];
    blobs.sort();
    assert_eq!(
        removed,
        Removed {
            untagged: vec![reference("a")],
            images: vec![a.id.clone()],
            blobs,
            layers: vec![Digest::of(&a_top)],
        }
    );
    assert_eq!(fx.names("layers").len(), 2);
    let b = fx.store.inspect(&reference("b")).unwrap();
    for dir in fx.store.layer_dirs(&b.id).unwrap() {
        assert!(dir.is_dir());
    }

    let removed = fx.store.remove(&reference("b"), false, &never).unwrap();
    assert_eq!(removed.layers.len(), 2);
    assert_eq!(removed.blobs.len(), 4);
    fx.assert_nothing_left();
    assert!(matches!(
        fx.store.layer_dirs(&b.id),
        Err(ImageError::UnknownImage { .. })
    ));
}

#[test]
fn removing_one_of_several_tags_only_untags() {
    let mut fx = Fixture::new();
    fx.store
        .load_archive(&docker_save(&[(vec![layer(&[("x", b"x")])], vec!["x:1", "x:2"])])[..])
        .unwrap();
    let x = fx.store.resolve(&reference("x:1")).unwrap();
    let removed = fx.store.remove(&reference("x:1"), false, &always).unwrap();
    assert_eq!(
        removed,
        Removed {
            untagged: vec![reference("x:1")],
            ..Removed::default()
        }
    );
    assert_eq!(fx.store.resolve(&reference("x:2")).unwrap(), x);
    assert!(fx.store.resolve(&reference("x:1")).is_err());
}

#[test]
fn an_image_in_use_is_kept_unless_forced_and_then_until_unused() {
    let mut fx = Fixture::new();
    let id = fx.import(&rootfs(), "app").unwrap();
    let used = |candidate: &ImageId| *candidate == id;
    let err = fx
        .store
        .remove(&reference("app"), false, &used)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "image app:latest ({id}) is used by a container: remove the container first, or \
             force the removal"
        )
    );
    let removed = fx.store.remove(&reference("app"), true, &used).unwrap();
    assert_eq!(
        removed,
        Removed {
            untagged: vec![reference("app")],
            ..Removed::default()
        }
    );
    let dangling = fx.store.list().unwrap();
    assert_eq!((dangling.len(), dangling[0].references.len()), (1, 0));
    assert_eq!(fx.store.layer_dirs(&id).unwrap().len(), 1);
    assert!(fx.store.inspect(&reference("app")).is_err());
    let removed = fx.store.prune(&used).unwrap();
    assert_eq!(removed, Removed::default());
    let removed = fx.store.prune(&never).unwrap();
    assert_eq!(removed.images, [id]);
    fx.assert_nothing_left();
}

#[test]
fn removing_by_digest_takes_every_name() {
    let mut fx = Fixture::new();
    fx.store
        .load_archive(&docker_save(&[(vec![layer(&[("x", b"x")])], vec!["x:1", "y:2"])])[..])
        .unwrap();
    let image = fx.store.inspect(&reference("y:2")).unwrap();
    let pinned = reference(&format!("x@{}", image.manifest));
    let removed = fx.store.remove(&pinned, false, &never).unwrap();
    assert_eq!(removed.untagged, [reference("x:1"), reference("y:2")]);
    assert_eq!(removed.images, [image.id]);
    fx.assert_nothing_left();
}

#[test]
fn open_clears_leftovers_and_prune_collects_orphans() {
    let mut fx = Fixture::new();
    fx.import(&rootfs(), "app").unwrap();
    // What a crash could leave: a half-unpacked dir and half-written files in tmp, a
    // complete layer dir and a blob that no image names.
    fs::create_dir_all(fx.root().join("images/tmp/layer-x/etc")).unwrap();
    fs::write(fx.root().join("images/tmp/blob-y"), b"partial").unwrap();
    let orphan = Digest::of(b"orphan");
    fs::create_dir(fx.root().join("layers").join(orphan.hex())).unwrap();
    fs::write(
        fx.root().join("images/blobs/sha256").join(orphan.hex()),
        b"orphan",
    )
    .unwrap();
    let mut store = ImageStore::open(fx.root()).unwrap();
    assert_eq!(fx.names("images/tmp"), Vec::<String>::new());
    let removed = store.prune(&never).unwrap();
    assert_eq!(
        removed,
        Removed {
            blobs: vec![orphan.clone()],
            layers: vec![orphan],
            ..Removed::default()
        }
    );
    assert!(store.inspect(&reference("app")).is_ok());
}

#[test]
fn a_corrupt_index_is_reported_with_its_path() {
    let fx = Fixture::new();
    let index = fx.root().join("images/repositories.json");
    fs::write(&index, "{not json").unwrap();
    let err = ImageStore::open(fx.root()).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "the image store file {} is corrupt: ",
            index.display()
        )),
        "{err}"
    );
}

// ---------------------------------------------------------------- hostile layers

/// Imports `tar` and expects it refused for `problem` at `entry`, with nothing written
/// outside the layer and nothing left in the store.
fn refused(tar: Vec<u8>, entry: &str, problem: EntryProblem) {
    let mut fx = Fixture::new();
    let err = fx.import(&tar, "evil").unwrap_err();
    match err {
        ImageError::UnsafeEntry {
            what,
            entry: found,
            problem: found_problem,
        } => {
            assert_eq!(
                (what, found.as_str(), found_problem),
                ("layer", entry, problem)
            );
        }
        other => panic!("expected an unsafe entry, got {other}"),
    }
    fx.assert_nothing_left();
}

#[test]
fn dotdot_entries_are_refused() {
    refused(
        tarball(|b| raw(b, EntryType::Regular, "../../../../sibling/pwned", "", b"x")),
        "../../../../sibling/pwned",
        EntryProblem::ParentComponent,
    );
    refused(
        tarball(|b| raw(b, EntryType::Directory, "a/../../b", "", b"")),
        "a/../../b",
        EntryProblem::ParentComponent,
    );
}

#[test]
fn writing_through_a_symlink_is_refused() {
    let fx = Fixture::new();
    let sibling = fx.sibling().display().to_string();
    refused(
        tarball(|b| {
            raw(b, EntryType::Symlink, "a", &sibling, b"");
            raw(b, EntryType::Regular, "a/pwned", "", b"x");
        }),
        "a/pwned",
        EntryProblem::ParentIsSymlink("a".into()),
    );
    assert_eq!(names_in(&fx.sibling()), Vec::<String>::new());
    refused(
        tarball(|b| {
            raw(b, EntryType::Symlink, "up", "../../../..", b"");
            raw(b, EntryType::Directory, "up/sibling/dir", "", b"");
        }),
        "up/sibling/dir",
        EntryProblem::ParentIsSymlink("up".into()),
    );
    // The classic: a -> /etc, then a/<file>. The file name is one /etc never has.
    refused(
        tarball(|b| {
            raw(b, EntryType::Symlink, "etc", "/etc", b"");
            raw(
                b,
                EntryType::Regular,
                "etc/rcompose-test-must-not-exist",
                "",
                b"x",
            );
        }),
        "etc/rcompose-test-must-not-exist",
        EntryProblem::ParentIsSymlink("etc".into()),
    );
    assert!(!Path::new("/etc/rcompose-test-must-not-exist").exists());
    // Whiteouts and opaque markers are writes too.
    refused(
        tarball(|b| {
            raw(b, EntryType::Symlink, "a", &sibling, b"");
            raw(b, EntryType::Regular, "a/.wh.x", "", b"");
        }),
        "a/.wh.x",
        EntryProblem::ParentIsSymlink("a".into()),
    );
    refused(
        tarball(|b| {
            raw(b, EntryType::Symlink, "a", &sibling, b"");
            raw(b, EntryType::Regular, "a/.wh..wh..opq", "", b"");
        }),
        "a/.wh..wh..opq",
        EntryProblem::ParentIsSymlink("a".into()),
    );
}

#[test]
fn a_file_replacing_a_symlink_does_not_write_through_it() {
    let mut fx = Fixture::new();
    let victim = fx.sibling().join("victim");
    let tar = tarball(|b| {
        raw(b, EntryType::Symlink, "f", victim.to_str().unwrap(), b"");
        raw(b, EntryType::Regular, "f", "", b"mine");
    });
    let id = fx.import(&tar, "ok").unwrap();
    let dir = &fx.store.layer_dirs(&id).unwrap()[0];
    assert_eq!(fs::read(dir.join("f")).unwrap(), b"mine");
    assert_eq!(names_in(&fx.sibling()), Vec::<String>::new());
}

#[test]
fn hard_links_must_stay_inside_the_layer() {
    refused(
        tarball(|b| {
            raw(
                b,
                EntryType::Link,
                "passwd",
                "../../../../../etc/passwd",
                b"",
            )
        }),
        "passwd",
        EntryProblem::LinkOutside("../../../../../etc/passwd".into()),
    );
    // An absolute target is inside the layer, where there is no etc/passwd.
    refused(
        tarball(|b| raw(b, EntryType::Link, "passwd", "/etc/passwd", b"")),
        "passwd",
        EntryProblem::LinkTargetMissing("/etc/passwd".into()),
    );
    refused(
        tarball(|b| {
            raw(b, EntryType::Symlink, "etc", "/etc", b"");
            raw(b, EntryType::Link, "passwd", "etc/passwd", b"");
        }),
        "passwd",
        EntryProblem::LinkTargetMissing("etc/passwd".into()),
    );
}

#[test]
fn absolute_paths_land_inside_the_layer() {
    let mut fx = Fixture::new();
    let sibling_file = format!("{}/pwned", fx.sibling().display());
    let tar = tarball(|b| raw(b, EntryType::Regular, &sibling_file, "", b"x"));
    let id = fx.import(&tar, "abs").unwrap();
    let dir = &fx.store.layer_dirs(&id).unwrap()[0];
    assert_eq!(
        fs::read(dir.join(sibling_file.trim_start_matches('/'))).unwrap(),
        b"x"
    );
    assert_eq!(names_in(&fx.sibling()), Vec::<String>::new());
}

#[test]
fn devices_and_fifos_are_skipped_and_setuid_kept() {
    let mut fx = Fixture::new();
    let tar = tarball(|b| {
        raw_with(b, EntryType::Block, "dev/sda", "", b"", |h| {
            h.set_device_major(8).unwrap();
            h.set_device_minor(0).unwrap();
        });
        raw_with(b, EntryType::Char, "dev/mem", "", b"", |h| {
            h.set_device_major(1).unwrap();
            h.set_device_minor(1).unwrap();
        });
        raw(b, EntryType::Fifo, "run/pipe", "", b"");
        raw_with(b, EntryType::Regular, "bin/su", "", b"su", |h| {
            h.set_mode(0o4755);
            h.set_uid(0);
            h.set_gid(42);
            h.set_mtime(1_234_567_890);
        });
        raw_with(b, EntryType::Directory, "tmp", "", b"", |h| {
            h.set_mode(0o1777)
        });
    });
    let id = fx.import(&tar, "devs").unwrap();
    let dir = &fx.store.layer_dirs(&id).unwrap()[0];
    assert!(!dir.join("dev/sda").exists());
    assert!(!dir.join("dev/mem").exists());
    assert!(!dir.join("run/pipe").exists());
    let su = fs::metadata(dir.join("bin/su")).unwrap();
    assert_eq!(
        (su.mode() & 0o7777, su.gid(), su.mtime()),
        (0o4755, 42, 1_234_567_890)
    );
    assert_eq!(
        fs::metadata(dir.join("tmp")).unwrap().mode() & 0o7777,
        0o1777
    );
}

#[test]
fn a_half_written_layer_is_never_taken_as_complete() {
    let mut fx = Fixture::new();
    // A good entry, then a refused one: the unpacked part must not become a layer.
    let tar = tarball(|b| {
        raw(b, EntryType::Regular, "good", "", b"g");
        raw(b, EntryType::Regular, "../bad", "", b"b");
    });
    assert!(fx.import(&tar, "half").is_err());
    fx.assert_nothing_left();
    // The good part alone imports fine afterwards, under its own digest.
    let good = layer(&[("good", b"g")]);
    let id = fx.import(&good, "whole").unwrap();
    assert_eq!(
        fx.store.inspect(&reference("whole")).unwrap().layers,
        [Digest::of(&good)]
    );
    assert_eq!(fx.store.layer_dirs(&id).unwrap().len(), 1);
}

// ---------------------------------------------------------------- references

#[test]
fn references_parse_and_print_as_docker_does() {
    let digest = Digest::of(b"m");
    for (input, canonical, short) in [
        (
            "busybox",
            "docker.io/library/busybox:latest".to_string(),
            "busybox:latest".to_string(),
        ),
        (
            "busybox:1.36",
            "docker.io/library/busybox:1.36".into(),
            "busybox:1.36".into(),
        ),
        (
            "team/app",
            "docker.io/team/app:latest".into(),
            "team/app:latest".into(),
        ),
        (
            "host:5000/a/b:tag",
            "host:5000/a/b:tag".into(),
            "host:5000/a/b:tag".into(),
        ),
        (
            "localhost/x",
            "localhost/x:latest".into(),
            "localhost/x:latest".into(),
        ),
        (
            &format!("busybox@{digest}"),
            format!("docker.io/library/busybox@{digest}"),
            format!("busybox@{digest}"),
        ),
    ] {
        let parsed = reference(input);
        assert_eq!(
            (parsed.canonical(), parsed.to_string()),
            (canonical, short),
            "{input}"
        );
    }
    for bad in ["UPPER", "a:b:c", "a@sha256:12", "-a", ""] {
        assert!(Reference::parse(bad).is_err(), "{bad}");
    }
}

// ---------------------------------------------------------------- a real rootfs

/// With Debian's busybox-static installed, a rootfs of /bin/busybox and a few applet
/// links imports and runs under chroot.
#[test]
fn a_busybox_rootfs_imports_and_runs() {
    let busybox = Path::new("/bin/busybox");
    let Ok(binary) = fs::read(busybox) else {
        eprintln!("skipped: /bin/busybox is not installed");
        return;
    };
    let tar = tarball(|b| {
        for dir in ["bin", "etc", "root"] {
            raw(b, EntryType::Directory, dir, "", b"");
        }
        raw_with(b, EntryType::Directory, "tmp", "", b"", |h| {
            h.set_mode(0o1777)
        });
        raw_with(b, EntryType::Regular, "bin/busybox", "", &binary, |h| {
            h.set_mode(0o755)
        });
        for applet in ["sh", "echo", "cat", "cut"] {
            raw(
                b,
                EntryType::Symlink,
                &format!("bin/{applet}"),
                "busybox",
                b"",
            );
        }
        raw(
            b,
            EntryType::Regular,
            "etc/passwd",
            "",
            b"root:x:0:0:root:/root:/bin/sh\n",
        );
    });
    let mut fx = Fixture::new();
    let changes = [r#"CMD ["sh"]"#.parse::<Change>().unwrap()];
    let id = fx
        .store
        .import_rootfs(&gzip(&tar)[..], &reference("busybox"), &changes)
        .unwrap();
    let image = fx.store.inspect(&reference("busybox")).unwrap();
    assert_eq!(
        image.config,
        ImageConfig {
            cmd: Some(vec!["sh".into()]),
            ..ImageConfig::default()
        }
    );
    let dir = &fx.store.layer_dirs(&id).unwrap()[0];
    let output = Command::new("chroot")
        .arg(dir)
        .args([
            "/bin/sh",
            "-c",
            "echo hello from $(cat /etc/passwd | cut -d: -f1)",
        ])
        .output();
    match output {
        Ok(output) => {
            assert!(output.status.success(), "{output:?}");
            assert_eq!(String::from_utf8_lossy(&output.stdout), "hello from root\n");
        }
        Err(err) => eprintln!("chroot not run: {err}"),
    }
}
