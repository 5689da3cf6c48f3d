//! kube-proxy's IPVS proxier for a cluster's Services and EndpointSlices,
//! read as JSON (one list, or two watch streams), through desired-state
//! apply. The model is examples/common/proxier.rs, shared with the
//! rule-set examples.
#[path = "../common/mod.rs"]
mod common;

use std::io::{BufReader, Read};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Args;
use common::print_table;
use common::proxier::{Cidr, Cluster, Config, Family, Proxier, SyncError, Synced, desired};
use lvs::Scheduler;
use serde_json::Value;

const USAGE: &str = "\
kube_proxy_sync — program the IPVS table and kube-ipvs0 addresses that kube-proxy
(IPVS mode) would for a cluster's Services and EndpointSlices, read as JSON

usage: kube_proxy_sync [OPTIONS] FILE
       kube_proxy_sync [OPTIONS] --watch --services FILE --endpointslices FILE
  FILE           the output of `kubectl get services,endpointslices -A -o json`
                 (a List of Service and EndpointSlice objects), or - for stdin
  --node NAME    this node's name, for externalTrafficPolicy / internalTrafficPolicy
                 Local (endpoints whose nodeName is NAME); default: the hostname
  --ip-family F  ipv4 or ipv6: run only that family's proxier (default: both, as
                 on a dual-stack node); repeatable
  --nodeport-addresses CIDR[,CIDR...]
                 serve NodePorts only on node addresses in these CIDRs (per family;
                 a family with none given uses all its node addresses)
  --ipvs-exclude-cidrs CIDR[,CIDR...]
                 virtual servers in these CIDRs are not kube-proxy's: left alone
  --scheduler S  the IPVS scheduler of every virtual service (default rr; with mh,
                 the mh-port flag is set, as kube-proxy does)
  --no-graceful  delete leaving real servers at once (kube-proxy keeps a TCP real
                 server with connections at weight 0 until they are gone)
  --quiet        print only the summary, not the table

watch mode (--watch): follows two streams of watch events, as printed by
  kubectl get services -A --watch --output-watch-events -o json      (--services)
  kubectl get endpointslices -A --watch --output-watch-events -o json (--endpointslices)
(files or FIFOs), and syncs after each burst of events, at most once per
--min-sync-period MS (default 0, kube-proxy's --ipvs-min-sync-period), and every
--sync-period SECONDS (default 30, --ipvs-sync-period) to finish draining. When
both streams end it syncs once more, then keeps resyncing until no real server
is draining, and exits. One line per sync.

What it programs (kube-proxy's IPVS proxier, per IP family):
  ClusterIP      clusterIP:port (bound on kube-ipvs0)
  ClientIP       persistent for sessionAffinityConfig.clientIP.timeoutSeconds (10800)
  externalIPs    externalIP:port (bound on kube-ipvs0 unless a node address)
  LoadBalancer   each status.loadBalancer.ingress IP whose ipMode is not Proxy
  nodePort       on every NodePort address of the family, any port number
  endpoints      ready ones, else serving+terminating; Local policies take this
                 node's, else the cluster's (none for internalTrafficPolicy Local
                 without external access); masquerade, weight 1
  headless, ExternalName: nothing
It owns every virtual server of its families outside --ipvs-exclude-cidrs (others
are deleted, as kube-proxy's cleanLegacyService does) and kube-ipvs0's addresses.
Input that is refused changes nothing and names the Service and field. Needs
CAP_NET_ADMIN; acts on the network namespace it runs in.";

fn cidrs(args: &mut Args, name: &str) -> Vec<Cidr> {
    let mut out = Vec::new();
    for v in args.values(name) {
        for c in v.split(',').filter(|c| !c.is_empty()) {
            out.push(
                c.parse()
                    .unwrap_or_else(|e: String| args.fail(&format!("{name}: {e}"))),
            );
        }
    }
    out
}

fn read_input(args: &Args, file: &str) -> String {
    if file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .unwrap_or_else(|e| args.fail(&format!("stdin: {e}")));
        s
    } else {
        std::fs::read_to_string(file).unwrap_or_else(|e| args.fail(&format!("{file}: {e}")))
    }
}

fn summary(n: usize, s: &Synced, took: Duration) -> String {
    let r = &s.report;
    format!(
        "sync {n}: {} virtual servers; {}; kube-ipvs0: +{} -{}; failures {}; {:.1} ms",
        s.servers,
        changes(r),
        s.bound.len(),
        s.unbound.len(),
        r.failures.len(),
        took.as_secs_f64() * 1000.0,
    )
}

/// The report's changes, counted: "services: +A ~U -R; destinations: +A ~U -R; draining D".
fn changes(r: &lvs::ApplyReport) -> String {
    format!(
        "services: +{} ~{} -{}; destinations: +{} ~{} -{}; draining {}",
        r.added_services.len(),
        r.updated_services.len(),
        r.removed_services.len(),
        r.added_destinations.len(),
        r.updated_destinations.len(),
        r.removed_destinations.len(),
        r.draining_destinations.len(),
    )
}

fn fail(e: SyncError) -> ! {
    eprintln!("error: {e}");
    std::process::exit(1);
}

fn main() {
    let mut args = Args::new(USAGE);
    let node = args.values("--node").pop().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    });
    let mut config = Config::new(&node);
    let families: Vec<Family> = args
        .values("--ip-family")
        .iter()
        .map(|f| f.parse().unwrap_or_else(|e: String| args.fail(&e)))
        .collect();
    if !families.is_empty() {
        config.families = families;
    }
    config.nodeport_addresses = cidrs(&mut args, "--nodeport-addresses");
    config.exclude_cidrs = cidrs(&mut args, "--ipvs-exclude-cidrs");
    config.scheduler = Scheduler::from(args.value("--scheduler", "rr".to_string()));
    let graceful = !args.flag("--no-graceful");
    let quiet = args.flag("--quiet");
    let watch = args.flag("--watch");
    let services = args.values("--services").pop();
    let slices = args.values("--endpointslices").pop();
    let min_sync = Duration::from_millis(args.value("--min-sync-period", 0u64));
    let sync_period = Duration::from_secs(args.value("--sync-period", 30u64).max(1));

    let mut proxier = Proxier::open(config).unwrap_or_else(|e| fail(e));
    proxier.graceful = graceful;

    if watch {
        let (Some(services), Some(slices)) = (services, slices) else {
            args.fail("--watch needs --services FILE and --endpointslices FILE");
        };
        args.done();
        run_watch(&proxier, &services, &slices, min_sync, sync_period);
        return;
    }
    let file: String = args.positional("FILE");
    args.done();
    let started = Instant::now();
    let text = read_input(&args, &file);
    let read = started.elapsed();
    let cluster = Cluster::from_json(&text).unwrap_or_else(|r| fail(SyncError::Refused(r)));
    let parsed = started.elapsed();
    let node_addresses = proxier.node_addresses().unwrap_or_else(|e| fail(e));
    let want = desired(&cluster, &proxier.config, &node_addresses)
        .unwrap_or_else(|r| fail(SyncError::Refused(r)));
    let computed = started.elapsed();
    let synced = proxier
        .program(&want, node_addresses.len())
        .unwrap_or_else(|e| fail(e));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let r = &synced.report;
    println!(
        "{} Services -> {} virtual services; node {node:?} ({} node addresses); kube-ipvs0: +{} -{}",
        cluster.service_count(),
        synced.servers,
        synced.node_addresses,
        synced.bound.len(),
        synced.unbound.len(),
    );
    println!(
        "{}; failures {}; {:.1} ms (read {:.1}, parse {:.1}, compute {:.1}, apply {:.1})",
        changes(r),
        r.failures.len(),
        ms(started.elapsed()),
        ms(read),
        ms(parsed - read),
        ms(computed - parsed),
        ms(started.elapsed() - computed),
    );
    for f in &r.failures {
        eprintln!("failed: {}: {}", f.op, f.error);
    }
    if r.changes() == 0 && synced.bound.is_empty() && synced.unbound.is_empty() {
        println!("no changes");
    }
    if !quiet {
        print_table(&proxier.ipvs);
    }
    if !r.is_ok() {
        std::process::exit(1);
    }
}

/// What a stream reader sends: an event of a kind, or the end of the
/// stream (with an error if it ended badly).
enum Msg {
    Event(&'static str, Value),
    End(&'static str, Option<String>),
}

/// Reads concatenated JSON objects (kubectl's watch output) from `path`.
fn reader(kind: &'static str, path: String, tx: mpsc::Sender<Msg>) {
    std::thread::spawn(move || {
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.send(Msg::End(kind, Some(format!("{path}: {e}"))));
                return;
            }
        };
        let stream =
            serde_json::Deserializer::from_reader(BufReader::new(file)).into_iter::<Value>();
        for item in stream {
            match item {
                Ok(v) => {
                    if tx.send(Msg::Event(kind, v)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Msg::End(kind, Some(format!("{path}: {e}"))));
                    return;
                }
            }
        }
        let _ = tx.send(Msg::End(kind, None));
    });
}

fn run_watch(
    proxier: &Proxier,
    services: &str,
    slices: &str,
    min_sync: Duration,
    period: Duration,
) {
    use std::io::Write;
    let (tx, rx) = mpsc::channel();
    reader("Service", services.to_string(), tx.clone());
    reader("EndpointSlice", slices.to_string(), tx);
    let mut cluster = Cluster::new();
    let mut open = 2;
    let mut n = 0;
    let mut last_sync: Option<Instant> = None;
    let mut dirty = false;
    let mut draining = 0;
    let sync = |cluster: &Cluster, n: &mut usize, last: &mut Option<Instant>| -> usize {
        let t = Instant::now();
        // A refused state is reported and skipped: the table stays as the
        // last good sync left it, until the input is corrected.
        match proxier.sync(cluster) {
            Ok(s) => {
                *n += 1;
                println!("{}", summary(*n, &s, t.elapsed()));
                for f in &s.report.failures {
                    eprintln!("failed: {}: {}", f.op, f.error);
                }
                *last = Some(Instant::now());
                let _ = std::io::stdout().flush();
                s.report.draining_destinations.len()
            }
            Err(SyncError::Refused(r)) => {
                eprintln!("refused: {r} (nothing was changed)");
                *last = Some(Instant::now());
                0
            }
            Err(e) => fail(e),
        }
    };
    let take = |cluster: &mut Cluster, msg: Msg, open: &mut usize, dirty: &mut bool| match msg {
        Msg::Event(kind, v) => match cluster.event(kind, &v) {
            Ok(()) => *dirty = true,
            Err(r) => eprintln!("refused: {r} (event ignored)"),
        },
        Msg::End(kind, err) => {
            *open -= 1;
            if let Some(e) = err {
                eprintln!("{kind} stream: {e}");
            }
        }
    };
    while open > 0 {
        let wait = match last_sync {
            Some(t) => (t + period).saturating_duration_since(Instant::now()),
            None => period,
        };
        match rx.recv_timeout(wait) {
            Ok(msg) => {
                take(&mut cluster, msg, &mut open, &mut dirty);
                // The rest of the burst, and whatever comes before the
                // minimum sync period is over.
                let earliest = last_sync.map_or(Instant::now(), |t| t + min_sync);
                loop {
                    while let Ok(msg) = rx.try_recv() {
                        take(&mut cluster, msg, &mut open, &mut dirty);
                    }
                    let now = Instant::now();
                    if now >= earliest {
                        break;
                    }
                    if let Ok(msg) = rx.recv_timeout(earliest - now) {
                        take(&mut cluster, msg, &mut open, &mut dirty);
                    }
                }
                if dirty {
                    draining = sync(&cluster, &mut n, &mut last_sync);
                    dirty = false;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                draining = sync(&cluster, &mut n, &mut last_sync);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    if dirty || n == 0 {
        draining = sync(&cluster, &mut n, &mut last_sync);
    }
    while draining > 0 {
        std::thread::sleep(period);
        draining = sync(&cluster, &mut n, &mut last_sync);
    }
    println!(
        "streams ended; {} Services; no real server draining",
        cluster.service_count()
    );
}
