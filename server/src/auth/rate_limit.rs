//! Login throttling: attempts counted per account and per client address
//! over a sliding window, reserved before the password is checked and
//! given back only when it was right.

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
    limits: Mutex<Limits>,
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

/// The window and the attempts allowed in it (changeable while running).
#[derive(Clone, Copy, Debug)]
struct Limits {
    window: Duration,
    per_account: usize,
    per_address: usize,
}

impl LoginLimiter {
    pub fn new(window: Duration, per_account: u32, per_address: u32) -> Self {
        LoginLimiter {
            limits: Mutex::new(Limits {
                window,
                per_account: per_account as usize,
                per_address: per_address as usize,
            }),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Changes the window and the limits (a settings change, live).
    pub fn set_limits(&self, window: Duration, per_account: u32, per_address: u32) {
        *self.limits.lock().unwrap_or_else(|p| p.into_inner()) =
            Limits { window, per_account: per_account as usize, per_address: per_address as usize };
    }

    fn limits(&self) -> Limits {
        *self.limits.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves one attempt for `account` from `address` before the
    /// password is checked: it counts as a failure until
    /// [`LoginLimiter::settle_success`] says otherwise, so attempts sent in
    /// parallel are counted as they arrive. `Err(seconds)` when the account
    /// or the address must wait that long (nothing is reserved then).
    pub fn reserve(&self, account: &str, address: IpAddr, now: Instant) -> Result<(), u64> {
        let limits = self.limits();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let keys = [
            (Key::Account(account.to_string()), limits.per_account),
            (Key::Address(address), limits.per_address),
        ];
        let mut wait = Duration::ZERO;
        for (key, limit) in &keys {
            let times = failures.entry(key.clone()).or_default();
            prune(times, now, limits.window);
            if times.len() >= (*limit).max(1)
                && let Some(oldest) = times.front()
            {
                wait = wait.max(limits.window.saturating_sub(now.duration_since(*oldest)));
            }
        }
        if !wait.is_zero() {
            return Err(wait.as_secs().max(1));
        }
        for (key, _) in keys {
            failures.entry(key).or_default().push_back(now);
        }
        // Keep the map from growing without bound under a spray of names.
        if failures.len() > 100_000 {
            let window = limits.window;
            failures.retain(|_, times| {
                prune(times, now, window);
                !times.is_empty()
            });
        }
        Ok(())
    }

    /// The reserved attempt succeeded: the account's failures are
    /// forgotten and the address's reservation is returned.
    pub fn settle_success(&self, account: &str, address: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&Key::Account(account.to_string()));
        if let Some(times) = failures.get_mut(&Key::Address(address)) {
            times.pop_back();
        }
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
    fn attempts_count_when_they_arrive() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 2, 3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        // Two in flight for one account: the third waits, whatever the address.
        assert!(limiter.reserve("u1", a, t0).is_ok());
        assert!(limiter.reserve("u1", b, t0).is_ok());
        let wait = limiter.reserve("u1", "10.0.0.3".parse().unwrap(), t0).unwrap_err();
        assert!((1..=60).contains(&wait));
        // ...and frees up after the window.
        let t1 = t0 + Duration::from_secs(61);
        assert!(limiter.reserve("u1", a, t1).is_ok());
        limiter.settle_success("u1", a);
        // The address limit counts attempts across accounts.
        for name in ["bob", "carol", "erin"] {
            assert!(limiter.reserve(name, a, t1).is_ok());
        }
        assert!(limiter.reserve("dave", a, t1).is_err());
        assert!(limiter.reserve("dave", b, t1).is_ok());
        // A success clears the account and returns the address's slot.
        limiter.settle_success("dave", b);
        assert!(limiter.reserve("dave", b, t1).is_ok());
    }
}
