//! Where the dashboard listens: the loopback only, 127.0.0.1 and ::1 on the same port (a
//! browser may resolve `localhost` to either), a free one unless the user names it.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

/// How many free ports are tried for one that is free on both addresses.
const TRIES: usize = 20;

/// The listeners and their port. ::1 is left out on a machine without IPv6.
pub(crate) fn loopback(port: Option<u16>) -> io::Result<(Vec<TcpListener>, u16)> {
    match port {
        Some(port) => both(port),
        None => {
            let mut last = None;
            for _ in 0..TRIES {
                match both(0) {
                    // The port 127.0.0.1 was given is taken on ::1: try another.
                    Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some(e),
                    other => return other,
                }
            }
            Err(last.unwrap_or_else(|| io::Error::other("no free port")))
        }
    }
}

fn both(port: u16) -> io::Result<(Vec<TcpListener>, u16)> {
    let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    let port = v4.local_addr()?.port();
    let mut listeners = vec![v4];
    match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))) {
        Ok(v6) => listeners.push(v6),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
        // No IPv6 here (EADDRNOTAVAIL, EAFNOSUPPORT): 127.0.0.1 alone.
        Err(_) => {}
    }
    Ok((listeners, port))
}

#[cfg(test)]
mod tests {
    use super::loopback;

    #[test]
    fn both_loopbacks_on_one_port_and_nothing_else() {
        let (listeners, port) = loopback(None).unwrap();
        assert!(port > 0);
        for listener in &listeners {
            let addr = listener.local_addr().unwrap();
            assert!(addr.ip().is_loopback(), "{addr}");
            assert_eq!(addr.port(), port);
        }
    }

    #[test]
    fn a_named_port_in_use_is_an_error() {
        let (_held, port) = loopback(None).unwrap();
        assert_eq!(loopback(Some(port)).unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
    }
}
