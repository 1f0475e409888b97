//! Per-client-address limits on public requests (submissions, tracking look-ups): `governor`'s
//! keyed GCRA limiter — a burst of `per_minute`, refilled at that rate — with the table of
//! addresses pruned when it grows past 10,000.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How many addresses are tracked before stale ones are dropped.
const MAX_TRACKED: usize = 10_000;

pub struct Limiter {
    inner: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Limiter {
    /// `per_minute == 0` turns the limit off.
    pub fn new(per_minute: u32) -> Limiter {
        Limiter {
            inner: NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    /// Counts one request from `ip`; false when it is over the limit.
    pub fn check(&self, ip: IpAddr) -> bool {
        let Some(l) = &self.inner else {
            return true;
        };
        if l.len() > MAX_TRACKED {
            l.retain_recent();
        }
        l.check_key(&ip).is_ok()
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

    #[test]
    fn many_addresses_each_get_their_own_limit() {
        let l = Limiter::new(1);
        for i in 0..(MAX_TRACKED as u32 + 500) {
            assert!(l.check(IpAddr::from(i.to_be_bytes())));
        }
        assert!(!l.check(IpAddr::from(7u32.to_be_bytes())), "still limited");
    }
}
