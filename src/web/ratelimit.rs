//! Per-client-address limit on public submissions: a fixed one-minute window per address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

pub struct Limiter {
    per_minute: u32,
    start: Instant,
    windows: Mutex<HashMap<IpAddr, (u64, u32)>>,
}

impl Limiter {
    /// `per_minute == 0` turns the limit off.
    pub fn new(per_minute: u32) -> Limiter {
        Limiter {
            per_minute,
            start: Instant::now(),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `ip`; false when it is over the limit.
    pub fn check(&self, ip: IpAddr) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let minute = self.start.elapsed().as_secs() / 60;
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if w.len() > 10_000 {
            w.retain(|_, (m, _)| *m == minute);
        }
        let e = w.entry(ip).or_insert((minute, 0));
        if e.0 != minute {
            *e = (minute, 0);
        }
        e.1 += 1;
        e.1 <= self.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_zero_is_off() {
        let l = Limiter::new(2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(l.check(a) && l.check(a));
        assert!(!l.check(a));
        assert!(l.check(b));
        let off = Limiter::new(0);
        assert!((0..100).all(|_| off.check(a)));
    }
}
