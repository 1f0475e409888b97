//! The HTTP/1 server loop: every connection bounded in number and in time, so the public edge
//! holds without a reverse proxy in front (slowloris, idle floods, trickled bodies).
//!
//! - at most `max_connections` open, and `max_connections_per_address` from one client address;
//!   a connection over either cap is closed at once, before anything is read from it;
//! - a request's headers must arrive within `header_timeout_secs`, and a kept-alive
//!   connection that sends no next request within that time is closed;
//! - a request body may pause at most `body_idle_timeout_secs` (tower-http's
//!   `RequestBodyTimeoutLayer`), and a whole request may take `request_timeout_secs`
//!   (`TimeoutLayer`, answered 408) — both layered on the router in `web::router`;
//! - headers are capped at 64 KiB (hyper's read buffer).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Connection limits and timeouts of the listener.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    /// `None`: no per-address cap (behind a proxy every connection comes from it).
    pub max_per_address: Option<usize>,
    pub header_timeout: Duration,
}

impl Limits {
    pub fn from_config(web: &crate::config::WebConfig) -> Limits {
        Limits {
            max_connections: web.max_connections,
            max_per_address: (!web.trust_forwarded_for).then_some(web.max_connections_per_address),
            header_timeout: Duration::from_secs(web.header_timeout_secs),
        }
    }
}

/// Open connections per client address.
#[derive(Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

/// One counted connection of an address; uncounted when dropped.
struct AddressSlot {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    fn enter(table: &Arc<PerAddress>, ip: IpAddr, max: Option<usize>) -> Option<AddressSlot> {
        let mut m = table.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_insert(0);
        if max.is_some_and(|max| *n >= max) {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            table: table.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut m = self.table.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown`, then lets open requests finish (up to 10 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    metrics: Arc<dyn Fn(ConnEvent) + Send + Sync>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::default());
    let tracker = TaskTracker::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_buf_size(64 * 1024);
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: wait a
                    // little instead of spinning, and keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            metrics(ConnEvent::RefusedFull);
            drop(stream);
            continue;
        };
        let Some(slot) = PerAddress::enter(&per_address, peer.ip(), limits.max_per_address) else {
            metrics(ConnEvent::RefusedAddress);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let svc = app
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req
            });
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
        let stop = shutdown.clone();
        let metrics = metrics.clone();
        tracker.spawn(async move {
            let _held = (permit, slot);
            metrics(ConnEvent::Opened);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(10), conn).await;
                }
            }
            metrics(ConnEvent::Closed);
        });
    }
    tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(11), tracker.wait()).await;
    Ok(())
}

/// What the listener reports to `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnEvent {
    Opened,
    Closed,
    RefusedFull,
    RefusedAddress,
}

/// Raises the soft limit of open files to the hard limit, so the connection cap, not the
/// process limit, decides when connections are refused. Returns the soft limit in force.
pub fn raise_fd_limit() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return None;
        }
        if r.rlim_cur < r.rlim_max {
            let want = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                r.rlim_cur = r.rlim_max;
            }
        }
    }
    Some(r.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_slots_are_counted_and_returned() {
        let t = Arc::new(PerAddress::default());
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let s1 = PerAddress::enter(&t, a, Some(2)).unwrap();
        let _s2 = PerAddress::enter(&t, a, Some(2)).unwrap();
        assert!(PerAddress::enter(&t, a, Some(2)).is_none());
        assert!(PerAddress::enter(&t, b, Some(2)).is_some());
        drop(s1);
        assert!(PerAddress::enter(&t, a, Some(2)).is_some());
        assert!(PerAddress::enter(&t, a, None).is_some());
    }
}
