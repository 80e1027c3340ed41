//! Password hashing with argon2id.
//!
//! Hashing is slow on purpose, so it never runs on the async workers that answer other requests.
//! It runs on a few threads of its own (one fewer than the cores), at the lowest priority:
//! a flood of logins then queues for those threads and, when the CPU is contended, yields it to
//! the requests that do not hash, instead of taking every core from them.
//!
//! Each hashing thread keeps its argon2 working memory (19 MiB with the recommended cost) and
//! reuses it for every hash: a flood of logins holds one such block per thread, instead of
//! allocating one per hash and leaving the allocator to keep what it freed.

use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordHash, Version};
use tokio::sync::{mpsc, oneshot};

/// Hashes waiting for a thread; beyond this, callers wait before they can even queue.
const QUEUE: usize = 256;

/// How much lower than the rest of the server hashing threads run (Unix nice levels).
const NICENESS: i32 = 19;

/// Work for a hashing thread, given that thread's reusable argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// The length of our hashes' salt and output, in bytes (argon2's and OWASP's usual sizes).
const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;

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
    /// Hashes queued or running, for `/metrics`.
    in_flight: Arc<std::sync::atomic::AtomicI64>,
}

impl Passwords {
    /// Starts the hashing threads; computes nothing yet.
    pub fn new(cost: PasswordCost) -> Result<Self, UserError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| UserError::Hashing(e.to_string()))?;
        // A hash of no password at all: a random output under a random salt, with our
        // parameters. Checking a password against it costs what a real check costs, and no
        // password matches it; making it costs nothing.
        let dummy_hash = phc_string(&params, &rand::random::<[u8; SALT_BYTES]>(), &{
            rand::random::<[u8; OUTPUT_BYTES]>()
        })?;
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
            in_flight: Arc::default(),
        })
    }

    /// Runs `work` on a hashing thread and waits for its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Option<T> {
        use std::sync::atomic::Ordering::Relaxed;
        /// Counts the hash out however the wait ends (an answer, or a dropped request).
        struct InFlight(Arc<std::sync::atomic::AtomicI64>);
        impl Drop for InFlight {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Relaxed);
            }
        }
        self.in_flight.fetch_add(1, Relaxed);
        let _counted = InFlight(self.in_flight.clone());
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = reply.send(work(memory));
        });
        self.jobs.send(job).await.ok()?;
        result.await.ok()
    }

    /// Hashes queued or running now.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// An argon2id PHC string for `password`, with a fresh random salt.
    pub async fn hash(&self, password: &str) -> Result<String, UserError> {
        let params = self.params.clone();
        let password = password.to_owned();
        self.run(move |memory| hash_with(memory, &params, &password))
            .await
            .unwrap_or_else(|| Err(UserError::Hashing("the hashing threads stopped".into())))
    }

    /// Whether `password` matches `stored`; with no stored hash, checks the dummy one and says no.
    pub async fn verify(&self, password: &str, stored: Option<String>) -> bool {
        let known = stored.is_some();
        let hash: Arc<str> = stored.map_or_else(|| self.dummy_hash.clone(), Into::into);
        let password = password.to_owned();
        let matched = self.run(move |memory| verify_with(memory, &password, &hash));
        matched.await.unwrap_or(false) && known
    }
}

/// A hashing thread: lowers its own priority, then takes jobs until the sender is gone. Its
/// argon2 memory is kept while jobs keep coming (a burst of logins reuses it) and given back
/// when the queue runs dry, so a server that is not logging anyone in holds none of it.
fn run_hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_this_threads_priority();
    let mut memory = Vec::new();
    loop {
        let job = match queue.lock() {
            Ok(mut queue) => match queue.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::error::TryRecvError::Empty) => {
                    memory = Vec::new();
                    queue.blocking_recv()
                }
                Err(mpsc::error::TryRecvError::Disconnected) => None,
            },
            Err(_) => None,
        };
        match job {
            Some(job) => job(&mut memory),
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

// ANCHOR: hash_with
/// An argon2id PHC string for `password` under a fresh random salt, computed in `memory`
/// (grown to the parameters' size the first time, then reused).
fn hash_with(
    memory: &mut Vec<Block>,
    params: &Params,
    password: &str,
) -> Result<String, UserError> {
    let salt: [u8; SALT_BYTES] = rand::random();
    let mut output = [0u8; OUTPUT_BYTES];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon2
        .hash_password_into_with_memory(
            password.as_bytes(),
            &salt,
            &mut output,
            blocks(memory, params),
        )
        .map_err(|e| UserError::Hashing(e.to_string()))?;
    phc_string(params, &salt, &output)
}
// ANCHOR_END: hash_with

/// Whether `password` is the one `stored` (a PHC string) was made from, computed in `memory`
/// with the stored hash's own parameters and compared in constant time. Anything unreadable
/// is a mismatch.
fn verify_with(memory: &mut Vec<Block>, password: &str, stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let mut output = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt.as_ref(),
            &mut output,
            blocks(memory, &params),
        )
        .is_ok()
        // `Output`'s equality is constant-time: no timing says how much of a guess matched.
        && Output::new(&output).is_ok_and(|computed| &computed == expected)
}

/// The first `params.block_count()` blocks of `memory`, growing it if it is too small. It never
/// shrinks: the next hash needs the same again.
fn blocks<'a>(memory: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    let needed = params.block_count();
    if memory.len() < needed {
        memory.resize(needed, Block::default());
    }
    &mut memory[..needed]
}

/// `$argon2id$v=19$m=…,t=…,p=…$salt$hash`, as Django and the argon2 tools write it.
fn phc_string(params: &Params, salt: &[u8], output: &[u8]) -> Result<String, UserError> {
    let hashing = |e: argon2::password_hash::phc::Error| UserError::Hashing(e.to_string());
    let hash = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| UserError::Hashing(e.to_string()))?,
        salt: Some(Salt::new(salt).map_err(hashing)?),
        hash: Some(Output::new(output).map_err(hashing)?),
    };
    Ok(hash.to_string())
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

    /// Hashes made elsewhere (the argon2 crate's own hasher, as Django's argon2 hasher would
    /// make them) verify with the reused memory, and ours verify with the crate's own verifier.
    #[tokio::test]
    async fn hashes_are_standard_phc_strings_both_ways() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let params = Params::new(64, 1, 1, None).unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password(b"s3cret")
            .unwrap()
            .to_string();
        let passwords = passwords();
        assert!(passwords.verify("s3cret", Some(theirs.clone())).await);
        assert!(!passwords.verify("s3cret!", Some(theirs)).await);

        let ours = passwords.hash("s3cret").await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"s3cret", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"other", &parsed)
                .is_err()
        );
    }

    /// One thread's memory serves hashes of different sizes, one after the other.
    #[test]
    fn the_reused_memory_serves_any_parameters() {
        let mut memory = Vec::new();
        let small = Params::new(16, 1, 1, None).unwrap();
        let large = Params::new(256, 2, 1, None).unwrap();
        let a = hash_with(&mut memory, &large, "x").unwrap();
        let b = hash_with(&mut memory, &small, "y").unwrap();
        assert_eq!(memory.len(), 256);
        assert!(verify_with(&mut memory, "x", &a));
        assert!(verify_with(&mut memory, "y", &b));
        assert!(!verify_with(&mut memory, "y", &a));
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_a_mismatch_not_a_panic() {
        assert!(!passwords().verify("123", Some("not a hash".into())).await);
    }
}
