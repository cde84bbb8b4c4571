//! Where the server may send webhooks (issue 17): never into the operator's own network.
//! A destination is refused when its address is loopback, private (RFC 1918, CGNAT, ULA),
//! link-local (cloud metadata at 169.254.169.254), multicast, unspecified, broadcast,
//! documentation, benchmarking or otherwise reserved — also behind IPv4-mapped, NAT64 and
//! 6to4 IPv6 forms — and when its name is a metadata or internal name. The URL parser
//! already reads `2130706433`, `0x7f.1` and `0177.0.0.1` as 127.0.0.1, so integer forms are
//! caught as addresses. Checked at registration and again at every attempt: names are
//! resolved by [`GuardedResolver`], which answers only checked addresses, so the connection
//! goes to an address that passed (no DNS rebinding between check and connect).

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a destination is refused; `code()` is the problem's stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Loopback,
    Private,
    LinkLocal,
    Multicast,
    Unspecified,
    Broadcast,
    Documentation,
    Reserved,
    /// A cloud metadata service's name.
    Metadata,
    /// A name that only means something inside a network (`localhost`, `*.internal`,
    /// `*.local`, a name without a dot).
    InternalName,
}

impl Refused {
    pub fn code(self) -> &'static str {
        match self {
            Refused::Loopback => "webhook_destination_loopback",
            Refused::Private => "webhook_destination_private",
            Refused::LinkLocal => "webhook_destination_link_local",
            Refused::Multicast => "webhook_destination_multicast",
            Refused::Unspecified => "webhook_destination_unspecified",
            Refused::Broadcast => "webhook_destination_broadcast",
            Refused::Documentation => "webhook_destination_documentation",
            Refused::Reserved => "webhook_destination_reserved",
            Refused::Metadata => "webhook_destination_metadata",
            Refused::InternalName => "webhook_destination_internal_name",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Refused::Loopback => "a loopback address",
            Refused::Private => "a private network address",
            Refused::LinkLocal => "a link-local address (where cloud metadata services live)",
            Refused::Multicast => "a multicast address",
            Refused::Unspecified => "the unspecified address",
            Refused::Broadcast => "the broadcast address",
            Refused::Documentation => "a documentation or benchmarking address",
            Refused::Reserved => "a reserved address",
            Refused::Metadata => "a cloud metadata service",
            Refused::InternalName => "a name internal to a network",
        }
    }
}

/// Names of cloud metadata services (the addresses behind them are refused anyway).
const METADATA_NAMES: &[&str] = &[
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "metadata.tencentyun.com",
    "metadata.aliyun.com",
    "metadata.azure.com",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.platformequinix.com",
];

/// Suffixes of names that resolve only inside a network.
const INTERNAL_SUFFIXES: &[&str] = &[
    ".internal",
    ".local",
    ".localhost",
    ".localdomain",
    ".home.arpa",
    ".lan",
    ".intranet",
    ".corp",
];

fn in_v4(ip: Ipv4Addr, net: [u8; 4], bits: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], bits: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

/// Why `ip` may not be a webhook destination, if it may not.
pub fn check_v4(ip: Ipv4Addr) -> Option<Refused> {
    use Refused::*;
    const TABLE: &[([u8; 4], u32, Refused)] = &[
        ([255, 255, 255, 255], 32, Broadcast),
        ([0, 0, 0, 0], 8, Unspecified),
        ([10, 0, 0, 0], 8, Private),
        ([100, 64, 0, 0], 10, Private), // CGNAT, Alibaba's metadata at 100.100.100.200
        ([127, 0, 0, 0], 8, Loopback),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([172, 16, 0, 0], 12, Private),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Documentation),
        ([192, 88, 99, 0], 24, Reserved),
        ([192, 168, 0, 0], 16, Private),
        ([198, 18, 0, 0], 15, Documentation), // benchmarking
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([224, 0, 0, 0], 4, Multicast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    TABLE
        .iter()
        .find(|(net, bits, _)| in_v4(ip, *net, *bits))
        .map(|(_, _, why)| *why)
}

/// Why `ip` may not be a webhook destination, if it may not; IPv4 embedded in IPv6
/// (mapped, compatible, NAT64, 6to4) is judged as the IPv4 address it reaches.
pub fn check_v6(ip: Ipv6Addr) -> Option<Refused> {
    use Refused::*;
    if ip.is_unspecified() {
        return Some(Unspecified);
    }
    if ip.is_loopback() {
        return Some(Loopback);
    }
    let bits = u128::from(ip);
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if in_v6(ip, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96)
        || in_v6(ip, [0; 8], 96)
        || in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96)
    {
        return check_v4(low32);
    }
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        let embedded = Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32);
        return check_v4(embedded);
    }
    const TABLE: &[([u16; 8], u32, Refused)] = &[
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, Private),
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, Reserved),
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, Documentation),
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, Reserved),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Documentation),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, Private),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, LinkLocal),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, Private),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Multicast),
    ];
    TABLE
        .iter()
        .find(|(net, bits, _)| in_v6(ip, *net, *bits))
        .map(|(_, _, why)| *why)
}

pub fn check_ip(ip: IpAddr) -> Option<Refused> {
    match ip {
        IpAddr::V4(v4) => check_v4(v4),
        IpAddr::V6(v6) => check_v6(v6),
    }
}

/// Whether `host` (a name, lower case as the URL parser leaves it) is `localhost` or under it.
pub fn is_localhost(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host == "localhost" || host.ends_with(".localhost")
}

/// Why the host name `name` may not be a webhook destination, if it may not.
pub fn check_name(name: &str) -> Option<Refused> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if METADATA_NAMES.contains(&name.as_str()) {
        return Some(Refused::Metadata);
    }
    if is_localhost(&name) {
        return Some(Refused::Loopback);
    }
    if !name.contains('.') || INTERNAL_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return Some(Refused::InternalName);
    }
    None
}

/// Why the URL's host may not be a webhook destination, if it may not. With
/// `loopback_allowed` (the sandbox), loopback addresses and `localhost` pass.
pub fn check_host(host: &url::Host<&str>, loopback_allowed: bool) -> Option<Refused> {
    let refused = match host {
        url::Host::Domain(name) => check_name(name),
        url::Host::Ipv4(ip) => check_v4(*ip),
        url::Host::Ipv6(ip) => check_v6(*ip),
    };
    refused.filter(|r| !(loopback_allowed && *r == Refused::Loopback))
}

type Lookup =
    dyn Fn(String) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>> + Send + Sync;

/// A DNS resolver for the webhook client that answers only addresses [`check_ip`] lets
/// through (and loopback in the sandbox); a name with no such address fails to connect.
#[derive(Clone)]
pub struct GuardedResolver {
    lookup: Arc<Lookup>,
    loopback_allowed: bool,
}

impl GuardedResolver {
    /// Resolving with the system resolver.
    pub fn system(loopback_allowed: bool) -> Self {
        Self::with_lookup(loopback_allowed, |name| {
            Box::pin(async move {
                Ok(tokio::net::lookup_host((name.as_str(), 0))
                    .await?
                    .map(|a| a.ip())
                    .collect())
            })
        })
    }

    /// Resolving with `lookup` (tests map names to addresses with it).
    pub fn with_lookup(
        loopback_allowed: bool,
        lookup: impl Fn(String) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self {
            lookup: Arc::new(lookup),
            loopback_allowed,
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (lookup, loopback_allowed) = (self.lookup.clone(), self.loopback_allowed);
        let name = name.as_str().to_owned();
        Box::pin(async move {
            if let Some(why) = check_name(&name)
                .filter(|r| !(loopback_allowed && *r == Refused::Loopback && is_localhost(&name)))
            {
                return Err(format!("{name} is {}: refused", why.describe()).into());
            }
            let found = lookup(name.clone()).await?;
            let mut refusal = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|ip| match check_ip(*ip) {
                    None => true,
                    Some(Refused::Loopback) if loopback_allowed => true,
                    Some(why) => {
                        refusal = Some(why);
                        false
                    }
                })
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if allowed.is_empty() {
                let why = refusal.map_or("no address", Refused::describe);
                return Err(format!("{name} resolves to {why}: refused").into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_ranges_are_refused_and_public_ones_pass() {
        let v4 = |s: &str| check_v4(s.parse().unwrap());
        let v6 = |s: &str| check_v6(s.parse().unwrap());
        assert_eq!(v4("169.254.169.254"), Some(Refused::LinkLocal));
        assert_eq!(v4("10.0.0.1"), Some(Refused::Private));
        assert_eq!(v4("172.31.255.255"), Some(Refused::Private));
        assert_eq!(v4("192.168.1.1"), Some(Refused::Private));
        assert_eq!(v4("100.100.100.200"), Some(Refused::Private));
        assert_eq!(v4("127.0.0.1"), Some(Refused::Loopback));
        assert_eq!(v4("0.0.0.0"), Some(Refused::Unspecified));
        assert_eq!(v4("255.255.255.255"), Some(Refused::Broadcast));
        assert_eq!(v4("224.0.0.1"), Some(Refused::Multicast));
        assert_eq!(v4("192.0.2.7"), Some(Refused::Documentation));
        assert_eq!(v4("198.19.0.1"), Some(Refused::Documentation));
        assert_eq!(v4("240.0.0.1"), Some(Refused::Reserved));
        assert_eq!(v4("8.8.8.8"), None);
        assert_eq!(v4("172.32.0.1"), None);
        assert_eq!(v4("100.128.0.1"), None);
        assert_eq!(v6("::1"), Some(Refused::Loopback));
        assert_eq!(v6("::"), Some(Refused::Unspecified));
        assert_eq!(v6("fd00::1"), Some(Refused::Private));
        assert_eq!(v6("fe80::1"), Some(Refused::LinkLocal));
        assert_eq!(v6("ff02::1"), Some(Refused::Multicast));
        assert_eq!(v6("2001:db8::1"), Some(Refused::Documentation));
        assert_eq!(v6("::ffff:127.0.0.1"), Some(Refused::Loopback));
        assert_eq!(v6("::ffff:169.254.169.254"), Some(Refused::LinkLocal));
        assert_eq!(v6("64:ff9b::10.0.0.1"), Some(Refused::Private));
        assert_eq!(v6("2002:a00:1::"), Some(Refused::Private)); // 6to4 of 10.0.0.1
        assert_eq!(v6("::ffff:8.8.8.8"), None);
        assert_eq!(v6("64:ff9b::8.8.8.8"), None);
        assert_eq!(v6("2400:3200::1"), None);
    }

    #[test]
    fn metadata_and_internal_names_are_refused() {
        assert_eq!(
            check_name("metadata.google.internal"),
            Some(Refused::Metadata)
        );
        assert_eq!(
            check_name("METADATA.tencentyun.com."),
            Some(Refused::Metadata)
        );
        assert_eq!(check_name("localhost"), Some(Refused::Loopback));
        assert_eq!(check_name("db.internal"), Some(Refused::InternalName));
        assert_eq!(check_name("redis"), Some(Refused::InternalName));
        assert_eq!(check_name("isv.example.com"), None);
    }

    fn mapped(to: &'static str) -> GuardedResolver {
        GuardedResolver::with_lookup(false, move |_| {
            Box::pin(async move { Ok(vec![to.parse().unwrap()]) })
        })
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_at_connect_time() {
        let name: Name = "rebind.example.com".parse().unwrap();
        let err = match mapped("127.0.0.1").resolve(name).await {
            Ok(_) => panic!("resolved to loopback"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("loopback"), "{err}");
        let name: Name = "isv.example.com".parse().unwrap();
        let ok: Vec<_> = mapped("8.8.8.8").resolve(name).await.unwrap().collect();
        assert_eq!(ok, vec!["8.8.8.8:0".parse::<SocketAddr>().unwrap()]);
    }
}
