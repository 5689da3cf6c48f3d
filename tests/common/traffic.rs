//! A small traffic lab in network namespaces, after the kernel's
//! `tools/testing/selftests/netfilter/ipvs.sh`: backend "pods" each in a
//! namespace of their own behind a veth pair to a "node" (the IPVS
//! director), and a client on a LAN (a bridge in the client namespace) to
//! the director.
//!
//! ```text
//!  client                       director (node)                backend pod-N
//!  br0 192.168.50.2/24 ─────── eth0 192.168.50.1/24
//!  default via .1               podN 10.244.N.1/24 ─────────── eth0 10.244.N.5/24
//!                               ip_forward=1                   default via 10.244.N.1
//!  br0 ──────────────────────────────────────────────────────── lan0 192.168.50.(10+N)/24
//!                              (with direct return only: for DR and TUN replies)
//! ```
//!
//! Each backend runs a TCP server on port 80 (a thread entered into its
//! namespace) that answers every connection with its name and a newline,
//! then echoes each line it gets until the client closes: a connection can
//! be held open and used. Traffic only ever goes to addresses of these
//! namespaces.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use lvs::Ipvs;

use super::{TestNetns, run_example, run_stdin};

/// The client's address on its LAN.
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 50, 2);
/// The director's address on the client's LAN (the client's gateway).
pub const DIRECTOR: Ipv4Addr = Ipv4Addr::new(192, 168, 50, 1);
/// The port every backend serves on.
pub const BACKEND_PORT: u16 = 80;
/// The longest any connect, read or write of the lab waits.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `ip -batch -` with `lines`, in `ns` or (None) in the test's own
/// namespace.
fn ip_batch(ns: Option<&TestNetns>, lines: &[String]) {
    let script = lines.join("\n") + "\n";
    match ns {
        Some(ns) => ns.exec_stdin("ip", &["-batch", "-"], &script),
        None => run_stdin("ip", &["-batch", "-"], &script),
    };
}

/// Sets sysctls (`name=value`) inside `ns`.
pub fn sysctl(ns: &TestNetns, settings: &[&str]) {
    let mut args = vec!["-qw"];
    args.extend_from_slice(settings);
    ns.exec("sysctl", &args);
}

/// One accepted connection, as the backend saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The address the connection was made to (the backend's own address
    /// after NAT; the virtual IP with direct routing or a tunnel).
    pub local: SocketAddr,
    /// The client's address as the backend saw it.
    pub peer: SocketAddr,
}

/// A TCP server on a thread, in a backend's namespace: it answers each
/// connection with its name and a newline, then echoes lines until the
/// client closes. Stopped and joined when dropped.
pub struct Server {
    listener: Arc<TcpListener>,
    stop: Arc<AtomicBool>,
    accepted: Arc<Mutex<Vec<Accepted>>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on every address of `ns`, port `port`, before returning.
    pub fn start(ns: &TestNetns, name: &str, port: u16) -> Self {
        let listener = ns.run_in(move || {
            TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).expect("bind the backend's server")
        });
        let listener = Arc::new(listener);
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (listener, stop, accepted) = (listener.clone(), stop.clone(), accepted.clone());
            let name = name.to_string();
            std::thread::spawn(move || {
                loop {
                    match listener.accept() {
                        Ok(_) if stop.load(Ordering::SeqCst) => break,
                        Ok((stream, peer)) => {
                            let local = stream.local_addr().expect("local address");
                            accepted.lock().unwrap().push(Accepted { local, peer });
                            let name = name.clone();
                            std::thread::spawn(move || answer(stream, &name));
                        }
                        Err(_) if stop.load(Ordering::SeqCst) => break,
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Server {
            listener,
            stop,
            accepted,
            thread: Some(thread),
        }
    }

    /// Every connection accepted so far, oldest first.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.accepted.lock().unwrap().clone()
    }
}

/// Answers one connection: the name, then an echo of each line.
fn answer(stream: TcpStream, name: &str) {
    let mut writer = &stream;
    if writeln!(writer, "{name}").is_err() {
        return;
    }
    for line in BufReader::new(&stream).lines() {
        match line {
            Ok(line) if writeln!(writer, "{line}").is_ok() => {}
            _ => return,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Shutting a listening socket down wakes the thread blocked in
        // accept() (which then fails with EINVAL).
        let _ =
            nix::sys::socket::shutdown(self.listener.as_raw_fd(), nix::sys::socket::Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A backend pod: a namespace with a server answering its name.
pub struct Backend {
    server: Server,
    /// Its name, what its server answers (`pod-1`, `pod-2`, …).
    pub name: String,
    /// Its address.
    pub addr: Ipv4Addr,
    /// Its namespace.
    pub ns: TestNetns,
}

impl Backend {
    /// `ADDR:80`, its endpoint.
    pub fn endpoint(&self) -> SocketAddr {
        SocketAddr::new(self.addr.into(), BACKEND_PORT)
    }

    /// Every connection its server accepted so far.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.server.accepted()
    }

    /// Makes it a direct-routing real server of `vip`, as ipvs.sh does:
    /// the virtual IP on `lo` (a link that does not answer ARP for it),
    /// `arp_ignore=1` and `arp_announce=2` so that it never answers or
    /// announces the virtual IP on its real links.
    pub fn serve_vip_by_direct_routing(&self, vip: Ipv4Addr) {
        sysctl(
            &self.ns,
            &[
                "net.ipv4.conf.all.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2",
            ],
        );
        self.ns
            .exec("ip", &["addr", "add", &format!("{vip}/32"), "dev", "lo"]);
    }

    /// Makes it an IP-in-IP (IPVS tunnel) real server of `vip`: `tunl0`
    /// (the ipip module's catch-all tunnel) up with the virtual IP, and
    /// reverse-path filtering off on it and on `all`, since the inner
    /// packets come from the client over a link that does not route to it.
    pub fn serve_vip_by_ipip_tunnel(&self, vip: Ipv4Addr) {
        ip_batch(
            Some(&self.ns),
            &[
                "link set tunl0 up".to_string(),
                format!("addr add {vip}/32 dev tunl0"),
            ],
        );
        sysctl(
            &self.ns,
            &[
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.tunl0.rp_filter=0",
                "net.ipv4.conf.all.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2",
            ],
        );
    }
}

/// A director, a client and backends, each in a namespace of its own.
pub struct Lab {
    /// The backends, `pod-1` first.
    pub backends: Vec<Backend>,
    /// The node: where IPVS and the examples run.
    pub director: TestNetns,
    /// The client.
    pub client: TestNetns,
}

impl Lab {
    /// `n` backends whose replies go back through the director (for NAT).
    pub fn new(n: usize) -> Self {
        Self::build(n, false)
    }

    /// `n` backends that are also on the client's LAN and reply to it
    /// directly (for direct routing and tunnels; NAT would break, since
    /// the replies would miss the director).
    pub fn with_direct_return(n: usize) -> Self {
        Self::build(n, true)
    }

    fn build(n: usize, direct_return: bool) -> Self {
        let director = TestNetns::new();
        let client = TestNetns::new();
        let mut root = vec![format!(
            "link add cl-dir netns {} type veth peer name eth0 netns {}",
            client.name, director.name
        )];
        let mut in_client = vec![
            "link add br0 type bridge forward_delay 0".to_string(),
            format!("addr add {CLIENT}/24 dev br0"),
            "link set br0 up".to_string(),
            "link set cl-dir master br0".to_string(),
            "link set cl-dir up".to_string(),
        ];
        let mut in_director = vec![
            format!("addr add {DIRECTOR}/24 dev eth0"),
            "link set eth0 up".to_string(),
        ];
        let mut namespaces = Vec::new();
        for i in 1..=n {
            let ns = TestNetns::new();
            let mut in_backend = vec![
                format!("addr add 10.244.{i}.5/24 dev eth0"),
                "link set eth0 up".to_string(),
                format!("route add default via 10.244.{i}.1"),
            ];
            root.push(format!(
                "link add pod{i} netns {} type veth peer name eth0 netns {}",
                director.name, ns.name
            ));
            in_director.push(format!("addr add 10.244.{i}.1/24 dev pod{i}"));
            in_director.push(format!("link set pod{i} up"));
            if direct_return {
                root.push(format!(
                    "link add lan{i} netns {} type veth peer name lan0 netns {}",
                    client.name, ns.name
                ));
                in_client.push(format!("link set lan{i} master br0"));
                in_client.push(format!("link set lan{i} up"));
                in_backend.insert(0, format!("addr add 192.168.50.{}/24 dev lan0", 10 + i));
                in_backend.insert(1, "link set lan0 up".to_string());
            }
            namespaces.push((ns, in_backend));
        }
        ip_batch(None, &root);
        in_client.push(format!("route add default via {DIRECTOR}"));
        ip_batch(Some(&client), &in_client);
        ip_batch(Some(&director), &in_director);
        sysctl(&director, &["net.ipv4.ip_forward=1"]);
        let backends = namespaces
            .into_iter()
            .enumerate()
            .map(|(i, (ns, lines))| {
                ip_batch(Some(&ns), &lines);
                let name = format!("pod-{}", i + 1);
                Backend {
                    server: Server::start(&ns, &name, BACKEND_PORT),
                    addr: Ipv4Addr::new(10, 244, i as u8 + 1, 5),
                    name,
                    ns,
                }
            })
            .collect();
        Lab {
            backends,
            director,
            client,
        }
    }

    /// An IPVS handle in the director's namespace.
    pub fn ipvs(&self) -> Ipvs {
        self.director.ipvs()
    }

    /// `--endpoint ADDR:80` for every backend, as example arguments.
    pub fn endpoint_args(&self) -> Vec<String> {
        self.backends
            .iter()
            .flat_map(|b| ["--endpoint".to_string(), b.endpoint().to_string()])
            .collect()
    }

    /// Runs an example in the director's namespace; its stdout.
    pub fn run_example(&self, name: &str, args: &[&str]) -> String {
        run_example(&self.director, name, args)
    }

    /// The backend named `name`.
    pub fn backend(&self, name: &str) -> &Backend {
        self.backends
            .iter()
            .find(|b| b.name == name)
            .unwrap_or_else(|| panic!("no backend {name}"))
    }

    /// Adds `ip`/24 to the client's LAN link: a second client address.
    pub fn add_client_address(&self, ip: Ipv4Addr) {
        self.client
            .exec("ip", &["addr", "add", &format!("{ip}/24"), "dev", "br0"]);
    }

    /// Makes the client's new connections come from `ip` (one of its
    /// addresses), by the preferred source of its default route.
    pub fn set_client_source(&self, ip: Ipv4Addr) {
        let ip = ip.to_string();
        self.client.exec(
            "ip",
            &[
                "route",
                "replace",
                "default",
                "via",
                "192.168.50.1",
                "dev",
                "br0",
                "src",
                &ip,
            ],
        );
    }
}

/// Connects to `addr` from inside `ns`; the stream (whose socket stays in
/// `ns`) has read and write timeouts.
pub fn connect(ns: &TestNetns, addr: SocketAddr) -> io::Result<TcpStream> {
    ns.run_in(move || {
        let s = TcpStream::connect_timeout(&addr, TIMEOUT)?;
        s.set_read_timeout(Some(TIMEOUT))?;
        s.set_write_timeout(Some(TIMEOUT))?;
        Ok(s)
    })
}

/// Reads one line, without its newline; end of stream is an error.
fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line.trim_end_matches('\n').to_string())
}

/// Connects to `addr` from `ns`, reads one line (the name of the backend
/// that answered) and closes.
pub fn try_fetch(ns: &TestNetns, addr: SocketAddr) -> io::Result<String> {
    let stream = connect(ns, addr)?;
    read_line(&mut BufReader::new(stream))
}

/// [`try_fetch`], panicking on failure.
pub fn fetch(ns: &TestNetns, addr: SocketAddr) -> String {
    try_fetch(ns, addr).unwrap_or_else(|e| panic!("fetching {addr} from {}: {e}", ns.name))
}

/// `n` fetches of `addr` from `ns`, counted by answering backend.
pub fn tally(ns: &TestNetns, addr: SocketAddr, n: usize) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        *counts.entry(fetch(ns, addr)).or_insert(0) += 1;
    }
    counts
}

/// A connection held open.
pub struct Held {
    reader: BufReader<TcpStream>,
    /// The backend that answered it.
    pub backend: String,
}

/// Opens a connection from `ns` to `addr` and keeps it open.
pub fn hold(ns: &TestNetns, addr: SocketAddr) -> Held {
    let stream = connect(ns, addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    let mut reader = BufReader::new(stream);
    let backend = read_line(&mut reader).unwrap_or_else(|e| panic!("reading from {addr}: {e}"));
    Held { reader, backend }
}

impl Held {
    /// Sends `msg` and returns the backend's echo of it.
    pub fn echo(&mut self, msg: &str) -> io::Result<String> {
        writeln!(self.reader.get_mut(), "{msg}")?;
        read_line(&mut self.reader)
    }

    /// Closes the connection with a reset (`SO_LINGER` 0) rather than a
    /// FIN: IPVS then forgets it after its CLOSE timeout (10 s) instead of
    /// TIME_WAIT's 2 minutes.
    pub fn reset(self) {
        let stream = self.reader.into_inner();
        nix::sys::socket::setsockopt(
            &stream,
            nix::sys::socket::sockopt::Linger,
            &libc::linger {
                l_onoff: 1,
                l_linger: 0,
            },
        )
        .expect("SO_LINGER");
    }
}
