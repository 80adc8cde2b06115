//! Workspace sandbox profiles: the built-in profiles, the rule that a
//! workspace may only add restrictions, and the effective profile. How a
//! profile is applied to a process is in [`launch`].

pub mod launch;

use oqto_api::workspace::{SandboxMode, SandboxProfile};

use crate::error::{Error, Result};

/// The built-in profiles, from the loosest to the strictest.
pub const PROFILES: &[&str] = &["development", "minimal", "strict"];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A built-in profile by name.
pub fn builtin(name: &str) -> Option<SandboxProfile> {
    let secrets = ["~/.ssh", "~/.gnupg", "~/.aws", "~/.config/gcloud"];
    Some(match name {
        "development" => SandboxProfile {
            deny_read: strings(&secrets),
            allow_write: strings(&["/tmp", "~/.cache"]),
            no_new_privs: true,
            max_processes: Some(2048),
            ..Default::default()
        },
        "minimal" => SandboxProfile {
            deny_read: strings(&secrets),
            allow_write: strings(&["/tmp"]),
            isolate_pid: true,
            drop_all_caps: true,
            no_new_privs: true,
            seccomp_mode: SandboxMode::Log,
            landlock_mode: SandboxMode::Log,
            max_processes: Some(1024),
            max_memory_mb: Some(16 * 1024),
            ..Default::default()
        },
        "strict" => SandboxProfile {
            deny_read: strings(&[&secrets[..], &["~/.config", "~/.local/share"]].concat()),
            allow_write: Vec::new(),
            isolate_network: true,
            isolate_pid: true,
            drop_all_caps: true,
            no_new_privs: true,
            seccomp_mode: SandboxMode::Enforce,
            landlock_mode: SandboxMode::Enforce,
            max_processes: Some(256),
            max_memory_mb: Some(8 * 1024),
            max_cpu_secs: Some(4 * 3600),
            ..Default::default()
        },
        _ => return None,
    })
}

fn rank(name: &str) -> Option<usize> {
    PROFILES.iter().position(|p| *p == name)
}

/// Refuses a workspace's choice when it would loosen the server's default
/// (422 naming the field).
pub fn validate(default: &str, profile: Option<&str>, overrides: &SandboxProfile) -> Result<()> {
    let base_rank = rank(default).unwrap_or(0);
    let base = match profile {
        Some(name) => {
            let r = rank(name).ok_or_else(|| {
                Error::Invalid(format!("profile: unknown profile {name:?} (one of {})", PROFILES.join(", ")))
            })?;
            if r < base_rank {
                return Err(Error::Invalid(format!(
                    "profile: {name:?} is looser than the server's {default:?}; a workspace may only add restrictions"
                )));
            }
            name
        }
        None => default,
    };
    let base = builtin(base).unwrap_or_default();
    if let Some(extra) = overrides.allow_write.iter().find(|p| !base.allow_write.contains(p)) {
        return Err(Error::Invalid(format!(
            "allow_write: {extra:?} is not writable under the profile; a workspace may only remove entries"
        )));
    }
    if !overrides.extra_rw_bind.is_empty() {
        return Err(Error::Invalid("extra_rw_bind: read-write binds would loosen the sandbox".to_string()));
    }
    for (field, base, wanted) in limits(&base, overrides) {
        if let (Some(base), Some(wanted)) = (base, wanted)
            && wanted > base
        {
            return Err(Error::Invalid(format!(
                "{field}: {wanted} is above the profile's {base}; a workspace may only lower limits"
            )));
        }
    }
    Ok(())
}

/// The resource limits of two profiles side by side, by field name.
fn limits(a: &SandboxProfile, b: &SandboxProfile) -> [(&'static str, Option<u64>, Option<u64>); 3] {
    [
        ("max_processes", a.max_processes, b.max_processes),
        ("max_memory_mb", a.max_memory_mb, b.max_memory_mb),
        ("max_cpu_secs", a.max_cpu_secs, b.max_cpu_secs),
    ]
}

/// The lower of two limits, where `None` means unlimited.
fn lower(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The profile in effect: the workspace's choice when it is at least as
/// strict as the default, else the default.
pub fn chosen(default: &str, profile: Option<&str>) -> String {
    match profile.and_then(|p| Some((p, rank(p)?))) {
        Some((p, r)) if r >= rank(default).unwrap_or(0) => p.to_string(),
        _ => default.to_string(),
    }
}

/// Applies a workspace's additions to a profile. Whatever `overrides` says,
/// the result is never looser: deny lists are united, `allow_write` only
/// shrinks, switches only turn on, modes only get stricter, and read-write
/// binds are never taken over.
pub fn effective(base: &SandboxProfile, overrides: &SandboxProfile) -> SandboxProfile {
    let union = |a: &[String], b: &[String]| {
        let mut out = a.to_vec();
        out.extend(b.iter().filter(|x| !a.contains(x)).cloned());
        out
    };
    let allow_write = if overrides.allow_write.is_empty() {
        base.allow_write.clone()
    } else {
        base.allow_write.iter().filter(|p| overrides.allow_write.contains(p)).cloned().collect()
    };
    SandboxProfile {
        deny_read: union(&base.deny_read, &overrides.deny_read),
        allow_write,
        deny_write: union(&base.deny_write, &overrides.deny_write),
        isolate_network: base.isolate_network || overrides.isolate_network,
        isolate_pid: base.isolate_pid || overrides.isolate_pid,
        drop_all_caps: base.drop_all_caps || overrides.drop_all_caps,
        no_new_privs: base.no_new_privs || overrides.no_new_privs,
        seccomp_mode: base.seccomp_mode.max(overrides.seccomp_mode),
        landlock_mode: base.landlock_mode.max(overrides.landlock_mode),
        extra_ro_bind: union(&base.extra_ro_bind, &overrides.extra_ro_bind),
        extra_rw_bind: base.extra_rw_bind.clone(),
        max_processes: lower(base.max_processes, overrides.max_processes),
        max_memory_mb: lower(base.max_memory_mb, overrides.max_memory_mb),
        max_cpu_secs: lower(base.max_cpu_secs, overrides.max_cpu_secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_restrictions_are_accepted() {
        let none = SandboxProfile::default();
        assert!(validate("minimal", Some("strict"), &none).is_ok());
        assert!(
            validate("minimal", Some("development"), &none).unwrap_err().to_string().starts_with("profile:")
        );
        assert!(validate("minimal", Some("lenient"), &none).is_err());
        let more_writes = SandboxProfile { allow_write: vec!["/etc".into()], ..Default::default() };
        assert!(
            validate("development", None, &more_writes).unwrap_err().to_string().starts_with("allow_write:")
        );
        let rw = SandboxProfile { extra_rw_bind: vec!["/srv".into()], ..Default::default() };
        assert!(validate("development", None, &rw).unwrap_err().to_string().starts_with("extra_rw_bind:"));
        let fewer =
            SandboxProfile { allow_write: vec!["/tmp".into()], isolate_network: true, ..Default::default() };
        assert!(validate("development", None, &fewer).is_ok());
        let more_procs = SandboxProfile { max_processes: Some(1 << 20), ..Default::default() };
        assert!(validate("strict", None, &more_procs).unwrap_err().to_string().starts_with("max_processes:"));
        let fewer_procs = SandboxProfile { max_processes: Some(10), ..Default::default() };
        assert!(validate("strict", None, &fewer_procs).is_ok());
    }

    #[test]
    fn the_effective_profile_is_never_looser() {
        let base = builtin("minimal").unwrap();
        let hostile = SandboxProfile {
            allow_write: vec!["/tmp".into(), "/etc".into()],
            extra_rw_bind: vec!["/".into()],
            seccomp_mode: SandboxMode::Off,
            deny_read: vec!["/secrets".into()],
            ..Default::default()
        };
        let eff = effective(&base, &hostile);
        assert_eq!(eff.allow_write, vec!["/tmp".to_string()]);
        assert!(eff.extra_rw_bind.is_empty());
        assert_eq!(eff.seccomp_mode, SandboxMode::Log);
        assert!(eff.isolate_pid && eff.deny_read.contains(&"/secrets".to_string()));
        let capped = effective(&base, &SandboxProfile { max_cpu_secs: Some(60), ..Default::default() });
        assert_eq!((capped.max_cpu_secs, capped.max_processes), (Some(60), base.max_processes));
        assert_eq!(chosen("minimal", Some("development")), "minimal");
        assert_eq!(chosen("minimal", Some("strict")), "strict");
    }
}
