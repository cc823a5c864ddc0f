//! `user:` (`name`, `uid`, `name:group`, `uid:gid`) and `group_add` resolved to the
//! numeric ids a process runs with, against the text of the image's `/etc/passwd` and
//! `/etc/group`, with Docker's rules (moby/sys/user's `GetExecUser` and
//! `GetAdditionalGroups`):
//!
//! - the user part matches a passwd entry by name, or by uid when it is a number (a
//!   number always means a uid); an empty user means uid 0. A number without an entry
//!   is fine (primary gid 0); a name without one is an error.
//! - the primary gid is the entry's, unless a group is given: it matches a group entry
//!   by name, or by gid when it is a number (a number without an entry is fine).
//! - supplementary gids are the groups that list the matched user as a member, only
//!   when no group is given (Docker drops them with `user:group`), then `group_add`:
//!   each a group name or gid from `/etc/group`, or a number taken as it is.
//!
//! Missing files (`None`) are like empty ones. Blank lines, `#` comments and entries
//! whose ids are not numbers are skipped (Docker reads the latter as id 0, which would
//! silently mean root).

use crate::runtime::User;

/// The largest uid or gid Docker accepts (`2^31 - 1`).
const MAX_ID: i64 = i32::MAX as i64;

/// Why a user could not be resolved. The texts are Docker's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// A user name with no passwd entry.
    #[error("unable to find user {name}: no matching entries in passwd file")]
    UnknownUser { name: String },
    /// A group name (in `user:` or `group_add`) with no group entry.
    #[error("unable to find group {name}: no matching entries in group file")]
    UnknownGroup { name: String },
    /// A uid or gid outside `0..=2147483647`.
    #[error("{kind} {value} is out of range: uids and gids must be in range 0-2147483647")]
    OutOfRange { kind: &'static str, value: i64 },
}

/// Resolves `user` (`""` is root) and `group_add` to numeric ids; `passwd` and `group`
/// are the texts of the image's `/etc/passwd` and `/etc/group` (`None` when missing).
pub fn resolve_user(
    user: &str,
    group_add: &[String],
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<User, UserError> {
    let (user_arg, rest) = user.split_once(':').unwrap_or((user, ""));
    // Like Docker, `a:b:c` is user `a`, group `b`.
    let group_arg = rest.split(':').next().unwrap_or_default();
    let uid_arg = user_arg.parse::<i64>().ok();
    let gid_arg = group_arg.parse::<i64>().ok();
    let groups = || group.into_iter().flat_map(group_entries);

    let entry =
        passwd
            .into_iter()
            .flat_map(passwd_entries)
            .find(|entry| match (user_arg, uid_arg) {
                ("", _) => entry.uid == 0,
                (_, Some(uid)) => entry.uid == uid,
                (name, None) => entry.name == name,
            });
    let (uid, mut gid, matched_name) = match entry {
        Some(entry) => (entry.uid, entry.gid, Some(entry.name)),
        None if user_arg.is_empty() => (0, 0, None),
        None => match uid_arg {
            Some(uid) => (uid, 0, None),
            None => {
                return Err(UserError::UnknownUser {
                    name: user_arg.to_string(),
                })
            }
        },
    };

    let mut additional = Vec::new();
    if !group_arg.is_empty() {
        let found = groups().find(|entry| match gid_arg {
            Some(gid) => entry.gid == gid,
            None => entry.name == group_arg,
        });
        gid = match (found, gid_arg) {
            (Some(entry), _) => entry.gid,
            (None, Some(gid)) => gid,
            (None, None) => {
                return Err(UserError::UnknownGroup {
                    name: group_arg.to_string(),
                })
            }
        };
    } else if let Some(name) = matched_name {
        for entry in groups().filter(|entry| entry.lists(name)) {
            push_unique(&mut additional, id("gid", entry.gid)?);
        }
    }

    for wanted in group_add {
        let found = groups().find(|entry| entry.name == wanted || entry.gid.to_string() == *wanted);
        let gid = match (found, wanted.parse::<i64>()) {
            (Some(entry), _) => entry.gid,
            (None, Ok(gid)) => gid,
            (None, Err(_)) => {
                return Err(UserError::UnknownGroup {
                    name: wanted.clone(),
                })
            }
        };
        push_unique(&mut additional, id("gid", gid)?);
    }

    Ok(User {
        uid: id("uid", uid)?,
        gid: id("gid", gid)?,
        additional_gids: additional,
    })
}

fn push_unique(ids: &mut Vec<u32>, id: u32) {
    if !ids.contains(&id) {
        ids.push(id);
    }
}

/// `value` as an id, when in Docker's range.
fn id(kind: &'static str, value: i64) -> Result<u32, UserError> {
    match u32::try_from(value) {
        Ok(id) if value <= MAX_ID => Ok(id),
        _ => Err(UserError::OutOfRange { kind, value }),
    }
}

/// One `/etc/passwd` line: `name:password:uid:gid:gecos:home:shell`.
struct PasswdEntry<'a> {
    name: &'a str,
    uid: i64,
    gid: i64,
}

/// One `/etc/group` line: `name:password:gid:member,member`.
struct GroupEntry<'a> {
    name: &'a str,
    gid: i64,
    members: &'a str,
}

impl GroupEntry<'_> {
    /// Whether `user` is listed as a member.
    fn lists(&self, user: &str) -> bool {
        !user.is_empty() && self.members.split(',').any(|member| member == user)
    }
}

/// The lines worth reading: not blank, not a `#` comment, split at `:`.
fn records(text: &str) -> impl Iterator<Item = std::str::Split<'_, char>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.split(':'))
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    records(text).filter_map(|mut fields| {
        let name = fields.next()?;
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some(PasswdEntry { name, uid, gid })
    })
}

fn group_entries(text: &str) -> impl Iterator<Item = GroupEntry<'_>> {
    records(text).filter_map(|mut fields| {
        let name = fields.next()?;
        let _password = fields.next()?;
        let gid = fields.next()?.parse().ok()?;
        let members = fields.next().unwrap_or_default();
        Some(GroupEntry { name, gid, members })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// busybox's `/etc/passwd`, plus an application user.
    const BUSYBOX_PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
app:x:1000:1000:App:/home/app:/bin/sh
";

    /// busybox's `/etc/group`, plus the application user's groups.
    const BUSYBOX_GROUP: &str = "\
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
audio:x:29:app
www-data:x:33:
users:x:100:
nogroup:x:65534:
app:x:1000:
video:x:44:app,www-data
";

    /// Debian's `/etc/passwd` and `/etc/group` (excerpts), with a comment and a blank line.
    const DEBIAN_PASSWD: &str = "\
# system accounts
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

postgres:x:999:999:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash
";
    const DEBIAN_GROUP: &str = "\
root:x:0:
daemon:x:1:
ssl-cert:x:101:postgres
postgres:x:999:
";

    fn busybox(user: &str, group_add: &[&str]) -> Result<User, UserError> {
        let group_add: Vec<String> = group_add.iter().map(|g| g.to_string()).collect();
        resolve_user(user, &group_add, Some(BUSYBOX_PASSWD), Some(BUSYBOX_GROUP))
    }

    fn user(uid: u32, gid: u32, additional_gids: &[u32]) -> User {
        User {
            uid,
            gid,
            additional_gids: additional_gids.to_vec(),
        }
    }

    #[test]
    fn empty_user_is_root_with_roots_groups() {
        // `docker run busybox id`: uid=0(root) gid=0(root) groups=0(root),10(wheel)
        assert_eq!(busybox("", &[]), Ok(user(0, 0, &[10])));
        assert_eq!(resolve_user("", &[], None, None), Ok(user(0, 0, &[])));
    }

    #[test]
    fn a_name_takes_its_entry_and_the_groups_listing_it() {
        assert_eq!(busybox("app", &[]), Ok(user(1000, 1000, &[29, 44])));
        assert_eq!(busybox("www-data", &[]), Ok(user(33, 33, &[44])));
        assert_eq!(busybox("sync", &[]), Ok(user(4, 100, &[])));
        assert_eq!(
            resolve_user("postgres", &[], Some(DEBIAN_PASSWD), Some(DEBIAN_GROUP)),
            Ok(user(999, 999, &[101]))
        );
    }

    #[test]
    fn a_number_is_always_a_uid() {
        assert_eq!(busybox("1000", &[]), Ok(user(1000, 1000, &[29, 44])));
        // No entry: fine, with gid 0 and no groups.
        assert_eq!(busybox("4242", &[]), Ok(user(4242, 0, &[])));
        assert_eq!(
            resolve_user("4242", &[], None, None),
            Ok(user(4242, 0, &[]))
        );
    }

    #[test]
    fn an_explicit_group_sets_the_gid_and_drops_the_users_groups() {
        assert_eq!(busybox("app:users", &[]), Ok(user(1000, 100, &[])));
        assert_eq!(busybox("app:33", &[]), Ok(user(1000, 33, &[])));
        assert_eq!(busybox("1000:5000", &[]), Ok(user(1000, 5000, &[])));
        assert_eq!(busybox("4242:4343", &[]), Ok(user(4242, 4343, &[])));
        assert_eq!(busybox("nobody:nogroup", &[]), Ok(user(65534, 65534, &[])));
        // `user:` with an empty group is the implicit form.
        assert_eq!(busybox("app:", &[]), Ok(user(1000, 1000, &[29, 44])));
    }

    #[test]
    fn group_add_appends_names_and_numbers() {
        assert_eq!(
            busybox("app", &["wheel", "4000", "audio", "33"]),
            Ok(user(1000, 1000, &[29, 44, 10, 4000, 33]))
        );
        assert_eq!(busybox("", &["users"]), Ok(user(0, 0, &[10, 100])));
        assert_eq!(
            resolve_user("", &["55".to_string()], None, None),
            Ok(user(0, 0, &[55]))
        );
    }

    #[test]
    fn unknown_names_are_errors_with_dockers_text() {
        let error =
            |user: &str, group_add: &[&str]| busybox(user, group_add).unwrap_err().to_string();
        assert_eq!(
            error("postgres", &[]),
            "unable to find user postgres: no matching entries in passwd file"
        );
        assert_eq!(
            resolve_user("app", &[], None, None)
                .unwrap_err()
                .to_string(),
            "unable to find user app: no matching entries in passwd file"
        );
        assert_eq!(
            error("app:docker", &[]),
            "unable to find group docker: no matching entries in group file"
        );
        assert_eq!(
            error("app", &["docker"]),
            "unable to find group docker: no matching entries in group file"
        );
    }

    #[test]
    fn ids_out_of_range_are_errors() {
        let error =
            |user: &str, group_add: &[&str]| busybox(user, group_add).unwrap_err().to_string();
        assert_eq!(
            error("2147483648", &[]),
            "uid 2147483648 is out of range: uids and gids must be in range 0-2147483647"
        );
        assert_eq!(
            error("-1", &[]),
            "uid -1 is out of range: uids and gids must be in range 0-2147483647"
        );
        assert_eq!(
            error("app:4294967296", &[]),
            "gid 4294967296 is out of range: uids and gids must be in range 0-2147483647"
        );
        assert_eq!(
            error("app", &["-5"]),
            "gid -5 is out of range: uids and gids must be in range 0-2147483647"
        );
        assert_eq!(busybox("2147483647", &[]), Ok(user(2147483647, 0, &[])));
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let passwd =
            "+::::::\nbroken\nweird:x:abc:0::/:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
        let group = "+:::\napp:x:1000:\n#wheel:x:10:app\n";
        assert_eq!(
            resolve_user("app", &[], Some(passwd), Some(group)),
            Ok(user(1000, 1000, &[]))
        );
        // `weird` has no usable uid: it is not read as root.
        assert_eq!(
            resolve_user("weird", &[], Some(passwd), Some(group))
                .unwrap_err()
                .to_string(),
            "unable to find user weird: no matching entries in passwd file"
        );
    }
}
