//! The password hash formats a stored hash may be in, read and checked: ours (an argon2id PHC
//! string) and the ones a Django service leaves behind (`pbkdf2_sha256$…`, `pbkdf2_sha1$…`,
//! `argon2$argon2id$…`, `bcrypt_sha256$…`, `bcrypt$…`, and `scrypt$…`, Django's since 4.2), each
//! verified as Django verifies it, in constant time, until the user's next login replaces it
//! with ours. Django's weak ones (`md5`, `sha1`, `crypt`, unsalted) are not checked at all.
//!
//! Every check says which [`Work`] it did — the algorithm and its cost — so that the caller can
//! make an unknown username cost what an existing account costs (see [`super::password`]), and
//! so tests can count the work instead of timing it.

use argon2::password_hash::phc::Output;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

/// The computation one password check costs: the algorithm and its cost parameters. Two checks
/// with the same `Work` cost the same, whatever the password, salt or outcome.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Work {
    Argon2 {
        algorithm: &'static str,
        version: u32,
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        output_len: usize,
    },
    Pbkdf2 {
        digest: Digest,
        iterations: u32,
    },
    /// `prehashed`: Django's `bcrypt_sha256`, which first turns the password into the hex of its
    /// SHA-256 (so bcrypt's 72-byte limit does not cut long passwords short).
    Bcrypt {
        cost: u32,
        prehashed: bool,
    },
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
    },
}

/// PBKDF2's HMAC digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Digest {
    Sha1,
    Sha256,
}

/// A stored hash, read. Anything this server cannot check is [`Stored::Unusable`]: no password
/// matches it.
#[derive(Debug)]
pub enum Stored<'a> {
    /// A PHC string: ours (`$argon2id$…`) or Django's `argon2$` with its prefix removed.
    Argon2 {
        hash: Box<PasswordHash>,
        /// Django's old argon2 strings have no `v=`: those are version 1.0 (0x10), not 1.3.
        version: Version,
    },
    Pbkdf2 {
        digest: Digest,
        iterations: u32,
        salt: &'a str,
        expected: Vec<u8>,
    },
    Bcrypt {
        /// The `$2b$…` string as the bcrypt library wrote it.
        hash: &'a str,
        cost: u32,
        prehashed: bool,
    },
    /// `scrypt$N$salt$r$p$base64(output)`, Django's `ScryptPasswordHasher`.
    Scrypt {
        params: scrypt::Params,
        salt: &'a str,
        expected: Vec<u8>,
    },
    Unusable(Unusable),
}

/// Why a stored hash cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Django's `set_unusable_password()`: `!` and random characters (or an empty field).
    NoPassword,
    /// A Django hasher this server does not implement (`md5`, `sha1`, `crypt`, …).
    UnknownAlgorithm(String),
    /// It names an algorithm we know, but does not parse.
    Malformed(&'static str),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::NoPassword => f.write_str("an unusable password (Django's \"!…\")"),
            Unusable::UnknownAlgorithm(name) => {
                write!(f, "a {name:?} hash, which this server does not check")
            }
            Unusable::Malformed(why) => write!(f, "a malformed hash ({why})"),
        }
    }
}

/// Reads a stored hash, whichever format it is in.
pub fn read(stored: &str) -> Stored<'_> {
    if stored.starts_with("$argon2") {
        return read_argon2(stored, Version::V0x13);
    }
    if stored.is_empty() || stored.starts_with('!') {
        return Stored::Unusable(Unusable::NoPassword);
    }
    let Some((algorithm, rest)) = stored.split_once('$') else {
        return Stored::Unusable(Unusable::UnknownAlgorithm(
            stored.chars().take(20).collect(),
        ));
    };
    match algorithm {
        // Django's argon2 hasher writes "argon2" followed by argon2-cffi's own string.
        "argon2" => read_argon2(&stored["argon2".len()..], Version::V0x10),
        "pbkdf2_sha256" => read_pbkdf2(Digest::Sha256, rest),
        "pbkdf2_sha1" => read_pbkdf2(Digest::Sha1, rest),
        "bcrypt_sha256" => read_bcrypt(rest, true),
        "bcrypt" => read_bcrypt(rest, false),
        "scrypt" => read_scrypt(rest),
        other => Stored::Unusable(Unusable::UnknownAlgorithm(other.to_owned())),
    }
}

fn read_argon2(phc: &str, version_if_absent: Version) -> Stored<'_> {
    let Ok(hash) = PasswordHash::new(phc) else {
        return Stored::Unusable(Unusable::Malformed("not a PHC string"));
    };
    if hash.salt.is_none() || hash.hash.is_none() {
        return Stored::Unusable(Unusable::Malformed("no salt or no output"));
    }
    if Algorithm::try_from(hash.algorithm.as_str()).is_err() || Params::try_from(&hash).is_err() {
        return Stored::Unusable(Unusable::Malformed("unknown argon2 variant or parameters"));
    }
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or(version_if_absent),
        Err(_) => return Stored::Unusable(Unusable::Malformed("unknown argon2 version")),
    };
    Stored::Argon2 {
        hash: Box::new(hash),
        version,
    }
}

/// `iterations$salt$base64(output)`.
fn read_pbkdf2(digest: Digest, rest: &str) -> Stored<'_> {
    let mut parts = rest.splitn(3, '$');
    let (Some(iterations), Some(salt), Some(output)) = (parts.next(), parts.next(), parts.next())
    else {
        return Stored::Unusable(Unusable::Malformed("not iterations$salt$hash"));
    };
    let Ok(iterations) = iterations.parse::<u32>() else {
        return Stored::Unusable(Unusable::Malformed("the iteration count is not a number"));
    };
    let Ok(expected) = STANDARD.decode(output) else {
        return Stored::Unusable(Unusable::Malformed("the output is not base64"));
    };
    if iterations == 0 || salt.contains('$') || expected.is_empty() {
        return Stored::Unusable(Unusable::Malformed("empty parts"));
    }
    Stored::Pbkdf2 {
        digest,
        iterations,
        salt,
        expected,
    }
}

/// `N$salt$r$p$base64(output)`, N a power of two.
fn read_scrypt(rest: &str) -> Stored<'_> {
    let parts: Vec<&str> = rest.split('$').collect();
    let [n, salt, r, p, output] = parts[..] else {
        return Stored::Unusable(Unusable::Malformed("not N$salt$r$p$hash"));
    };
    let (Ok(n), Ok(r), Ok(p)) = (n.parse::<u64>(), r.parse::<u32>(), p.parse::<u32>()) else {
        return Stored::Unusable(Unusable::Malformed("scrypt's N, r or p is not a number"));
    };
    let Ok(expected) = STANDARD.decode(output) else {
        return Stored::Unusable(Unusable::Malformed("the output is not base64"));
    };
    if !n.is_power_of_two() || n < 2 {
        return Stored::Unusable(Unusable::Malformed("scrypt's N is not a power of two"));
    }
    match scrypt::Params::new(n.trailing_zeros() as u8, r, p, expected.len()) {
        Ok(params) => Stored::Scrypt {
            params,
            salt,
            expected,
        },
        Err(_) => Stored::Unusable(Unusable::Malformed("scrypt parameters out of range")),
    }
}

/// `bcrypt$` / `bcrypt_sha256$` followed by the bcrypt string (`$2b$12$…`), so `rest` starts
/// with the bcrypt string's own `$`.
fn read_bcrypt(rest: &str, prehashed: bool) -> Stored<'_> {
    let cost = rest
        .split('$')
        .nth(2)
        .and_then(|cost| cost.parse::<u32>().ok());
    match cost {
        Some(cost) if rest.starts_with("$2") && (4..=31).contains(&cost) => Stored::Bcrypt {
            hash: rest,
            cost,
            prehashed,
        },
        _ => Stored::Unusable(Unusable::Malformed("not a bcrypt string")),
    }
}

impl Stored<'_> {
    /// What checking a password against this hash costs; `None` when it cannot be checked.
    pub fn work(&self) -> Option<Work> {
        match self {
            Stored::Argon2 { hash, version } => {
                let params = Params::try_from(&**hash).ok()?;
                Some(argon2_work(
                    Algorithm::try_from(hash.algorithm.as_str()).ok()?,
                    *version,
                    &params,
                    hash.hash.as_ref()?.len(),
                ))
            }
            Stored::Pbkdf2 {
                digest, iterations, ..
            } => Some(Work::Pbkdf2 {
                digest: *digest,
                iterations: *iterations,
            }),
            Stored::Bcrypt {
                cost, prehashed, ..
            } => Some(Work::Bcrypt {
                cost: *cost,
                prehashed: *prehashed,
            }),
            Stored::Scrypt { params, .. } => Some(Work::Scrypt {
                log_n: params.log_n(),
                r: params.r(),
                p: params.p(),
            }),
            Stored::Unusable(_) => None,
        }
    }

    /// Whether `password` is the one this hash was made from, computed in `memory` (argon2's
    /// blocks, reused between checks) and compared in constant time.
    pub fn matches(&self, memory: &mut Vec<Block>, password: &str) -> bool {
        match self {
            Stored::Argon2 { hash, version } => {
                let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
                    return false;
                };
                let (Ok(algorithm), Ok(params)) = (
                    Algorithm::try_from(hash.algorithm.as_str()),
                    Params::try_from(&**hash),
                ) else {
                    return false;
                };
                let mut output = vec![0u8; expected.len()];
                Argon2::new(algorithm, *version, params.clone())
                    .hash_password_into_with_memory(
                        password.as_bytes(),
                        salt.as_ref(),
                        &mut output,
                        blocks(memory, &params),
                    )
                    .is_ok()
                    // `Output`'s equality is constant-time.
                    && Output::new(&output).is_ok_and(|computed| &computed == expected)
            }
            Stored::Pbkdf2 {
                digest,
                iterations,
                salt,
                expected,
            } => {
                let computed = pbkdf2(*digest, password, salt, *iterations, expected.len());
                computed.ct_eq(expected).into()
            }
            Stored::Bcrypt {
                hash, prehashed, ..
            } => {
                let input = bcrypt_input(password, *prehashed);
                // The bcrypt crate compares in constant time; like Django (with bcrypt < 5), a
                // password past 72 bytes is cut there.
                bcrypt::verify(input, hash).unwrap_or(false)
            }
            Stored::Scrypt {
                params,
                salt,
                expected,
            } => {
                let mut output = vec![0u8; expected.len()];
                scrypt::scrypt(password.as_bytes(), salt.as_bytes(), params, &mut output).is_ok()
                    && bool::from(output.ct_eq(expected))
            }
            Stored::Unusable(_) => false,
        }
    }
}

/// The work of an argon2 check with these parameters.
pub fn argon2_work(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    output_len: usize,
) -> Work {
    Work::Argon2 {
        algorithm: algorithm.as_str(),
        version: version.into(),
        memory_kib: params.m_cost(),
        iterations: params.t_cost(),
        parallelism: params.p_cost(),
        output_len,
    }
}

/// Does `work` against a salt and an answer nobody knows, and matches nothing: what checking a
/// password against an account costs, without an account.
pub fn waste(memory: &mut Vec<Block>, work: &Work, password: &str) {
    match work {
        Work::Argon2 {
            algorithm,
            version,
            memory_kib,
            iterations,
            parallelism,
            output_len,
        } => {
            let (Ok(algorithm), Ok(version), Ok(params)) = (
                Algorithm::try_from(*algorithm),
                Version::try_from(*version),
                Params::new(*memory_kib, *iterations, *parallelism, Some(*output_len)),
            ) else {
                return;
            };
            let salt: [u8; 16] = rand::random();
            let mut output = vec![0u8; *output_len];
            let _ = Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
                password.as_bytes(),
                &salt,
                &mut output,
                blocks(memory, &params),
            );
            std::hint::black_box(output);
        }
        Work::Pbkdf2 { digest, iterations } => {
            let salt: [u8; 16] = rand::random();
            let salt = STANDARD.encode(salt);
            let output = pbkdf2(*digest, password, &salt, *iterations, 32);
            std::hint::black_box(output);
        }
        Work::Bcrypt { cost, prehashed } => {
            let input = bcrypt_input(password, *prehashed);
            let output = bcrypt::hash_with_salt(input, *cost, rand::random());
            let _ = std::hint::black_box(output);
        }
        Work::Scrypt { log_n, r, p } => {
            let Ok(params) = scrypt::Params::new(*log_n, *r, *p, 64) else {
                return;
            };
            let salt = STANDARD.encode(rand::random::<[u8; 16]>());
            let mut output = [0u8; 64];
            let _ = scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut output);
            std::hint::black_box(output);
        }
    }
}

fn pbkdf2(digest: Digest, password: &str, salt: &str, iterations: u32, len: usize) -> Vec<u8> {
    let mut output = vec![0u8; len];
    let (password, salt) = (password.as_bytes(), salt.as_bytes());
    match digest {
        Digest::Sha256 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut output);
        }
        Digest::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, &mut output),
    }
    output
}

/// What Django hands to bcrypt: the password, or for `bcrypt_sha256` the hex of its SHA-256.
fn bcrypt_input(password: &str, prehashed: bool) -> Vec<u8> {
    if prehashed {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(password.as_bytes());
        digest
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
            .into_bytes()
    } else {
        password.as_bytes().to_vec()
    }
}

/// The first `params.block_count()` blocks of `memory`, growing it if it is too small. It never
/// shrinks: the next hash needs the same again.
pub fn blocks<'a>(memory: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    let needed = params.block_count();
    if memory.len() < needed {
        memory.resize(needed, Block::default());
    }
    &mut memory[..needed]
}

#[cfg(test)]
mod tests {
    use super::*;

    // ANCHOR: django_vectors
    /// Made by Django 5.2.19's own hashers (argon2-cffi 25, bcrypt 5.0), in the `.ci/run` venv:
    /// the first of each kind by `make_password(PASSWORD, "seasalt", "pbkdf2_sha256")` and so
    /// on, at Django's default costs; the `_CHEAP` ones by subclasses of Django's hashers with
    /// the cost lowered (`iterations = 1000`, `rounds = 4`, argon2's `memory_cost = 64`,
    /// scrypt's `work_factor = 16`), so that the mismatch checks stay quick in a debug build;
    /// `ARGON2I_CHEAP` makes argon2i, as Django's hasher did before 3.2.
    const PASSWORD: &str = "correct horse battery staple ✓";
    const PBKDF2_SHA256: &str =
        "pbkdf2_sha256$1000000$seasalt$Gqq1lBIGuDlbbtzaHGk4jLe4ugloJYxWmnk2uJL/XuU=";
    const PBKDF2_SHA256_CHEAP: &str =
        "pbkdf2_sha256$1000$abcdefghijklmnopqrstuv$z2/+JYqJwL9fihakRDN/fuurMnDwSnLq9uUgMTUETRc=";
    const PBKDF2_SHA1: &str = "pbkdf2_sha1$1000000$seasalt$Gtdu27yfaRkWj544DPuTZmimx3U=";
    const PBKDF2_SHA1_CHEAP: &str =
        "pbkdf2_sha1$1000$abcdefghijklmnopqrstuv$2qmQhLj39jEswse1qNpOBSoLC2s=";
    const ARGON2ID_DJANGO_DEFAULT: &str = "argon2$argon2id$v=19$m=102400,t=2,p=8$\
        SW0wSlgxNHFZZmdqUFFTdGs3a1RhRA$+M3J9AOQKeAvTCX4kQlb7mZLYo4abHf8Y4k9DS1rHZg";
    const ARGON2ID_CHEAP: &str = "argon2$argon2id$v=19$m=64,t=1,p=1$\
        ekRMWk1qWXpiMFRpV1Yzc2FLNjFoMg$di/jY7G3JDQCyXZW3UBZPmu+XaYKxAunROSq/2n2Rhs";
    const ARGON2I_CHEAP: &str = "argon2$argon2i$v=19$m=32,t=2,p=2$\
        MXlDQ3NQY2xNVkYxWkVNOTdCOU1wbw$MnQRCBMMT15yDPjiKbuqHf2zbBGYPxBe32TFMdsiX2A";
    /// The format of Django's first argon2 hasher (argon2-cffi before 16.0): no `v=`, which
    /// means version 1.0. Made with argon2-cffi's `hash_secret(version=0x10)`, the `v=16$`
    /// taken out; Django 5.2's `check_password` accepts it.
    const ARGON2I_NO_VERSION: &str =
        "argon2$argon2i$m=32,t=2,p=2$b2xkYXJnb24yc2FsdA$PrcqBtUIwiOgVBfnulKYaw";
    const BCRYPT_SHA256: &str =
        "bcrypt_sha256$$2b$12$vgCa6/yRvNhI5LQO7RtccuHIcqdevdf6Qmvdvi4MH858ZIEdEeYJ.";
    const BCRYPT: &str = "bcrypt$$2b$12$//9TjaQ5y1sZGVp9WjUW/u.AWpPYIR4sRSl5XSudwJzXoHbO3sxoi";
    const BCRYPT_SHA256_CHEAP: &str =
        "bcrypt_sha256$$2b$04$yVFcX60uot54WxQtJy5EJeDkXHkX.GPg2GzG9q2VVCDqQqAvHjJD6";
    const BCRYPT_CHEAP: &str =
        "bcrypt$$2b$04$27zre79HnCKa5sKwncNVv.e37MvioB9UCGQwrbTKDtwT/DSyicwlS";
    const MD5: &str = "md5$seasalt$37da67e81000a61f0698842990646bdd";
    /// Django 5.2's `ScryptPasswordHasher` at its defaults (N = 2^14, r = 8, p = 5).
    const SCRYPT: &str = "scrypt$16384$heQ7sycRk75bQgwZ016ean$8$5$ZZfmfv39hF3L/mFha/KLroYOrPqZ\
        eu5RaRXotHy/4B/tsAR9rroalufdUx019DTlG8EAwl25rxu0cCL7zUWJbw==";
    const SCRYPT_CHEAP: &str = "scrypt$16$ALYDJmyD5FtBLOVZ8TRNj3$8$1$P0dWxuc8Mp3Z2KTK4vNin21vXx/ggaG\
        V945YyEtrzZem2/ojLwk87XlO2XOrd4fKgTDKk6kPDFrUPbb+7FAVNQ==";
    // ANCHOR_END: django_vectors

    fn check(stored: &str, password: &str) -> bool {
        read(stored).matches(&mut Vec::new(), password)
    }

    #[test]
    fn djangos_default_costs_verify_their_password() {
        for stored in [
            PBKDF2_SHA256,
            PBKDF2_SHA1,
            ARGON2ID_DJANGO_DEFAULT,
            BCRYPT_SHA256,
            BCRYPT,
            SCRYPT,
        ] {
            assert!(check(stored, PASSWORD), "{stored} refused its password");
        }
    }

    #[test]
    fn every_django_hash_kind_verifies_its_password_and_no_other() {
        for stored in [
            PBKDF2_SHA256_CHEAP,
            PBKDF2_SHA1_CHEAP,
            ARGON2ID_CHEAP,
            ARGON2I_CHEAP,
            ARGON2I_NO_VERSION,
            BCRYPT_SHA256_CHEAP,
            BCRYPT_CHEAP,
            SCRYPT_CHEAP,
        ] {
            assert!(check(stored, PASSWORD), "{stored} refused its password");
            assert!(!check(stored, "correct horse battery staple"), "{stored}");
            assert!(!check(stored, ""), "{stored}");
        }
    }

    #[test]
    fn each_django_hash_says_what_checking_it_costs() {
        let work = |stored| read(stored).work().unwrap();
        assert_eq!(
            work(PBKDF2_SHA256),
            Work::Pbkdf2 {
                digest: Digest::Sha256,
                iterations: 1_000_000
            }
        );
        assert_eq!(
            work(PBKDF2_SHA1),
            Work::Pbkdf2 {
                digest: Digest::Sha1,
                iterations: 1_000_000
            }
        );
        assert_eq!(
            work(BCRYPT_SHA256),
            Work::Bcrypt {
                cost: 12,
                prehashed: true
            }
        );
        assert_eq!(
            work(BCRYPT),
            Work::Bcrypt {
                cost: 12,
                prehashed: false
            }
        );
        assert_eq!(
            work(SCRYPT),
            Work::Scrypt {
                log_n: 14,
                r: 8,
                p: 5
            }
        );
        assert_eq!(
            work(ARGON2ID_DJANGO_DEFAULT),
            Work::Argon2 {
                algorithm: "argon2id",
                version: 0x13,
                memory_kib: 102_400,
                iterations: 2,
                parallelism: 8,
                output_len: 32
            }
        );
    }

    #[test]
    fn bcrypt_sha256_is_bcrypt_of_the_passwords_sha256_hex() {
        // The same bcrypt string under the plain `bcrypt$` prefix takes the hex, not the password.
        let as_plain = BCRYPT_SHA256_CHEAP.replacen("bcrypt_sha256$", "bcrypt$", 1);
        assert!(!check(&as_plain, PASSWORD));
        let hex = String::from_utf8(bcrypt_input(PASSWORD, true)).unwrap();
        assert!(check(&as_plain, &hex));
    }

    #[test]
    fn unusable_unknown_and_malformed_hashes_are_named_and_match_nothing() {
        let unusable = |stored| match read(stored) {
            Stored::Unusable(why) => why,
            other => panic!("{stored} read as {other:?}"),
        };
        assert_eq!(
            unusable("!tgT5tKobQPfxVVU4odFGaNbfqg6pTJ6TMOKUSkRd"),
            Unusable::NoPassword
        );
        assert_eq!(unusable(""), Unusable::NoPassword);
        assert_eq!(unusable(MD5), Unusable::UnknownAlgorithm("md5".into()));
        assert_eq!(
            unusable("crypt$$abN/qM.L/H8EQ"),
            Unusable::UnknownAlgorithm("crypt".into())
        );
        assert!(matches!(
            unusable("scrypt$1000$salt$8$1$AAAA"),
            Unusable::Malformed(_)
        ));
        assert!(matches!(
            unusable("pbkdf2_sha256$many$salt$AAAA"),
            Unusable::Malformed(_)
        ));
        assert!(matches!(
            unusable("bcrypt$$2b$99$x"),
            Unusable::Malformed(_)
        ));
        assert!(matches!(
            unusable("argon2$nonsense"),
            Unusable::Malformed(_)
        ));
        for stored in [MD5, "!x", ""] {
            assert!(!check(stored, PASSWORD));
        }
    }
}
