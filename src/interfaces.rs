//! The addresses a room can reach this machine at. A server listening on every interface
//! (`0.0.0.0` or `::`) is reached through one of the machine's own addresses, never through
//! `0.0.0.0`, so the banner prints those: the instructor writes one on the board as it is.

use std::net::{IpAddr, SocketAddr};

/// Where clients can reach a listener bound to `bound`, given the machine's interface
/// addresses: the bound address itself when it is a specific one; for a wildcard, every
/// interface address other machines can use (loopback left out; IPv6 link-local too, since a
/// URL for it needs the interface's name), IPv4 first. Empty when there is none.
pub fn reachable(bound: SocketAddr, interfaces: &[IpAddr]) -> Vec<SocketAddr> {
    if !bound.ip().is_unspecified() {
        return vec![bound];
    }
    let wanted = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_unspecified(),
        // `::` also takes IPv4 connections on Linux and macOS (dual stack); `0.0.0.0` no IPv6.
        IpAddr::V6(v6) => {
            bound.is_ipv6()
                && !v6.is_loopback()
                && !v6.is_unspecified()
                && !v6.is_unicast_link_local()
        }
    };
    let mut addresses: Vec<IpAddr> = interfaces.iter().copied().filter(wanted).collect();
    // A self-assigned 169.254.x.x address usually means "no network": last, not first.
    addresses.sort_by_key(|ip| {
        (
            ip.is_ipv6(),
            matches!(ip, IpAddr::V4(v4) if v4.is_link_local()),
        )
    });
    addresses.dedup();
    addresses
        .into_iter()
        .map(|ip| SocketAddr::new(ip, bound.port()))
        .collect()
}

/// The addresses of this machine's interfaces that are up (empty if they cannot be read).
#[cfg(unix)]
pub fn interface_addresses() -> Vec<IpAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we own until freeifaddrs.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Vec::new();
    }
    let mut addresses = Vec::new();
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: every node of the list is valid until freeifaddrs; `ifa_addr` may be null,
        // and when it is not, its family says which sockaddr it really is.
        let entry = unsafe { &*cursor };
        let up = entry.ifa_flags & (libc::IFF_UP as libc::c_uint) != 0;
        if up && !entry.ifa_addr.is_null() {
            match i32::from(unsafe { (*entry.ifa_addr).sa_family }) {
                libc::AF_INET => {
                    let address = unsafe { &*entry.ifa_addr.cast::<libc::sockaddr_in>() };
                    let bits = u32::from_be(address.sin_addr.s_addr);
                    addresses.push(IpAddr::V4(Ipv4Addr::from(bits)));
                }
                libc::AF_INET6 => {
                    let address = unsafe { &*entry.ifa_addr.cast::<libc::sockaddr_in6>() };
                    addresses.push(IpAddr::V6(Ipv6Addr::from(address.sin6_addr.s6_addr)));
                }
                _ => {}
            }
        }
        cursor = entry.ifa_next;
    }
    // SAFETY: `list` came from getifaddrs and is freed once; nothing points into it now.
    unsafe { libc::freeifaddrs(list) };
    addresses
}

#[cfg(not(unix))]
pub fn interface_addresses() -> Vec<IpAddr> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|ip| ip.parse().unwrap()).collect()
    }

    fn urls(addresses: Vec<SocketAddr>) -> Vec<String> {
        addresses.iter().map(|a| format!("http://{a}")).collect()
    }

    const MACHINE: &[&str] = &[
        "127.0.0.1",
        "::1",
        "169.254.3.4",
        "192.168.1.20",
        "fe80::1c2b:3aff:fe4d:5e6f",
        "2001:db8::20",
        "10.8.0.2",
    ];

    #[test]
    fn every_interface_but_loopback_is_listed_for_0_0_0_0() {
        let bound = "0.0.0.0:8000".parse().unwrap();
        assert_eq!(
            urls(reachable(bound, &ips(MACHINE))),
            [
                "http://192.168.1.20:8000",
                "http://10.8.0.2:8000",
                "http://169.254.3.4:8000"
            ]
        );
    }

    #[test]
    fn a_wildcard_ipv6_listener_also_lists_global_ipv6_addresses_after_ipv4() {
        let bound = "[::]:8000".parse().unwrap();
        assert_eq!(
            urls(reachable(bound, &ips(MACHINE))),
            [
                "http://192.168.1.20:8000",
                "http://10.8.0.2:8000",
                "http://169.254.3.4:8000",
                "http://[2001:db8::20]:8000"
            ]
        );
    }

    #[test]
    fn a_specific_address_is_printed_as_it_is() {
        let bound = "127.0.0.1:8000".parse().unwrap();
        assert_eq!(
            urls(reachable(bound, &ips(MACHINE))),
            ["http://127.0.0.1:8000"]
        );
    }

    #[test]
    fn a_machine_with_only_loopback_has_no_address_for_the_room() {
        let bound = "0.0.0.0:8000".parse().unwrap();
        assert!(reachable(bound, &ips(&["127.0.0.1", "::1"])).is_empty());
    }

    #[test]
    fn this_machine_has_a_loopback_interface_to_read() {
        let mine = interface_addresses();
        assert!(mine.iter().any(IpAddr::is_loopback), "{mine:?}");
    }
}
