//! Adds one destination (real server) to a virtual service.
mod common;

use common::{Args, die};
use lvs::{Destination, Forwarding, Ipvs, Tunnel};

const USAGE: &str = "\
add_destination — add a destination (real server) to a virtual service

usage: add_destination [--weight N] [--method masq|route|tunnel] SERVICE DEST_ADDR:PORT
  SERVICE is tcp|udp|sctp ADDR:PORT, or fwmark MARK [--ipv6]
  --weight N     0 to 2147483647 (default 1); 0 takes no new connections
  --method M     masq (NAT, default), route (direct routing), tunnel (IP-in-IP)

example: add_destination tcp 10.96.0.10:8080 10.244.1.5:80";

fn main() {
    let mut args = Args::new(USAGE);
    let weight: u32 = args.value("--weight", 1);
    let method: String = args.value("--method", "masq".to_string());
    let service = args.service_id();
    let addr: std::net::SocketAddr = args.positional("DEST_ADDR:PORT");
    args.done();
    let forwarding = match method.as_str() {
        "masq" => Forwarding::Masquerade,
        "route" => Forwarding::DirectRouting,
        "tunnel" => Forwarding::Tunnel(Tunnel::ipip()),
        other => args.fail(&format!("unknown method {other:?}")),
    };
    let dest = Destination::new(addr)
        .with_forwarding(forwarding)
        .with_weight(weight);
    let ipvs = Ipvs::open().unwrap_or_else(|e| die("opening IPVS", e));
    ipvs.add_destination(&service, &dest)
        .unwrap_or_else(|e| die(&format!("adding {addr} to {service}"), e));
    println!("added {addr} to {service}");
}
