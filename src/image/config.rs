//! The JSON documents of an image, as the OCI image spec and docker write them: the
//! config (what a container of the image runs, and its layers' diff IDs), the manifest
//! (config and layer blobs), and the index (manifests, their platforms and names).

use super::digest::Digest;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) const MEDIA_TYPE_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const MEDIA_TYPE_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const MEDIA_TYPE_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const MEDIA_TYPE_DOCKER_MANIFEST: &str =
    "application/vnd.docker.distribution.manifest.v2+json";
pub(crate) const MEDIA_TYPE_DOCKER_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// The annotation that names a manifest in an OCI index (often just its tag).
pub(crate) const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The annotation with the full image name that containerd and docker add.
pub(crate) const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";

/// What a container of an image runs and how, from the image config's `config` object
/// (docker's field names; `null`s read as empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    /// `KEY=value` entries, in order.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub env: Vec<String>,
    #[serde(
        default,
        deserialize_with = "string_or_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "string_or_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub cmd: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub working_dir: String,
    /// `user`, `uid`, `user:group` or `uid:gid`; empty means root.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub user: String,
    /// `80/tcp`, `53/udp`.
    #[serde(
        default,
        with = "set_as_map",
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub exposed_ports: BTreeSet<String>,
    /// Paths that get an anonymous volume.
    #[serde(
        default,
        with = "set_as_map",
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub volumes: BTreeSet<String>,
    /// `SIGTERM`, `9`; `None` means the runtime's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
}

/// docker's image healthcheck. `test` is `["NONE"]` (disabled), `["CMD", args…]` or
/// `["CMD-SHELL", command]`; a duration or retry count of `None` means the default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub test: Vec<String>,
    #[serde(default, with = "nanos", skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    #[serde(default, with = "nanos", skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(default, with = "nanos", skip_serializing_if = "Option::is_none")]
    pub start_period: Option<Duration>,
    #[serde(default, with = "nanos", skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<Duration>,
    #[serde(
        default,
        deserialize_with = "zero_is_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub retries: Option<u32>,
}

/// The image config document (its digest is the image ID).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ConfigFile {
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, deserialize_with = "nullable")]
    pub config: ImageConfig,
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub diff_ids: Vec<Digest>,
}

/// One step of how an image was made (read back only as part of the config blob).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// An image manifest: the config blob and the layer blobs, bottom layer first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default, deserialize_with = "nullable")]
    pub layers: Vec<Descriptor>,
}

/// An image index (`index.json`, or a multi-platform manifest list).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Index {
    #[serde(default, deserialize_with = "nullable")]
    pub manifests: Vec<Descriptor>,
}

/// A pointer to a blob: its type, digest and size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
}

/// The host's architecture under its Go name, as image platforms name it.
pub(crate) fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// `time` in RFC 3339 (UTC, nanoseconds), as image configs write `created`.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let in_day = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        in_day / 3_600,
        in_day % 3_600 / 60,
        in_day % 60,
        since_epoch.subsec_nanos()
    )
}

/// `null` reads as the type's empty value.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// docker's `StrSlice`: a list of strings, or one string standing for a list of one.
fn string_or_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StrSlice {
        One(String),
        Many(Vec<String>),
    }
    Ok(
        Option::<StrSlice>::deserialize(deserializer)?.map(|value| match value {
            StrSlice::One(one) => vec![one],
            StrSlice::Many(many) => many,
        }),
    )
}

/// A count where 0 (docker's "unset") reads as `None`.
fn zero_is_none<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    Ok(Option::<u32>::deserialize(deserializer)?.filter(|&n| n != 0))
}

/// A set written as a JSON object whose values are `{}` (`ExposedPorts`, `Volumes`).
mod set_as_map {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::{BTreeMap, BTreeSet};

    pub fn serialize<S: Serializer>(
        set: &BTreeSet<String>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(set.iter().map(|key| (key, BTreeMap::<(), ()>::new())))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeSet<String>, D::Error> {
        let map = Option::<BTreeMap<String, serde::de::IgnoredAny>>::deserialize(deserializer)?;
        Ok(map.unwrap_or_default().into_keys().collect())
    }
}

/// A duration in nanoseconds, as Go's `time.Duration` is written; 0 reads as `None`.
mod nanos {
    use super::*;

    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let nanos = duration.map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        serializer.serialize_u64(nanos)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        let nanos = Option::<i64>::deserialize(deserializer)?.unwrap_or(0);
        match u64::try_from(nanos) {
            Ok(0) => Ok(None),
            Ok(nanos) => Ok(Some(Duration::from_nanos(nanos))),
            Err(_) => Err(serde::de::Error::custom(format!(
                "a healthcheck duration of {nanos} ns is negative"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_docker_config_reads_with_nulls_and_maps() {
        let config: ConfigFile = serde_json::from_value(json!({
            "architecture": "amd64",
            "os": "linux",
            "created": "2024-01-02T03:04:05Z",
            "config": {
                "Hostname": "",
                "Env": ["PATH=/bin"],
                "Entrypoint": null,
                "Cmd": ["sh"],
                "WorkingDir": "/srv",
                "User": "1000:1000",
                "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
                "Volumes": {"/data": {}},
                "StopSignal": "SIGQUIT",
                "Labels": null,
                "Healthcheck": {
                    "Test": ["CMD-SHELL", "true"],
                    "Interval": 30_000_000_000u64,
                    "Timeout": 0,
                    "Retries": 3
                },
                "OnBuild": null
            },
            "rootfs": {"type": "layers", "diff_ids": [Digest::of(b"").to_string()]},
            "history": [{"created": "2024-01-02T03:04:05Z", "created_by": "x"}]
        }))
        .unwrap();
        assert_eq!(config.created.as_deref(), Some("2024-01-02T03:04:05Z"));
        assert_eq!(config.rootfs.diff_ids, [Digest::of(b"")]);
        assert_eq!(
            config.config,
            ImageConfig {
                env: vec!["PATH=/bin".into()],
                entrypoint: None,
                cmd: Some(vec!["sh".into()]),
                working_dir: "/srv".into(),
                user: "1000:1000".into(),
                exposed_ports: ["53/udp".to_string(), "80/tcp".to_string()].into(),
                volumes: ["/data".to_string()].into(),
                stop_signal: Some("SIGQUIT".into()),
                labels: BTreeMap::new(),
                healthcheck: Some(Healthcheck {
                    test: vec!["CMD-SHELL".into(), "true".into()],
                    interval: Some(Duration::from_secs(30)),
                    timeout: None,
                    start_period: None,
                    start_interval: None,
                    retries: Some(3),
                }),
            }
        );
    }

    #[test]
    fn a_single_string_entrypoint_is_a_list_of_one() {
        let config: ImageConfig =
            serde_json::from_value(json!({"Entrypoint": "/init", "Cmd": []})).unwrap();
        assert_eq!(config.entrypoint, Some(vec!["/init".to_string()]));
        assert_eq!(config.cmd, Some(vec![]));
    }

    #[test]
    fn a_negative_healthcheck_duration_is_refused() {
        let err = serde_json::from_value::<Healthcheck>(json!({"Interval": -1})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a healthcheck duration of -1 ns is negative"
        );
    }

    #[test]
    fn an_image_config_writes_docker_json_without_empty_fields() {
        let config = ImageConfig {
            cmd: Some(vec!["sh".into()]),
            exposed_ports: ["80/tcp".to_string()].into(),
            healthcheck: Some(Healthcheck {
                test: vec!["NONE".into()],
                timeout: Some(Duration::from_millis(1500)),
                ..Healthcheck::default()
            }),
            ..ImageConfig::default()
        };
        assert_eq!(
            serde_json::to_value(&config).unwrap(),
            json!({
                "Cmd": ["sh"],
                "ExposedPorts": {"80/tcp": {}},
                "Healthcheck": {"Test": ["NONE"], "Timeout": 1_500_000_000u64}
            })
        );
    }

    #[test]
    fn an_oci_manifest_and_index_read() {
        let digest = Digest::of(b"");
        let manifest: Manifest = serde_json::from_value(json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_OCI_MANIFEST,
            "config": {"mediaType": MEDIA_TYPE_OCI_CONFIG, "digest": digest.to_string(), "size": 0},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest.to_string(), "size": 0}]
        }))
        .unwrap();
        assert_eq!(manifest.layers.len(), 1);
        let index: Index = serde_json::from_value(json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": MEDIA_TYPE_OCI_MANIFEST,
                "digest": digest.to_string(),
                "size": 7,
                "annotations": {ANNOTATION_REF_NAME: "latest"},
                "platform": {"architecture": "amd64", "os": "linux"}
            }]
        }))
        .unwrap();
        let entry = &index.manifests[0];
        assert_eq!(entry.annotations[ANNOTATION_REF_NAME], "latest");
        assert_eq!(entry.platform.as_ref().unwrap().architecture, "amd64");
    }

    #[test]
    fn created_times_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        let time = UNIX_EPOCH + Duration::new(951_782_400 + 86_399, 5);
        assert_eq!(rfc3339(time), "2000-02-29T23:59:59.000000005Z");
        let time = UNIX_EPOCH + Duration::from_secs(1_735_689_600);
        assert_eq!(rfc3339(time), "2025-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn the_host_architecture_has_its_go_name() {
        let expected = if cfg!(target_arch = "x86_64") {
            "amd64"
        } else if cfg!(target_arch = "aarch64") {
            "arm64"
        } else {
            std::env::consts::ARCH
        };
        assert_eq!(host_architecture(), expected);
    }
}
