//! The client's address, for login throttling: the connection's peer, or what a trusted proxy
//! says in the configured header.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::app::{AppState, ClientAddressSource};

tokio::task_local! {
    /// The peer of the connection whose task is running.
    static PEER: SocketAddr;
}

/// Runs `connection` (the future serving one connection) with `peer` as the address every
/// request on it came from: set once per connection, where an extension in each request would
/// cost allocations in each.
pub fn peer_scope<F: Future>(peer: SocketAddr, connection: F) -> impl Future<Output = F::Output> {
    PEER.scope(peer, connection)
}

/// The client address, when it is known (a request driven without a socket has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        // axum's own server (`into_make_service_with_connect_info`) puts the peer in the
        // request; ours keeps it with the connection's task (see `peer_scope`).
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr)
            .or_else(|| PEER.try_with(|peer| *peer).ok())
            .map(|addr| addr.ip());
        let header = state
            .client_address
            .header
            .as_ref()
            .and_then(|name| parts.headers.get(name))
            .and_then(|value| value.to_str().ok());
        Ok(ClientAddr(client_address(
            &state.client_address,
            peer,
            header,
        )))
    }
}

// ANCHOR: client_address
/// The header counts only when the peer is a trusted proxy; then its last address is the one
/// that proxy saw connect (an `X-Forwarded-For` chain is appended to at each hop, and anything
/// before our own proxy's entry was written by the client).
pub fn client_address(
    source: &ClientAddressSource,
    peer: Option<IpAddr>,
    header: Option<&str>,
) -> Option<IpAddr> {
    let peer = peer?;
    if source.header.is_none() || !source.trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let said = header.and_then(|value| value.rsplit(',').next()?.trim().parse().ok());
    Some(said.unwrap_or(peer))
}
// ANCHOR_END: client_address

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderName;

    fn behind_proxy() -> ClientAddressSource {
        ClientAddressSource {
            header: Some(HeaderName::from_static("x-forwarded-for")),
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        }
    }

    #[test]
    fn the_header_is_believed_only_from_a_trusted_proxy() {
        let proxy = Some("127.0.0.1".parse().unwrap());
        let stranger = Some("203.0.113.9".parse().unwrap());
        let said = Some("198.51.100.7");
        let ip = |text: &str| Some(text.parse::<IpAddr>().unwrap());
        assert_eq!(
            client_address(&behind_proxy(), proxy, said),
            ip("198.51.100.7")
        );
        assert_eq!(client_address(&behind_proxy(), stranger, said), stranger);
        assert_eq!(
            client_address(&ClientAddressSource::default(), proxy, said),
            proxy
        );
        // A client-written prefix is ignored: the proxy appends the address it saw.
        assert_eq!(
            client_address(&behind_proxy(), proxy, Some("1.2.3.4, 198.51.100.7")),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(&behind_proxy(), proxy, Some("nonsense")),
            proxy
        );
        assert_eq!(client_address(&behind_proxy(), proxy, None), proxy);
        assert_eq!(client_address(&behind_proxy(), None, said), None);
    }
}
