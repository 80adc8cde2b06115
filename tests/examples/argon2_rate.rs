//! The ceiling of logins: bare argon2id verifications per second on this
//! machine, with the parameters the server uses (the argon2 crate's
//! defaults), one thread per core as the server's hashing threads run.
//! Usage: `argon2_rate [SECONDS]`; prints `PARAMS RATE`.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};

fn main() {
    let secs: f64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(4.0);
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default().hash_password(b"correct horse battery", &salt).unwrap().to_string();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = std::time::Instant::now();
    let done: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let parsed = PasswordHash::new(&hash).unwrap();
                    let mut n = 0;
                    while started.elapsed().as_secs_f64() < secs {
                        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let p = Params::default();
    println!(
        "argon2id_m={}KiB_t={}_p={}_{threads}_threads {:.1}",
        p.m_cost(),
        p.t_cost(),
        p.p_cost(),
        done as f64 / started.elapsed().as_secs_f64()
    );
}
