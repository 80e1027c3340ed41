//! Password hashing with argon2id, and checking every hash a user may have (ours, or one a
//! Django service left, see [`super::hashes`]).
//!
//! Hashing is slow on purpose, so it never runs on the async workers that answer other requests.
//! It runs on a few threads of its own (one fewer than the cores), at the lowest priority:
//! a flood of logins then queues for those threads and, when the CPU is contended, yields it to
//! the requests that do not hash, instead of taking every core from them.
//!
//! Each hashing thread keeps its argon2 working memory (19 MiB with the recommended cost) and
//! reuses it for every hash: a flood of logins holds one such block per thread, instead of
//! allocating one per hash and leaving the allocator to keep what it freed.
//!
//! **What a login costs tells nobody whether the account exists.** A username with no account
//! (or an account with no usable password) costs one check of a hash nobody knows. While every
//! account has our argon2id hash, that is one argon2id at our cost, as for anyone. After an
//! import from Django, accounts differ: a `pbkdf2_sha256` one with a million iterations costs
//! something else than our argon2id, a bcrypt one something else again, until each user's next
//! login replaces the hash. So the check a missing account gets is drawn from the accounts' own
//! mix of hash kinds and costs ([`Passwords::learn_mix`]; `serve` counts them at start and
//! hourly), weighted by how many accounts have each, and chosen by a keyed hash of the username
//! (the key is random per process): every missing name costs exactly what some existing account
//! costs, and the same name costs the same every time, as an account would. Every check reports
//! the [`Work`] it did to an optional [`WorkLog`], which is how the tests prove this without
//! timing anything.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, RwLock};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordHash, Version};
use tokio::sync::{mpsc, oneshot};

use super::hashes::{self, Work, blocks};

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

/// Told of every hash computed: what it cost. Tests count it; nothing in production needs it.
pub trait WorkLog: Send + Sync + 'static {
    fn did(&self, work: &Work);
}

/// The outcome of a password check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub matched: bool,
    /// The password matched a hash that is not our argon2id at our cost (one imported from
    /// Django, say): it should be replaced by ours now that we know the password.
    pub upgrade: bool,
    /// What the check cost.
    pub work: Work,
}

/// How many accounts have each kind of hash: a missing account is checked like one of them.
#[derive(Debug, Clone)]
struct Mix {
    counts: Vec<(Work, u64)>,
}

/// Hashes and verifies passwords.
#[derive(Clone)]
pub struct Passwords {
    params: Params,
    /// What checking one of our own hashes costs.
    ours: Work,
    mix: Arc<RwLock<Mix>>,
    /// Chooses, per username, which of the mix's kinds a missing account costs.
    mix_key: RandomState,
    work_log: Option<Arc<dyn WorkLog>>,
    jobs: mpsc::Sender<Job>,
    /// Hashes queued or running, for `/metrics`.
    in_flight: Arc<std::sync::atomic::AtomicI64>,
}

impl Passwords {
    /// Starts the hashing threads; computes nothing yet.
    pub fn new(cost: PasswordCost) -> Result<Self, UserError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| UserError::Hashing(e.to_string()))?;
        let ours = hashes::argon2_work(Algorithm::Argon2id, Version::V0x13, &params, OUTPUT_BYTES);
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
            mix: Arc::new(RwLock::new(Mix {
                counts: vec![(ours.clone(), 1)],
            })),
            ours,
            mix_key: RandomState::new(),
            work_log: None,
            jobs,
            in_flight: Arc::default(),
        })
    }

    /// The same, telling `log` of every hash computed.
    pub fn with_work_log(mut self, log: Arc<dyn WorkLog>) -> Self {
        self.work_log = Some(log);
        self
    }

    /// What every hash of ours at our cost starts with: `$argon2id$v=19$m=…,t=…,p=…$`.
    pub fn our_prefix(&self) -> String {
        format!(
            "${ARGON2ID_IDENT}$v=19${}$",
            ParamsString::try_from(&self.params).map_or_else(|_| String::new(), |p| p.to_string())
        )
    }

    /// Learns the accounts' mix of hash kinds from their stored hashes: from now on a missing
    /// account costs what one of these costs. Hashes that cannot be checked are left out (their
    /// accounts cost a missing account's check themselves).
    pub fn learn_mix<'a>(&self, stored: impl IntoIterator<Item = &'a str>) {
        self.learn_mix_with(0, stored);
    }

    /// [`Self::learn_mix`], with `ours` more accounts whose hash starts with [`Self::our_prefix`]
    /// (counted by the database rather than read one by one).
    pub fn learn_mix_with<'a>(&self, ours: u64, stored: impl IntoIterator<Item = &'a str>) {
        let mut counts: Vec<(Work, u64)> = Vec::new();
        if ours > 0 {
            counts.push((self.ours.clone(), ours));
        }
        for work in stored.into_iter().filter_map(|s| hashes::read(s).work()) {
            match counts.iter_mut().find(|(known, _)| *known == work) {
                Some((_, count)) => *count += 1,
                None => counts.push((work, 1)),
            }
        }
        if counts.is_empty() {
            counts.push((self.ours.clone(), 1));
        }
        if let Ok(mut mix) = self.mix.write() {
            mix.counts = counts;
        }
    }

    /// What checking a password for `username`, which has no account, costs: one of the mix's
    /// kinds, always the same for the same name.
    pub fn work_for_missing(&self, username: &str) -> Work {
        let Ok(mix) = self.mix.read() else {
            return self.ours.clone();
        };
        let total: u64 = mix.counts.iter().map(|(_, count)| count).sum();
        let mut pick = self.mix_key.hash_one(username) % total.max(1);
        for (work, count) in &mix.counts {
            if pick < *count {
                return work.clone();
            }
            pick -= count;
        }
        self.ours.clone()
    }

    /// One account's hash went from `from` to ours: the mix follows.
    pub fn upgraded(&self, from: &Work) {
        let Ok(mut mix) = self.mix.write() else {
            return;
        };
        if let Some(slot) = mix.counts.iter_mut().find(|(work, _)| work == from)
            && slot.1 > 0
        {
            slot.1 -= 1;
            match mix.counts.iter_mut().find(|(work, _)| *work == self.ours) {
                Some((_, count)) => *count += 1,
                None => mix.counts.push((self.ours.clone(), 1)),
            }
        }
        mix.counts.retain(|(_, count)| *count > 0);
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
        let hashed = self
            .run(move |memory| hash_with(memory, &params, &password))
            .await
            .unwrap_or_else(|| Err(UserError::Hashing("the hashing threads stopped".into())));
        if let Some(log) = &self.work_log {
            log.did(&self.ours);
        }
        hashed
    }

    /// Whether `password` matches `stored`; with no stored hash, checks the dummy one and says no.
    pub async fn verify(&self, password: &str, stored: Option<String>) -> bool {
        self.check("", password, stored).await.matched
    }

    // ANCHOR: check
    /// Checks `username`'s password against their stored hash, whatever its kind. With no hash
    /// (no such account) or one that cannot be checked, does the work a missing account costs
    /// for this name, and says no.
    pub async fn check(&self, username: &str, password: &str, stored: Option<String>) -> Verdict {
        let missing = self.work_for_missing(username);
        let ours = self.ours.clone();
        let password = password.to_owned();
        let checked = self.run(move |memory| {
            let stored = stored.as_deref().map(hashes::read);
            match stored.as_ref().and_then(|s| s.work().map(|work| (s, work))) {
                Some((stored, work)) => {
                    let matched = stored.matches(memory, &password);
                    let upgrade = matched && work != ours;
                    Verdict {
                        matched,
                        upgrade,
                        work,
                    }
                }
                None => {
                    hashes::waste(memory, &missing, &password);
                    Verdict {
                        matched: false,
                        upgrade: false,
                        work: missing,
                    }
                }
            }
        });
        let verdict = checked.await.unwrap_or_else(|| Verdict {
            matched: false,
            upgrade: false,
            work: self.ours.clone(),
        });
        if let Some(log) = &self.work_log {
            log.did(&verdict.work);
        }
        verdict
    }
    // ANCHOR_END: check
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
        assert!(hashes::read(&a).matches(&mut memory, "x"));
        assert!(hashes::read(&b).matches(&mut memory, "y"));
        assert!(!hashes::read(&a).matches(&mut memory, "y"));
    }

    /// Django 5.2's `PBKDF2PasswordHasher` with `iterations = 1000`, for "correct horse battery
    /// staple ✓" (see `hashes`' tests).
    const DJANGO_PBKDF2: &str =
        "pbkdf2_sha256$1000$abcdefghijklmnopqrstuv$z2/+JYqJwL9fihakRDN/fuurMnDwSnLq9uUgMTUETRc=";
    const DJANGO_PASSWORD: &str = "correct horse battery staple ✓";

    /// Every hash computed, in order: the seam the timing tests count through.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Work>>);

    impl WorkLog for Recorder {
        fn did(&self, work: &Work) {
            self.0.lock().unwrap().push(work.clone());
        }
    }

    impl Recorder {
        fn take(&self) -> Vec<Work> {
            std::mem::take(&mut *self.0.lock().unwrap())
        }
    }

    fn recorded() -> (Passwords, Arc<Recorder>) {
        let log = Arc::new(Recorder::default());
        (passwords().with_work_log(log.clone()), log)
    }

    // ANCHOR: timing_test
    #[tokio::test]
    async fn a_missing_account_costs_exactly_what_some_existing_account_costs() {
        let (passwords, log) = recorded();
        let ours = passwords.hash("x").await.unwrap();
        passwords.learn_mix([ours.as_str(), DJANGO_PBKDF2, "!unusable"]);
        let kinds = [
            hashes::read(&ours).work().unwrap(),
            hashes::read(DJANGO_PBKDF2).work().unwrap(),
        ];
        log.take();
        for n in 0..64 {
            let verdict = passwords.check(&format!("nobody{n}"), "guess", None).await;
            assert!(!verdict.matched);
        }
        let done = log.take();
        assert_eq!(done.len(), 64, "one check per login, no more");
        assert!(done.iter().all(|work| kinds.contains(work)), "{done:?}");
        // Half the accounts are of each kind, so missing names cost both (all 64 alike: 2^-63).
        assert!(kinds.iter().all(|kind| done.contains(kind)), "{done:?}");
    }
    // ANCHOR_END: timing_test

    #[tokio::test]
    async fn every_hash_of_ours_starts_with_our_prefix_and_the_database_may_count_them() {
        let (passwords, _) = recorded();
        let ours = passwords.hash("x").await.unwrap();
        assert!(ours.starts_with(&passwords.our_prefix()), "{ours}");
        assert_eq!(passwords.our_prefix(), "$argon2id$v=19$m=8,t=1,p=1$");
        // 3 of ours counted by the database, 1 Django hash: a quarter of missing names cost PBKDF2.
        passwords.learn_mix_with(3, [DJANGO_PBKDF2]);
        let drawn: Vec<Work> = (0..400)
            .map(|n| passwords.work_for_missing(&format!("n{n}")))
            .collect();
        let django = drawn.iter().filter(|w| **w != passwords.ours).count();
        assert!((60..140).contains(&django), "{django} of 400 drew PBKDF2");
    }

    #[tokio::test]
    async fn the_same_missing_name_costs_the_same_every_time() {
        let (passwords, log) = recorded();
        passwords.learn_mix([
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            DJANGO_PBKDF2,
        ]);
        for _ in 0..8 {
            passwords.check("mallory", "guess", None).await;
        }
        let done = log.take();
        assert!(done.windows(2).all(|pair| pair[0] == pair[1]), "{done:?}");
    }

    #[tokio::test]
    async fn an_account_without_a_usable_password_costs_what_a_missing_one_does() {
        let (passwords, log) = recorded();
        passwords.learn_mix([DJANGO_PBKDF2]);
        for stored in ["!unusable", "md5$salt$37da67e81000a61f0698842990646bdd"] {
            let verdict = passwords
                .check("erin", DJANGO_PASSWORD, Some(stored.into()))
                .await;
            assert!(!verdict.matched);
        }
        let expected = passwords.work_for_missing("erin");
        assert_eq!(log.take(), [expected.clone(), expected]);
    }

    #[tokio::test]
    async fn before_any_mix_is_learnt_a_missing_account_costs_one_of_our_hashes() {
        let (passwords, log) = recorded();
        let ours = passwords.hash("x").await.unwrap();
        passwords.check("nobody", "x", None).await;
        assert_eq!(log.take()[1], hashes::read(&ours).work().unwrap());
    }

    #[tokio::test]
    async fn a_matched_django_hash_asks_for_an_upgrade_and_the_mix_follows_it() {
        let (passwords, _) = recorded();
        passwords.learn_mix([DJANGO_PBKDF2]);
        let django = hashes::read(DJANGO_PBKDF2).work().unwrap();
        assert_eq!(passwords.work_for_missing("anyone"), django);
        let verdict = passwords
            .check("alice", DJANGO_PASSWORD, Some(DJANGO_PBKDF2.into()))
            .await;
        assert!(verdict.matched && verdict.upgrade);
        let wrong = passwords
            .check("alice", "wrong", Some(DJANGO_PBKDF2.into()))
            .await;
        assert!(!wrong.matched && !wrong.upgrade);
        // The login stored our hash instead: the one account is argon2id now.
        passwords.upgraded(&verdict.work);
        assert_eq!(passwords.work_for_missing("anyone"), passwords.ours);
        let ours = passwords.hash(DJANGO_PASSWORD).await.unwrap();
        let again = passwords.check("alice", DJANGO_PASSWORD, Some(ours)).await;
        assert!(again.matched && !again.upgrade);
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_a_mismatch_not_a_panic() {
        assert!(!passwords().verify("123", Some("not a hash".into())).await);
    }
}
