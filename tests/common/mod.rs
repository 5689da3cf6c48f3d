//! Shared helpers of the kernel tests: each test gets a network namespace
//! of its own, made with `ip netns add` and removed when it ends.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use lvs::Ipvs;
pub mod traffic;

/// Why every kernel test is ignored on the host.
pub const GUEST_ONLY: &str = "needs a kernel with IPVS: run scripts/test (UML guest)";

/// A network namespace that exists while this value lives.
pub struct TestNetns {
    pub name: String,
    /// The test (libtest's thread name) that made it, if any.
    owner: Option<String>,
}

/// Live test namespaces, by the test that made them.
static LIVE: std::sync::Mutex<Vec<(String, usize)>> = std::sync::Mutex::new(Vec::new());

/// The kernel tests run one at a time: the kernel's IPVS service table is
/// one hash table for all namespaces, and a dump resumes at a position
/// counted over all of them, so one test's writes can make another's dump
/// skip or repeat a service (see docs: ipvs-kernel-api.md §A.14). The runner
/// (scripts/test) passes `--test-threads=1`; this guard makes any other way
/// of running them fail loudly instead of flaking: it panics unless libtest
/// was told to use one thread, and panics if a test makes a namespace while
/// another test's namespaces are alive. Returns the calling test's name
/// (libtest names each test's thread after it; None for helper threads).
fn one_test_at_a_time() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    // libtest's --test-threads wins over RUST_TEST_THREADS.
    let flag = args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--test-threads=")
            .or_else(|| (a == "--test-threads").then(|| args.get(i + 1).map_or("", |v| v)))
    });
    let one_thread = match flag {
        Some(n) => n == "1",
        None => std::env::var("RUST_TEST_THREADS").is_ok_and(|v| v.trim() == "1"),
    };
    assert!(
        one_thread,
        "kernel tests must run one at a time (they share the kernel's IPVS table): \
         run them with -- --ignored --test-threads=1, as scripts/test does (args: {args:?})"
    );
    let me = std::thread::current().name().map(str::to_owned)?;
    if me == "main" {
        return None;
    }
    let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((other, n)) = live.iter().find(|(t, n)| *t != me && *n > 0) {
        panic!(
            "kernel tests ran in parallel: {me} started while {other} has {n} namespace(s) alive; \
             run them with --test-threads=1"
        );
    }
    match live.iter_mut().find(|(t, _)| *t == me) {
        Some((_, n)) => *n += 1,
        None => live.push((me.clone(), 1)),
    }
    Some(me)
}

impl TestNetns {
    pub fn new() -> Self {
        let ns = Self::bare();
        run("ip", &["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    /// A namespace as `ip netns add` makes it: `lo` down, no route.
    pub fn bare() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let owner = one_test_at_a_time();
        let name = format!(
            "lvs-t{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        run("ip", &["netns", "add", &name]);
        TestNetns { name, owner }
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.name))
    }

    /// An IPVS handle in this namespace.
    pub fn ipvs(&self) -> Ipvs {
        Ipvs::open_in_netns_path(self.path()).expect("open IPVS in the test namespace")
    }

    /// Runs a command inside the namespace and returns its stdout; panics
    /// with its stderr if it fails.
    pub fn exec(&self, cmd: &str, args: &[&str]) -> String {
        let mut full = vec!["netns", "exec", &self.name, cmd];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// Runs a command inside the namespace with `stdin`, returning stdout.
    pub fn exec_stdin(&self, cmd: &str, args: &[&str], stdin: &str) -> String {
        let mut full = vec!["netns", "exec", &self.name, cmd];
        full.extend_from_slice(args);
        run_stdin("ip", &full, stdin)
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        if let Some(owner) = &self.owner {
            let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, n)) = live.iter_mut().find(|(t, _)| t == owner) {
                *n = n.saturating_sub(1);
            }
        }
        // A test may have deleted the namespace itself (a fault test).
        if self.path().exists() {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.name])
                .status();
        }
    }
}

/// Runs a command with `stdin` and returns what it did (status, stdout,
/// stderr), whatever its exit status.
pub fn output_stdin(cmd: &str, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs a command with `stdin` and returns its stdout; panics with its
/// stderr (and the input) if it fails.
pub fn run_stdin(cmd: &str, args: &[&str], stdin: &str) -> String {
    let out = output_stdin(cmd, args, stdin);
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}\n{stdin}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl TestNetns {
    /// Runs `f` on a thread inside this namespace (sockets it makes live
    /// there) and returns its result.
    pub fn run_in<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        self.spawn_in(f)
            .join()
            .expect("thread in namespace panicked")
    }

    /// Starts `f` on a thread inside this namespace.
    pub fn spawn_in<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let file = std::fs::File::open(self.path()).expect("open namespace");
        std::thread::spawn(move || {
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
    }
}

/// Connects two namespaces with a veth pair, `a_if` in `a` with
/// `a_cidr`, `b_if` in `b` with `b_cidr`, both up.
pub fn veth(a: &TestNetns, a_if: &str, a_cidr: &str, b: &TestNetns, b_if: &str, b_cidr: &str) {
    run(
        "ip",
        &[
            "link", "add", a_if, "netns", &a.name, "type", "veth", "peer", "name", b_if, "netns",
            &b.name,
        ],
    );
    a.exec("ip", &["addr", "add", a_cidr, "dev", a_if]);
    b.exec("ip", &["addr", "add", b_cidr, "dev", b_if]);
    a.exec("ip", &["link", "set", a_if, "up"]);
    b.exec("ip", &["link", "set", b_if, "up"]);
}

/// Connects to `addr` from inside `ns` (retrying while the server starts)
/// and returns everything the server sent.
pub fn fetch(ns: &TestNetns, addr: &str) -> String {
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    ns.run_in(move || {
        use std::io::Read;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut c = loop {
            match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)) {
                Ok(c) => break c,
                Err(e) if std::time::Instant::now() > deadline => panic!("connect {addr}: {e}"),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        };
        let mut s = String::new();
        c.read_to_string(&mut s).unwrap();
        s
    })
}

/// The path of a built example (`cargo build --examples` first).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --examples`",
        path.display()
    );
    path
}

/// Runs the example `name` inside `ns`, as a user would (`ip netns exec NS
/// target/debug/examples/NAME ARGS`), and returns its stdout; panics with
/// its stderr if it fails.
pub fn run_example(ns: &TestNetns, name: &str, args: &[&str]) -> String {
    ns.exec(example(name).to_str().unwrap(), args)
}

/// A socket address from text (test data).
pub fn sa(s: &str) -> std::net::SocketAddr {
    s.parse().unwrap()
}

/// The running kernel's release (`uname -r`, e.g. `6.1.176`).
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap()
        .trim()
        .to_owned()
}

/// The running kernel's (major, minor).
pub fn kernel_version() -> (u8, u8) {
    let release = kernel_release();
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u8>().unwrap());
    (numbers.next().unwrap(), numbers.next().unwrap())
}

/// The guest kernel's module tree, as scripts/uml set it up.
pub struct ModuleTree {
    /// `/…/modules/<release>`.
    pub dir: PathBuf,
    /// The kernel's release (`uname -r`).
    pub release: String,
    modules: std::collections::HashSet<String>,
}

impl ModuleTree {
    /// Whether the kernel has module `name` (as a file in the tree, any
    /// compression, or built in).
    pub fn has(&self, name: &str) -> bool {
        self.modules.contains(name)
    }
}

/// The module tree of the running guest kernel: `LVS_UML_MODULE_TREE`,
/// which scripts/uml sets; panics (the test fails) when it is not set or
/// not this kernel's, so that a check based on it can never pass vacuously.
pub fn module_tree() -> ModuleTree {
    let dir = PathBuf::from(
        std::env::var_os("LVS_UML_MODULE_TREE")
            .expect("LVS_UML_MODULE_TREE is not set: kernel tests run in the guest of scripts/uml"),
    );
    let release = kernel_release();
    assert!(
        dir.ends_with(&release),
        "{} is not the tree of the running kernel {release}",
        dir.display()
    );
    let mut modules = std::collections::HashSet::new();
    let mut stack = vec![dir.join("kernel")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some((module, _)) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split_once(".ko"))
            {
                modules.insert(module.replace('-', "_"));
            }
        }
    }
    // Built-in modules are listed as kernel/…/NAME.ko in modules.builtin.
    if let Ok(builtin) = std::fs::read_to_string(dir.join("modules.builtin")) {
        for line in builtin.lines() {
            if let Some(name) = line.rsplit('/').next().and_then(|n| n.strip_suffix(".ko")) {
                modules.insert(name.replace('-', "_"));
            }
        }
    }
    assert!(
        modules.contains("ip_vs"),
        "no ip_vs in {}: not a kernel with IPVS",
        dir.display()
    );
    ModuleTree {
        dir,
        release,
        modules,
    }
}
