//! The addresses other devices on this machine's networks can reach it at: what `upscale serve
//! --listen 0.0.0.0:PORT` prints for a phone, instead of 127.0.0.1, which is only this machine.

use std::net::{IpAddr, Ipv4Addr};

/// This machine's IPv4 addresses other than loopback, from its network interfaces (interfaces
/// that are down are left out), in the order the system lists them.
pub fn addresses() -> Vec<IpAddr> {
    let mut found = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list it allocates, freed below with
    // freeifaddrs; each entry's ifa_addr is null or points to a sockaddr whose family says its
    // type, and only AF_INET ones are read as sockaddr_in.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return found;
        }
        let mut cur = list;
        while !cur.is_null() {
            let ifa = &*cur;
            let up = ifa.ifa_flags & libc::IFF_UP as libc::c_uint != 0;
            let loopback = ifa.ifa_flags & libc::IFF_LOOPBACK as libc::c_uint != 0;
            if up && !loopback && !ifa.ifa_addr.is_null() && (*ifa.ifa_addr).sa_family as i32 == libc::AF_INET {
                let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                if !found.contains(&IpAddr::V4(ip)) {
                    found.push(IpAddr::V4(ip));
                }
            }
            cur = ifa.ifa_next;
        }
        libc::freeifaddrs(list);
    }
    found
}
