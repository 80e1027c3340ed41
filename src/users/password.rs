//! Password hashing with argon2id.
//!
//! Hashing is slow on purpose, so it never runs on the async workers that answer other requests.
//! It runs on a few threads of its own (one fewer than the cores), at the lowest priority:
//! a flood of logins then queues for those threads and, when the CPU is contended, yields it to
//! the requests that do not hash, instead of taking every core from them.

use std::sync::{Arc, Mutex};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::{mpsc, oneshot};

/// Hashes waiting for a thread; beyond this, callers wait before they can even queue.
const QUEUE: usize = 256;

/// How much lower than the rest of the server hashing threads run (Unix nice levels).
const NICENESS: i32 = 19;

type Job = Box<dyn FnOnce() + Send>;

use super::UserError;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl PasswordCost {
    /// OWASP's recommendation for argon2id: 19 MiB, 2 passes, 1 lane.
    pub const RECOMMENDED: Self = Self {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// The cheapest argon2 allows. For tests only: it protects nothing.
    pub const INSECURE_FOR_TESTS: Self = Self {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
}

/// Hashes and verifies passwords.
#[derive(Clone)]
pub struct Passwords {
    params: Params,
    /// Verified against when the username is unknown, so that path costs one hash too.
    dummy_hash: Arc<str>,
    jobs: mpsc::Sender<Job>,
}

impl Passwords {
    /// Computes the dummy hash (one hash's worth of time), so call it once at start-up.
    pub fn new(cost: PasswordCost) -> Result<Self, UserError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| UserError::Hashing(e.to_string()))?;
        // Nobody knows this password: it only has to cost what a real check costs.
        let dummy_hash = hash_blocking(&params, &uuid::Uuid::new_v4().simple().to_string())?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (jobs, queue) = mpsc::channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..cores.saturating_sub(1).max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || run_hashing_thread(&queue))
                .map_err(|e| UserError::Hashing(e.to_string()))?;
        }
        Ok(Self {
            params,
            dummy_hash: dummy_hash.into(),
            jobs,
        })
    }

    /// Runs `work` on a hashing thread and waits for its result.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(work());
        });
        self.jobs.send(job).await.ok()?;
        result.await.ok()
    }

    /// An argon2id PHC string for `password`, with a fresh random salt.
    pub async fn hash(&self, password: &str) -> Result<String, UserError> {
        let params = self.params.clone();
        let password = password.to_owned();
        self.run(move || hash_blocking(&params, &password))
            .await
            .unwrap_or_else(|| Err(UserError::Hashing("the hashing threads stopped".into())))
    }

    /// Whether `password` matches `stored`; with no stored hash, checks the dummy one and says no.
    pub async fn verify(&self, password: &str, stored: Option<String>) -> bool {
        let known = stored.is_some();
        let hash: Arc<str> = stored.map_or_else(|| self.dummy_hash.clone(), Into::into);
        let password = password.to_owned();
        let matched = self.run(move || {
            Argon2::default()
                .verify_password(password.as_bytes(), &*hash)
                .is_ok()
        });
        matched.await.unwrap_or(false) && known
    }
}

/// A hashing thread: lowers its own priority, then takes jobs until the sender is gone.
fn run_hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_this_threads_priority();
    loop {
        let job = match queue.lock() {
            Ok(mut queue) => queue.blocking_recv(),
            Err(_) => None,
        };
        match job {
            Some(job) => job(),
            None => return,
        }
    }
}

/// On Linux, scheduling policy and nice value belong to the thread, so this leaves the rest of
/// the server alone. `SCHED_IDLE` makes the thread give way the moment a request handler wakes
/// (a merely niced thread keeps the core until its timeslice ends, which shows in tail latency);
/// the nice value is the fallback where that policy is refused.
#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // SAFETY: the only pointer is to a local, initialised sched_param; failing only leaves the
    // priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::pid_t;
        let idle = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(tid, libc::SCHED_IDLE, &idle) != 0 {
            let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICENESS);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

fn hash_blocking(params: &Params, password: &str) -> Result<String, UserError> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| UserError::Hashing(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passwords() -> Passwords {
        Passwords::new(PasswordCost::INSECURE_FOR_TESTS).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let passwords = passwords();
        let hash = passwords.hash("123").await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(passwords.verify("123", Some(hash.clone())).await);
        assert!(!passwords.verify("124", Some(hash)).await);
    }

    #[tokio::test]
    async fn two_hashes_of_one_password_differ_by_salt() {
        let passwords = passwords();
        assert_ne!(
            passwords.hash("x").await.unwrap(),
            passwords.hash("x").await.unwrap()
        );
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        assert!(!passwords().verify("anything", None).await);
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_a_mismatch_not_a_panic() {
        assert!(!passwords().verify("123", Some("not a hash".into())).await);
    }
}
