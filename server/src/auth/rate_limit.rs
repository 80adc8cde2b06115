//! Login throttling: failed attempts counted per account and per client
//! address over a sliding window.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a failure count is kept for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

/// Failed-login counters.
pub struct LoginLimiter {
    window: Duration,
    per_account: usize,
    per_address: usize,
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl LoginLimiter {
    pub fn new(window: Duration, per_account: u32, per_address: u32) -> Self {
        LoginLimiter {
            window,
            per_account: per_account as usize,
            per_address: per_address as usize,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds)` when the account or the address must wait that long.
    pub fn check(&self, account: &str, address: IpAddr, now: Instant) -> Result<(), u64> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let keys = [
            (Key::Account(account.to_lowercase()), self.per_account),
            (Key::Address(address), self.per_address),
        ];
        let mut wait = Duration::ZERO;
        for (key, limit) in keys {
            if let Some(times) = failures.get_mut(&key) {
                prune(times, now, self.window);
                if times.len() >= limit.max(1)
                    && let Some(oldest) = times.front()
                {
                    wait = wait.max(self.window.saturating_sub(now.duration_since(*oldest)));
                }
            }
        }
        if wait.is_zero() { Ok(()) } else { Err(wait.as_secs().max(1)) }
    }

    /// Counts a failed attempt.
    pub fn record_failure(&self, account: &str, address: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for key in [Key::Account(account.to_lowercase()), Key::Address(address)] {
            let times = failures.entry(key).or_default();
            prune(times, now, self.window);
            times.push_back(now);
        }
        // Keep the map from growing without bound under a spray of names.
        if failures.len() > 100_000 {
            let window = self.window;
            failures.retain(|_, times| {
                prune(times, now, window);
                !times.is_empty()
            });
        }
    }

    /// Forgets the account's failures after a successful login.
    pub fn record_success(&self, account: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&Key::Account(account.to_lowercase()));
    }
}

fn prune(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times.front().is_some_and(|t| now.duration_since(*t) >= window) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_and_address_limits() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 2, 3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        assert!(limiter.check("alice", a, t0).is_ok());
        limiter.record_failure("alice", a, t0);
        limiter.record_failure("Alice", b, t0);
        // The account is locked from any address...
        let wait = limiter.check("alice", "10.0.0.3".parse().unwrap(), t0).unwrap_err();
        assert!((1..=60).contains(&wait));
        // ...and frees up after the window.
        let t1 = t0 + Duration::from_secs(61);
        assert!(limiter.check("alice", a, t1).is_ok());
        // The address limit counts failures across accounts.
        for name in ["bob", "carol", "erin"] {
            limiter.record_failure(name, a, t1);
        }
        assert!(limiter.check("dave", a, t1).is_err());
        assert!(limiter.check("dave", b, t1).is_ok());
        limiter.record_failure("alice", b, t1);
        limiter.record_failure("alice", b, t1);
        assert!(limiter.check("alice", b, t1).is_err());
        limiter.record_success("alice");
        assert!(limiter.check("alice", b, t1).is_ok());
    }
}
