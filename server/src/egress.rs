//! Outbound requests on a user's behalf (feeds; later the agent browser):
//! which addresses they may reach, checked after name resolution, and a
//! client that connects to exactly the addresses that were checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::error::{Error, Result};

/// Whether an address is on the public internet: not loopback, private,
/// link-local, shared (CGNAT), multicast, broadcast, reserved, a
/// documentation or benchmarking range, or a cloud metadata address. IPv6
/// addresses that embed an IPv4 one (mapped, NAT64, 6to4) are judged by it.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0                                  // "this network"
        || a == 10                                        // private
        || a == 127                                       // loopback
        || (a == 100 && (64..128).contains(&b))           // shared address space (CGNAT)
        || (a == 169 && b == 254)                         // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))            // private
        || (a == 192 && b == 0 && c == 0)                 // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)                 // documentation
        || (a == 192 && b == 88 && c == 99)               // 6to4 relay anycast
        || (a == 192 && b == 168)                         // private
        || (a == 198 && (b == 18 || b == 19))             // benchmarking
        || (a == 198 && b == 51 && c == 100)              // documentation
        || (a == 203 && b == 0 && c == 113)               // documentation
        || a >= 224; // multicast, reserved, broadcast
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        // NAT64: the IPv4 address in the last 32 bits.
        return is_public_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
    }
    if s[0] == 0x2002 {
        // 6to4: the IPv4 address in bits 16..48.
        return is_public_v4(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || s[0..6] == [0, 0, 0, 0, 0, 0]   // IPv4-compatible (deprecated)
        || (s[0] & 0xfe00) == 0xfc00        // unique local (incl. fd00:ec2::254, metadata)
        || (s[0] & 0xffc0) == 0xfe80        // link-local
        || (s[0] & 0xffc0) == 0xfec0        // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00        // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]); // discard-only
    !refused
}

/// The address policy of outbound requests.
#[derive(Clone, Debug, Default)]
pub struct Egress {
    /// `host` or `host:port` entries (lower case) whose addresses are not
    /// checked: the operator's own services on private addresses.
    allow: Vec<String>,
}

/// How long resolving a name may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

impl Egress {
    pub fn new(allow_hosts: &[String]) -> Egress {
        Egress {
            allow: allow_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    fn allowed(&self, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let with_port = format!("{host}:{port}");
        let bracketed = format!("[{host}]:{port}");
        self.allow.iter().any(|a| {
            let a = a.as_str();
            a == host
                || a == with_port
                || a == bracketed
                || a.trim_start_matches('[').trim_end_matches(']') == host
        })
    }

    /// Checks a URL and resolves its host to the addresses a request may
    /// connect to. Errors: 400 for a scheme other than `http`/`https` or no
    /// host; 403 when any address the host stands for is not public (and
    /// the host is not allowed); 502 when the name does not resolve.
    pub async fn resolve(&self, url: &Url) -> Result<Vec<SocketAddr>> {
        self.lookup(url, true).await
    }

    /// [`Egress::resolve`], with the check of the addresses only when
    /// `check_public` (an administrator can let the agent browser reach
    /// private addresses).
    pub async fn lookup(&self, url: &Url, check_public: bool) -> Result<Vec<SocketAddr>> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::BadRequest("the URL must be http or https".into()));
        }
        let port = url.port_or_known_default().unwrap_or(80);
        let (name, literal) = match url.host() {
            Some(url::Host::Domain(d)) => (d.to_string(), None),
            Some(url::Host::Ipv4(ip)) => (ip.to_string(), Some(IpAddr::V4(ip))),
            Some(url::Host::Ipv6(ip)) => (ip.to_string(), Some(IpAddr::V6(ip))),
            None => return Err(Error::BadRequest("the URL has no host".into())),
        };
        let allowed = !check_public || self.allowed(&name, port);
        let addrs: Vec<SocketAddr> = match literal {
            Some(ip) => vec![SocketAddr::new(ip, port)],
            None => {
                let lookup = tokio::net::lookup_host((name.as_str(), port));
                match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                    Ok(Ok(found)) => found.collect(),
                    _ => Vec::new(),
                }
            }
        };
        if addrs.is_empty() {
            return Err(Error::Upstream(format!("the host {name} could not be resolved")));
        }
        if !allowed && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(Error::Forbidden(format!(
                "refused: {name} is at {}, which is not a public address",
                bad.ip()
            )));
        }
        Ok(addrs)
    }

    /// A client for one request to `url` that connects only to `addrs` (the
    /// checked ones: no second lookup), follows no redirect and uses no
    /// proxy.
    pub fn pinned_client(
        &self,
        url: &Url,
        addrs: Vec<SocketAddr>,
        timeout: Duration,
    ) -> Result<reqwest::Client> {
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("oqto/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Pinned(addrs.clone()));
        let builder = match url.host_str() {
            Some(host) => builder.resolve_to_addrs(host, &addrs),
            None => builder,
        };
        builder.build().map_err(|e| Error::Internal(anyhow::Error::new(e).context("building an HTTP client")))
    }
}

/// A resolver that answers every name with the checked addresses, so that
/// nothing the client does can trigger a lookup of its own.
struct Pinned(Vec<SocketAddr>);

impl Resolve for Pinned {
    fn resolve(&self, _name: Name) -> Resolving {
        let addrs = self.0.clone();
        Box::pin(async move { Ok(Box::new(addrs.into_iter()) as Addrs) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for refused in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(refused.parse().unwrap()), "{refused} counted as public");
        }
        for public in ["1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8", "100.128.0.1"] {
            assert!(is_public(public.parse().unwrap()), "{public} counted as private");
        }
    }

    #[test]
    fn allowed_hosts_match_with_or_without_their_port() {
        let egress = Egress::new(&["127.0.0.1:8080".into(), "Intranet.example".into(), "[::1]:9000".into()]);
        assert!(egress.allowed("127.0.0.1", 8080));
        assert!(!egress.allowed("127.0.0.1", 8081));
        assert!(egress.allowed("intranet.example", 443));
        assert!(egress.allowed("[::1]", 9000));
        assert!(!egress.allowed("::1", 9001));
    }
}
