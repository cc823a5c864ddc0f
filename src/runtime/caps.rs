//! Capabilities: the kernel's names, Docker's default set, `cap_add`/`cap_drop` as
//! Docker applies them, and the five sets a process gets (pure); applying them is in
//! the container's init.

use super::spec::SpecError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Every capability the kernel defines (`include/uapi/linux/capability.h`), by number.
pub const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Docker's default capability set, in Docker's order.
pub const DOCKER_DEFAULT: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// A set of capabilities as the kernel's bit mask (bit n = capability n), the form
/// `/proc/<pid>/status` prints.
#[derive(Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapSet(u64);

impl CapSet {
    /// No capability.
    pub const EMPTY: CapSet = CapSet(0);

    /// Every capability in [`CAPABILITIES`].
    pub const ALL: CapSet = CapSet((1 << CAPABILITIES.len()) - 1);

    /// The set of this bit mask.
    pub fn from_bits(bits: u64) -> CapSet {
        CapSet(bits)
    }

    /// The set of these capability numbers.
    pub fn from_numbers(numbers: impl IntoIterator<Item = u8>) -> CapSet {
        CapSet(numbers.into_iter().fold(0, |bits, n| bits | bit(n)))
    }

    /// Docker's default set.
    pub fn docker_default() -> CapSet {
        CapSet::from_numbers(DOCKER_DEFAULT.iter().filter_map(|name| number(name)))
    }

    /// The bit mask.
    pub fn bits(self) -> u64 {
        self.0
    }

    /// Whether capability number `n` is in the set.
    pub fn contains(self, n: u8) -> bool {
        self.0 & bit(n) != 0
    }

    /// The capabilities in both sets.
    pub fn intersection(self, other: CapSet) -> CapSet {
        CapSet(self.0 & other.0)
    }

    /// The capability numbers in the set, ascending.
    pub fn numbers(self) -> impl Iterator<Item = u8> {
        (0..64u8).filter(move |&n| self.contains(n))
    }
}

impl fmt::Debug for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CapSet({:016x})", self.0)
    }
}

fn bit(n: u8) -> u64 {
    1u64.checked_shl(u32::from(n)).unwrap_or(0)
}

/// The number of a capability name as the kernel spells it (`CAP_NET_ADMIN`).
pub fn number(name: &str) -> Option<u8> {
    CAPABILITIES
        .iter()
        .position(|known| *known == name)
        .and_then(|n| u8::try_from(n).ok())
}

/// A `cap_add`/`cap_drop` entry: `ALL` or a capability number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CapName {
    All,
    Cap(u8),
}

/// Docker's normalisation: any case, `CAP_` optional, `ALL` for every capability.
fn parse_names(field: &'static str, names: &[String]) -> Result<Vec<CapName>, SpecError> {
    names
        .iter()
        .map(|name| {
            let upper = name.to_uppercase();
            if upper == "ALL" {
                return Ok(CapName::All);
            }
            let canonical = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            number(&canonical)
                .map(CapName::Cap)
                .ok_or_else(|| SpecError::UnknownCapability {
                    field,
                    name: name.clone(),
                })
        })
        .collect()
}

/// The container's capability set, as Docker computes it: every capability when
/// privileged; with `ALL` in `cap_add`, every capability but those dropped; with `ALL`
/// in `cap_drop`, only those added; otherwise the default set minus the dropped plus the
/// added.
pub fn container_capabilities(
    privileged: bool,
    add: &[String],
    drop: &[String],
) -> Result<CapSet, SpecError> {
    let add = parse_names("cap_add", add)?;
    let drop = parse_names("cap_drop", drop)?;
    if privileged {
        return Ok(CapSet::ALL);
    }
    let caps = |names: &[CapName]| {
        CapSet::from_numbers(names.iter().filter_map(|name| match name {
            CapName::Cap(n) => Some(*n),
            CapName::All => None,
        }))
    };
    let (added, dropped) = (caps(&add), caps(&drop));
    let bits = if add.contains(&CapName::All) {
        CapSet::ALL.bits() & !dropped.bits()
    } else if drop.contains(&CapName::All) {
        added.bits()
    } else {
        (CapSet::docker_default().bits() & !dropped.bits()) | added.bits()
    };
    Ok(CapSet(bits))
}

/// The five capability sets of the container's process before it execs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessCaps {
    /// The most the process and its children can ever have.
    pub bounding: CapSet,
    /// Active now.
    pub effective: CapSet,
    /// May be made effective.
    pub permitted: CapSet,
    /// Kept across exec for files with matching inheritable file capabilities.
    pub inheritable: CapSet,
    /// Kept across exec of any file.
    pub ambient: CapSet,
}

impl ProcessCaps {
    /// Docker's sets: the bounding set is the container's set; root also gets it as
    /// effective and permitted; other users get none (as execve would give them), so a
    /// non-root process only gains capabilities through file capabilities or setuid
    /// binaries, within the bounding set. Inheritable and ambient are always empty.
    pub fn for_user(capabilities: CapSet, uid: u32) -> ProcessCaps {
        let active = if uid == 0 {
            capabilities
        } else {
            CapSet::EMPTY
        };
        ProcessCaps {
            bounding: capabilities,
            effective: active,
            permitted: active,
            inheritable: CapSet::EMPTY,
            ambient: CapSet::EMPTY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn caps(privileged: bool, add: &[&str], drop: &[&str]) -> u64 {
        container_capabilities(privileged, &names(add), &names(drop))
            .unwrap()
            .bits()
    }

    #[test]
    fn numbers_are_the_kernels() {
        assert_eq!(number("CAP_CHOWN"), Some(0));
        assert_eq!(number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(number("CAP_AUDIT_WRITE"), Some(29));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(number("NET_ADMIN"), None);
        assert_eq!(CapSet::ALL.bits(), 0x000001ffffffffff);
    }

    #[test]
    fn docker_default_mask() {
        // What `grep CapEff /proc/self/status` prints in a default Docker container.
        assert_eq!(CapSet::docker_default().bits(), 0x00000000a80425fb);
        assert_eq!(caps(false, &[], &[]), 0xa80425fb);
    }

    #[test]
    fn add_and_drop_as_docker_does() {
        let net_admin = 1 << 12;
        let chown = 1;
        assert_eq!(caps(false, &["NET_ADMIN"], &[]), 0xa80425fb | net_admin);
        assert_eq!(
            caps(false, &["cap_net_admin"], &["chown"]),
            (0xa80425fb | net_admin) & !chown
        );
        assert_eq!(caps(false, &[], &["ALL"]), 0);
        assert_eq!(caps(false, &["NET_ADMIN"], &["all"]), net_admin);
        assert_eq!(caps(false, &["ALL"], &[]), 0x1ffffffffff);
        assert_eq!(caps(false, &["ALL"], &["CHOWN"]), 0x1ffffffffff & !chown);
        assert_eq!(caps(false, &["ALL"], &["ALL"]), 0x1ffffffffff);
        assert_eq!(caps(true, &[], &["ALL"]), 0x1ffffffffff);
        // Adding one already in the set, or dropping one not in it, changes nothing.
        assert_eq!(caps(false, &["CHOWN"], &["SYS_ADMIN"]), 0xa80425fb);
    }

    #[test]
    fn unknown_names_are_errors_even_when_privileged() {
        let err = container_capabilities(true, &[], &names(&["CAP_TELEPORT"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cap_drop: unknown capability \"CAP_TELEPORT\""
        );
    }

    #[test]
    fn process_sets_for_root_and_others() {
        let set = CapSet::docker_default();
        assert_eq!(
            ProcessCaps::for_user(set, 0),
            ProcessCaps {
                bounding: set,
                effective: set,
                permitted: set,
                inheritable: CapSet::EMPTY,
                ambient: CapSet::EMPTY,
            }
        );
        assert_eq!(
            ProcessCaps::for_user(set, 1000),
            ProcessCaps {
                bounding: set,
                effective: CapSet::EMPTY,
                permitted: CapSet::EMPTY,
                inheritable: CapSet::EMPTY,
                ambient: CapSet::EMPTY,
            }
        );
    }

    #[test]
    fn set_numbers_and_debug() {
        let set = CapSet::from_numbers([0, 12, 40]);
        assert_eq!(set.numbers().collect::<Vec<_>>(), vec![0, 12, 40]);
        assert!(set.contains(12) && !set.contains(13));
        assert_eq!(
            set.intersection(CapSet::from_numbers([12, 13])),
            CapSet::from_numbers([12])
        );
        assert_eq!(format!("{set:?}"), "CapSet(0000010000001001)");
    }
}
