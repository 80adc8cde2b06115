//! How every process on a user's behalf starts: inside a bubblewrap
//! sandbox built from the workspace's effective profile, with a clean
//! environment, seeing only the system (read-only), the agent's runtime
//! (read-only) and that user's own directories.
//!
//! What the sandbox leaves out is the point: the server's data directory
//! (database, JWT secret), its config file, other users' directories, the
//! server's environment and its `/proc`. PID, IPC, UTS and user namespaces
//! are private, every capability is dropped, `no_new_privs` is set (bwrap
//! always sets it) and the sandbox dies with the server.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use oqto_api::workspace::SandboxProfile;

use crate::config::{SandboxConfig, SandboxKind};
use crate::error::{Error, Result};

/// Parts of `/etc` a process needs (name resolution, certificates, time
/// zones, the dynamic linker, shells' start-up files); everything else of
/// `/etc` (keys, shadow files, the server's own config) stays out.
const ETC: &[&str] = &[
    "passwd",
    "group",
    "hosts",
    "host.conf",
    "resolv.conf",
    "nsswitch.conf",
    "gai.conf",
    "services",
    "protocols",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "pki",
    "localtime",
    "timezone",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "profile",
    "profile.d",
    "bash.bashrc",
    "inputrc",
    "terminfo",
    "mime.types",
    "os-release",
    "debian_version",
    "locale.alias",
    "shells",
    "gitconfig",
    // Fonts, and the Debian Chromium wrapper's settings (the agent browser).
    "fonts",
    "chromium",
    "chromium.d",
];

/// Top-level system directories; on merged-/usr systems they are links
/// into `/usr` and are recreated as links.
const SYSTEM: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// The program that applies resource limits inside the sandbox (util-linux).
const PRLIMIT: &str = "/usr/bin/prlimit";
/// The program that ties bubblewrap to the server's life (util-linux):
/// bwrap's `--die-with-parent` covers the sandbox's inside but not
/// bubblewrap's own outer process, which a crashed server would leave
/// running with the sandbox in it.
const SETPRIV: &str = "/usr/bin/setpriv";

/// The uid and gid a sandboxed process has inside its user namespace.
const INNER_ID: &str = "1000";

/// One process to start on a user's behalf.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The program: a path, or a name looked up in the server's `PATH`.
    pub program: String,
    pub args: Vec<String>,
    /// The working directory; it must lie in one of `writable`.
    pub cwd: PathBuf,
    /// `HOME` inside the sandbox (the user's workspace root).
    pub home: PathBuf,
    /// The user's own directories: workspace root, agent directory, the
    /// chat's session directory. The only writable places.
    pub writable: Vec<PathBuf>,
    /// Variables of the process's environment besides `PATH`, `HOME`,
    /// `LANG` and `TMPDIR`.
    pub env: Vec<(String, String)>,
    /// The workspace's effective profile.
    pub profile: SandboxProfile,
    /// Whether the process gets its own session (no controlling terminal);
    /// terminals keep the PTY as theirs instead.
    pub new_session: bool,
    /// The server's API socket on the host, reachable inside at
    /// [`SANDBOX_API_SOCKET`] and named by `OQTO_SOCKET` (also without a
    /// network).
    pub api_socket: Option<PathBuf>,
}

/// Where a sandboxed process finds the server's API socket.
pub const SANDBOX_API_SOCKET: &str = "/run/oqto/api.sock";

/// A ready command line: run `program` with `args` and exactly `env`
/// (after clearing the server's environment), in `cwd`.
#[derive(Clone, Debug)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// Whether `program` is the sandbox around the process rather than the
    /// process itself (see [`signal_tree`]).
    pub sandboxed: bool,
}

impl Launch {
    /// The command that runs it: its arguments, directory and exactly its
    /// environment (standard streams and the rest are the caller's).
    pub fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(&self.args)
            .current_dir(&self.cwd)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }
}

/// Every process below `pid`, parents before children.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        let tasks = std::fs::read_dir(format!("/proc/{parent}/task")).into_iter().flatten().flatten();
        for task in tasks {
            let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()) {
                if !out.contains(&child) {
                    out.push(child);
                    queue.push(child);
                }
            }
        }
    }
    out
}

/// Signals what a launch started. A sandbox's outer process is spared:
/// killing it first would orphan the sandbox (bubblewrap's own
/// parent-death signal is not yet armed while it sets up), whereas killing
/// the namespace's first process ends everything inside, and the outer
/// one exits by itself.
/// Processes in `signaled` are not signaled again; those signaled now are
/// added to it.
pub fn signal_tree(pid: u32, sandboxed: bool, signal: nix::sys::signal::Signal, signaled: &mut Vec<u32>) {
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    if pid <= 1 {
        return;
    }
    if !sandboxed && !signaled.contains(&pid) {
        let _ = nix::sys::signal::killpg(Pid::from_raw(pid as i32), signal);
        signaled.push(pid);
    }
    for child in descendants(pid) {
        if !signaled.contains(&child) {
            let _ = kill(Pid::from_raw(child as i32), signal);
            signaled.push(child);
        }
    }
}

/// The sandbox of this server: its configuration and whether bubblewrap
/// works here (probed once at start).
#[derive(Debug)]
pub struct Sandbox {
    config: SandboxConfig,
    /// Why a sandbox cannot be built here, when it cannot.
    broken: Option<String>,
    bwrap: PathBuf,
}

/// Finds a program by name in the server's `PATH` (or takes a path as it is).
pub fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(program)).find(|p| p.is_file())
}

impl Sandbox {
    /// Checks that a sandbox can be built, by building one around `true`.
    pub fn probe(config: &SandboxConfig) -> Sandbox {
        let bwrap = find_program(&config.bwrap.to_string_lossy()).unwrap_or_else(|| config.bwrap.clone());
        let mut sandbox = Sandbox { config: config.clone(), broken: None, bwrap };
        if config.mode == SandboxKind::Off {
            return sandbox;
        }
        let trial = Spec {
            program: "/usr/bin/true".into(),
            args: Vec::new(),
            cwd: PathBuf::from("/"),
            home: PathBuf::from("/"),
            writable: Vec::new(),
            env: Vec::new(),
            profile: SandboxProfile { isolate_network: true, max_processes: Some(16), ..Default::default() },
            new_session: true,
            api_socket: None,
        };
        sandbox.broken = match sandbox.command_line(&trial) {
            Err(e) => Some(e.to_string()),
            Ok(launch) => match std::process::Command::new(&launch.program)
                .args(&launch.args)
                .env_clear()
                .envs(launch.env)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .output()
            {
                Ok(out) if out.status.success() => None,
                Ok(out) => Some(format!(
                    "bubblewrap failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )),
                Err(e) => Some(format!("{} cannot be run: {e}", sandbox.bwrap.display())),
            },
        };
        sandbox
    }

    /// The effective profile of a workspace: the server's default or the
    /// workspace's stricter choice, with the workspace's additions.
    pub fn profile_for(&self, workspace: &Path) -> SandboxProfile {
        let (profile, overrides) = crate::projects::stored_sandbox(workspace);
        let chosen = super::chosen(&self.config.default_profile, profile.as_deref());
        super::effective(&super::builtin(&chosen).unwrap_or_default(), &overrides)
    }

    /// Whether processes run sandboxed (false only when switched off).
    pub fn enabled(&self) -> bool {
        self.config.mode == SandboxKind::Bubblewrap
    }

    /// Why no sandbox can be built here, when none can.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// The command line that starts `spec` in its sandbox; refused when the
    /// sandbox is on and cannot be built.
    pub fn launch(&self, spec: &Spec) -> Result<Launch> {
        // Why exactly is the operator's to read (logged at start), not the user's.
        if self.enabled() && self.broken.is_some() {
            return Err(Error::Unavailable(
                "processes run only in a sandbox and none can be built on this server; \
                 the operator must install bubblewrap or set sandbox.mode = \"off\""
                    .to_string(),
            ));
        }
        self.command_line(spec)
    }

    fn command_line(&self, spec: &Spec) -> Result<Launch> {
        let program = find_program(&spec.program).ok_or_else(|| {
            let name = Path::new(&spec.program).file_name().unwrap_or_default().to_string_lossy();
            Error::Unavailable(format!("{name} is not installed on this server"))
        })?;
        let mut env = inner_env(spec);
        if let Some(socket) = &spec.api_socket {
            let inside = if self.enabled() { Path::new(SANDBOX_API_SOCKET) } else { socket.as_path() };
            env.push(("OQTO_SOCKET".into(), inside.display().to_string()));
        }
        if !self.enabled() {
            let args = spec.args.iter().map(OsString::from).collect();
            return Ok(Launch { program, args, env, cwd: spec.cwd.clone(), sandboxed: false });
        }
        let mut b = Args::default();
        b.pair("--pdeathsig", "KILL").flag("--");
        b.args.push(self.bwrap.clone().into_os_string());
        b.flag("--die-with-parent")
            .flag("--unshare-user")
            .flag("--unshare-pid")
            .flag("--unshare-ipc")
            .flag("--unshare-uts")
            .flag("--unshare-cgroup-try")
            .pair("--uid", INNER_ID)
            .pair("--gid", INNER_ID)
            .pair("--hostname", "oqto")
            .pair("--cap-drop", "ALL");
        if spec.profile.isolate_network {
            b.flag("--unshare-net");
        }
        if spec.new_session {
            b.flag("--new-session");
        }
        for dir in SYSTEM {
            match std::fs::read_link(dir) {
                Ok(target) => b.two("--symlink", target, dir),
                Err(_) => b.two("--ro-bind-try", dir, dir),
            };
        }
        for name in ETC {
            let path = Path::new("/etc").join(name);
            b.two("--ro-bind-try", &path, &path);
        }
        b.pair("--proc", "/proc").pair("--dev", "/dev").pair("--tmpfs", "/tmp");
        for dir in runtime_dirs(&program).iter().chain(&self.config.read_only) {
            b.two("--ro-bind-try", dir, dir);
        }
        let expand = |p: &str| expand_home(p, &spec.home);
        for extra in &spec.profile.extra_ro_bind {
            let path = expand(extra);
            b.two("--ro-bind-try", &path, &path);
        }
        for dir in &spec.writable {
            b.two("--bind", dir, dir);
        }
        if let Some(socket) = &spec.api_socket {
            b.two("--bind", socket, SANDBOX_API_SOCKET);
        }
        for scratch in spec.profile.allow_write.iter().map(|p| expand(p)) {
            let covered =
                scratch == Path::new("/tmp") || spec.writable.iter().any(|w| scratch.starts_with(w));
            if !covered {
                b.pair("--tmpfs", &scratch);
            }
        }
        for denied in spec.profile.deny_write.iter().map(|p| expand(p)) {
            if denied.exists() {
                b.two("--ro-bind", &denied, &denied);
            }
        }
        for hidden in spec.profile.deny_read.iter().map(|p| expand(p)) {
            match std::fs::symlink_metadata(&hidden) {
                Ok(meta) if meta.is_dir() => b.pair("--tmpfs", &hidden),
                Ok(_) => b.two("--ro-bind", "/dev/null", &hidden),
                Err(_) => &mut b,
            };
        }
        if !spec.profile.allow_write.iter().any(|p| p == "/tmp") {
            b.pair("--remount-ro", "/tmp");
        }
        b.pair("--chdir", &spec.cwd).flag("--clearenv");
        for (key, value) in &env {
            b.two("--setenv", key, value);
        }
        b.flag("--");
        let limits = rlimits(&spec.profile);
        if !limits.is_empty() {
            b.flag(PRLIMIT);
            b.args.extend(limits.into_iter().map(OsString::from));
            b.flag("--");
        }
        b.args.push(program.into_os_string());
        b.args.extend(spec.args.iter().map(OsString::from));
        let (args, cwd) = (b.args, PathBuf::from("/"));
        Ok(Launch { program: PathBuf::from(SETPRIV), args, env: Vec::new(), cwd, sandboxed: true })
    }
}

/// `prlimit` options for the profile's limits (plus no core dumps).
fn rlimits(profile: &SandboxProfile) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(n) = profile.max_processes {
        out.push(format!("--nproc={n}"));
    }
    if let Some(mb) = profile.max_memory_mb {
        out.push(format!("--data={}", mb.saturating_mul(1024 * 1024)));
    }
    if let Some(secs) = profile.max_cpu_secs {
        out.push(format!("--cpu={secs}"));
    }
    if !out.is_empty() {
        out.push("--core=0".into());
    }
    out
}

/// The environment inside: a fixed allow-list and what the caller adds,
/// never the server's own environment.
fn inner_env(spec: &Spec) -> Vec<(String, String)> {
    let lang = std::env::var("LANG").ok().filter(|l| !l.is_empty()).unwrap_or_else(|| "C.UTF-8".into());
    let mut env = vec![
        ("PATH".to_string(), "/usr/local/bin:/usr/bin:/bin".to_string()),
        ("HOME".to_string(), spec.home.display().to_string()),
        ("LANG".to_string(), lang),
        ("TMPDIR".to_string(), "/tmp".to_string()),
    ];
    for (key, value) in &spec.env {
        env.retain(|(k, _)| k != key);
        env.push((key.clone(), value.clone()));
    }
    env
}

/// `~` and `~/…` mean the sandbox's home.
fn expand_home(path: &str, home: &Path) -> PathBuf {
    match path.strip_prefix('~') {
        Some("") => home.to_path_buf(),
        Some(rest) if rest.starts_with('/') => home.join(rest.trim_start_matches('/')),
        _ => PathBuf::from(path),
    }
}

/// What the program needs to run besides the system: its directory (and
/// that of the file a link points to) and, for a program installed with
/// npm, the package tree around its `node_modules`. System paths are
/// already there.
fn runtime_dirs(program: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let real = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    for path in [program, real.as_path()] {
        let mut dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if let Some(i) = path.components().position(|c| c.as_os_str() == "node_modules") {
            dir = path.components().take(i).collect();
        }
        let system =
            SYSTEM.iter().any(|s| dir.starts_with(s)) || dir.as_os_str().is_empty() || dir == Path::new("/");
        if !system && !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// bubblewrap's arguments, built in order (mount order matters).
#[derive(Default)]
struct Args {
    args: Vec<OsString>,
}

impl Args {
    fn flag(&mut self, flag: &str) -> &mut Self {
        self.args.push(flag.into());
        self
    }

    fn pair(&mut self, flag: &str, value: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.args.push(flag.into());
        self.args.push(value.as_ref().to_os_string());
        self
    }

    fn two(
        &mut self,
        flag: &str,
        a: impl AsRef<std::ffi::OsStr>,
        b: impl AsRef<std::ffi::OsStr>,
    ) -> &mut Self {
        self.args.extend([flag.into(), a.as_ref().to_os_string(), b.as_ref().to_os_string()]);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_programs_bring_their_package_tree() {
        let dirs = runtime_dirs(Path::new("/opt/pi/node_modules/.bin/pi"));
        assert_eq!(dirs, vec![PathBuf::from("/opt/pi")]);
        assert!(runtime_dirs(Path::new("/usr/bin/node")).is_empty());
        assert_eq!(runtime_dirs(Path::new("/srv/agent/bin/agent")), vec![PathBuf::from("/srv/agent/bin")]);
    }

    #[test]
    fn home_is_the_sandbox_home() {
        let home = Path::new("/w/u");
        assert_eq!(expand_home("~/.ssh", home), PathBuf::from("/w/u/.ssh"));
        assert_eq!(expand_home("~", home), PathBuf::from("/w/u"));
        assert_eq!(expand_home("/tmp", home), PathBuf::from("/tmp"));
    }

    #[test]
    fn the_environment_is_an_allow_list() {
        let spec = Spec {
            program: "/usr/bin/true".into(),
            args: Vec::new(),
            cwd: "/".into(),
            home: "/h".into(),
            writable: Vec::new(),
            env: vec![("TERM".into(), "dumb".into()), ("PATH".into(), "/x".into())],
            profile: SandboxProfile::default(),
            new_session: true,
            api_socket: None,
        };
        let env = inner_env(&spec);
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["HOME", "LANG", "TMPDIR", "TERM", "PATH"]);
        assert!(env.iter().any(|(k, v)| k == "PATH" && v == "/x"));
    }
}
