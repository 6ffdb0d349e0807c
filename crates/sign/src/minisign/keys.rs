//! Public and secret key files.

use super::{base64_line, printable, KeyId, Lines, SigAlgorithm, Signature, UNTRUSTED_PREFIX};
use crate::error::{Error, FileKind, ParseError, ParseReason};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Blake2b512, Digest};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

/// minisign's signature algorithm tag for keys (Ed25519).
const SIG_ALG: [u8; 2] = *b"Ed";
/// Key derivation: scrypt.
const KDF_SCRYPT: [u8; 2] = *b"Sc";
/// Key derivation: none (an unencrypted key, `minisign -G -W`).
const KDF_NONE: [u8; 2] = [0, 0];
/// Checksum: BLAKE2b-256.
const CHK_ALG: [u8; 2] = *b"B2";
/// Length of key id ‖ secret key ‖ checksum.
const KEYNUM_SK_LEN: usize = 8 + 64 + 32;
/// Length of a decoded secret key file.
const SECRET_FILE_LEN: usize = 2 + 2 + 2 + 32 + 8 + 8 + KEYNUM_SK_LEN;
/// The largest scrypt log2(N) accepted from a key file: minisign's own
/// keys use 20 (1 GiB).
const MAX_LOG_N: u32 = 20;
/// The largest scrypt p accepted from a key file (minisign's keys use 1).
const MAX_P: u32 = 8;

/// A minisign public key: what a verifier needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey {
    key_id: KeyId,
    key: [u8; 32],
}

impl PublicKey {
    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The key from the base64 text of its file's second line (what
    /// `minisign -P` takes).
    pub fn from_base64(text: &str) -> Result<Self, ParseError> {
        let mut lines = Lines::new(FileKind::PublicKey, text.as_bytes())?;
        Self::from_line(&mut lines)
    }

    fn from_line(lines: &mut Lines<'_>) -> Result<Self, ParseError> {
        let b: [u8; 42] = lines.base64()?;
        if b[..2] != SIG_ALG {
            return Err(lines.error(ParseReason::SignatureAlgorithm([b[0], b[1]])));
        }
        let mut key_id = [0; 8];
        key_id.copy_from_slice(&b[2..10]);
        let mut key = [0; 32];
        key.copy_from_slice(&b[10..]);
        Ok(PublicKey {
            key_id: KeyId(key_id),
            key,
        })
    }

    /// Parses a public key file. As minisign does, the first line (the
    /// untrusted comment) is read but not checked.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut lines = Lines::new(FileKind::PublicKey, bytes)?;
        lines.next_line()?;
        Self::from_line(&mut lines)
    }

    /// Reads and parses the public key file at `path`.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&bytes).map_err(|e| e.at(path))
    }

    /// The base64 text of the key (the file's second line, without newline).
    pub fn to_base64(&self) -> String {
        let mut b = Vec::with_capacity(42);
        b.extend_from_slice(&SIG_ALG);
        b.extend_from_slice(&self.key_id.0);
        b.extend_from_slice(&self.key);
        base64_line(&b).trim_end().to_string()
    }

    /// The key file's text, as `minisign -G` writes it.
    pub fn to_file_string(&self) -> String {
        format!(
            "{UNTRUSTED_PREFIX}minisign public key {}\n{}\n",
            self.key_id,
            self.to_base64()
        )
    }

    /// Checks `signature` over `message`: the key ids must agree, the
    /// signature must be valid for the message (hashed with BLAKE2b-512
    /// first for [`SigAlgorithm::Prehashed`]), and the global signature must
    /// be valid for signature ‖ trusted comment.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), Error> {
        if signature.key_id != self.key_id {
            return Err(Error::KeyMismatch {
                signature: signature.key_id,
                public_key: self.key_id,
            });
        }
        let key = VerifyingKey::from_bytes(&self.key).map_err(|_| Error::BadSignature)?;
        let sig = ed25519_dalek::Signature::from_bytes(&signature.signature);
        let ok = match signature.algorithm {
            SigAlgorithm::Prehashed => key.verify_strict(&Blake2b512::digest(message), &sig),
            SigAlgorithm::Legacy => key.verify_strict(message, &sig),
        };
        ok.map_err(|_| Error::BadSignature)?;
        let mut global = signature.signature.to_vec();
        global.extend_from_slice(signature.trusted_comment.as_bytes());
        let gsig = ed25519_dalek::Signature::from_bytes(&signature.global_signature);
        key.verify_strict(&global, &gsig)
            .map_err(|_| Error::BadTrustedComment)
    }
}

/// scrypt cost as minisign records it (libsodium's `opslimit` and
/// `memlimit`, from which N, r and p follow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// libsodium's opslimit.
    pub opslimit: u64,
    /// libsodium's memlimit, in bytes.
    pub memlimit: u64,
}

impl KdfParams {
    /// What `minisign -G` uses: N = 2^20, r = 8, p = 1 (1 GiB, a few
    /// seconds). The default.
    pub const SENSITIVE: KdfParams = KdfParams {
        opslimit: 33_554_432,
        memlimit: 1_073_741_824,
    };
    /// libsodium's interactive level: N = 2^14, r = 8, p = 1 (16 MiB). For
    /// tests and demos.
    pub const INTERACTIVE: KdfParams = KdfParams {
        opslimit: 524_288,
        memlimit: 16_777_216,
    };

    /// scrypt's (log2 N, r, p) for these limits, as libsodium's
    /// `crypto_pwhash_scryptsalsa208sha256` picks them.
    pub fn scrypt_cost(&self) -> (u32, u32, u32) {
        let opslimit = self.opslimit.max(32_768);
        let r: u64 = 8;
        let log_n_for = |max_n: u64| {
            let mut log_n = 1u32;
            while log_n < 63 && (1u64 << log_n) <= max_n / 2 {
                log_n += 1;
            }
            log_n
        };
        if opslimit < self.memlimit / 32 {
            (log_n_for(opslimit / (r * 4)), r as u32, 1)
        } else {
            let log_n = log_n_for(self.memlimit / (r * 128));
            let max_rp = ((opslimit / 4) >> log_n).min(0x3fff_ffff);
            (log_n, r as u32, (max_rp / r) as u32)
        }
    }

    /// The key stream that encrypts or decrypts a secret key.
    fn stream(
        &self,
        password: &[u8],
        salt: &[u8; 32],
    ) -> Result<Zeroizing<[u8; KEYNUM_SK_LEN]>, Error> {
        let (log_n, r, p) = self.scrypt_cost();
        let bad = Error::UnsupportedKdf { log_n, r, p };
        if log_n > MAX_LOG_N || p == 0 || p > MAX_P {
            return Err(bad);
        }
        let params = scrypt::Params::new(log_n as u8, r, p, 32).map_err(|_| bad)?;
        let mut out = Zeroizing::new([0u8; KEYNUM_SK_LEN]);
        scrypt::scrypt(password, salt, &params, out.as_mut_slice())
            .map_err(|_| Error::UnsupportedKdf { log_n, r, p })?;
        Ok(out)
    }
}

/// How a secret key is written.
#[derive(Clone, Copy, Debug)]
pub enum Protection<'a> {
    /// Encrypted with a password (minisign's default).
    Password {
        /// The password, as bytes.
        password: &'a [u8],
        /// The scrypt cost.
        kdf: KdfParams,
    },
    /// Not encrypted (`minisign -G -W`): for demos and tests only.
    Unencrypted,
}

/// A minisign secret key, decrypted: it signs.
pub struct SecretKey {
    key_id: KeyId,
    /// Ed25519 seed ‖ public key, as libsodium keeps it.
    key: Zeroizing<[u8; 64]>,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Fills `buf` from the operating system's random number generator.
fn random(buf: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(buf).map_err(Error::Random)
}

/// BLAKE2b-256 of `Ed` ‖ key id ‖ secret key: minisign's key checksum.
fn checksum(key_id: &KeyId, key: &[u8; 64]) -> [u8; 32] {
    let mut h = Blake2b::<U32>::new();
    h.update(SIG_ALG);
    h.update(key_id.0);
    h.update(key);
    h.finalize().into()
}

impl SecretKey {
    /// A new key pair with a random key id.
    pub fn generate() -> Result<Self, Error> {
        let mut seed = Zeroizing::new([0u8; 32]);
        random(seed.as_mut_slice())?;
        let mut key_id = [0u8; 8];
        random(&mut key_id)?;
        Ok(Self::from_seed(KeyId(key_id), &seed))
    }

    /// The key pair with this Ed25519 seed and key id.
    pub fn from_seed(key_id: KeyId, seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        SecretKey {
            key_id,
            key: Zeroizing::new(signing.to_keypair_bytes()),
        }
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        let mut key = [0; 32];
        key.copy_from_slice(&self.key[32..]);
        PublicKey {
            key_id: self.key_id,
            key,
        }
    }

    fn signing_key(&self) -> SigningKey {
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&self.key[..32]);
        SigningKey::from_bytes(&seed)
    }

    /// Signs `message` as `minisign -S` does (prehashed, `ED`), with this
    /// trusted comment (signed) and untrusted comment (not signed).
    pub fn sign(
        &self,
        message: &[u8],
        trusted_comment: &str,
        untrusted_comment: &str,
    ) -> Result<Signature, Error> {
        if !printable(trusted_comment) || !printable(untrusted_comment) {
            return Err(Error::UnprintableComment);
        }
        let key = self.signing_key();
        let signature = key.sign(&Blake2b512::digest(message)).to_bytes();
        let mut global = signature.to_vec();
        global.extend_from_slice(trusted_comment.as_bytes());
        let global_signature = key.sign(&global).to_bytes();
        Ok(Signature {
            untrusted_comment: untrusted_comment.to_string(),
            algorithm: SigAlgorithm::Prehashed,
            key_id: self.key_id,
            signature,
            trusted_comment: trusted_comment.to_string(),
            global_signature,
        })
    }

    /// The secret key file's text, encrypted with a password or not.
    pub fn to_file_string(&self, protection: Protection<'_>) -> Result<Zeroizing<String>, Error> {
        let mut b = Zeroizing::new(Vec::with_capacity(SECRET_FILE_LEN));
        b.extend_from_slice(&SIG_ALG);
        let mut keynum_sk = Zeroizing::new([0u8; KEYNUM_SK_LEN]);
        keynum_sk[..8].copy_from_slice(&self.key_id.0);
        keynum_sk[8..72].copy_from_slice(self.key.as_slice());
        keynum_sk[72..].copy_from_slice(&checksum(&self.key_id, &self.key));
        let comment = match protection {
            Protection::Password { password, kdf } => {
                let mut salt = [0u8; 32];
                random(&mut salt)?;
                let stream = kdf.stream(password, &salt)?;
                for (k, s) in keynum_sk.iter_mut().zip(stream.iter()) {
                    *k ^= s;
                }
                b.extend_from_slice(&KDF_SCRYPT);
                b.extend_from_slice(&CHK_ALG);
                b.extend_from_slice(&salt);
                b.extend_from_slice(&kdf.opslimit.to_le_bytes());
                b.extend_from_slice(&kdf.memlimit.to_le_bytes());
                "minisign encrypted secret key"
            }
            Protection::Unencrypted => {
                b.extend_from_slice(&KDF_NONE);
                b.extend_from_slice(&CHK_ALG);
                b.extend_from_slice(&[0u8; 48]);
                "minisign secret key (NOT encrypted)"
            }
        };
        b.extend_from_slice(keynum_sk.as_slice());
        let mut text = Zeroizing::new(format!("{UNTRUSTED_PREFIX}{comment}\n"));
        let mut line = base64_line(&b);
        text.push_str(&line);
        line.zeroize();
        Ok(text)
    }

    /// Reads the secret key file at `path` and decrypts it with `password`
    /// (ignored for an unencrypted key).
    pub fn load(path: &Path, password: Option<&[u8]>) -> Result<Self, Error> {
        SecretKeyFile::load(path)?.unlock(password)
    }
}

/// A secret key file as read: still encrypted, when it is.
pub struct SecretKeyFile {
    /// scrypt salt and cost, or `None` for an unencrypted key.
    kdf: Option<([u8; 32], KdfParams)>,
    keynum_sk: Zeroizing<[u8; KEYNUM_SK_LEN]>,
}

impl SecretKeyFile {
    /// Parses a secret key file. As minisign does, the first line (the
    /// untrusted comment) is read but not checked.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut lines = Lines::new(FileKind::SecretKey, bytes)?;
        lines.next_line()?;
        let b = Zeroizing::new(lines.base64::<SECRET_FILE_LEN>()?);
        if b[..2] != SIG_ALG {
            return Err(lines.error(ParseReason::SignatureAlgorithm([b[0], b[1]])));
        }
        if b[4..6] != CHK_ALG {
            return Err(lines.error(ParseReason::ChecksumAlgorithm([b[4], b[5]])));
        }
        let kdf = match [b[2], b[3]] {
            KDF_SCRYPT => {
                let mut salt = [0u8; 32];
                salt.copy_from_slice(&b[6..38]);
                let le = |r: std::ops::Range<usize>| {
                    u64::from_le_bytes(b[r].try_into().expect("8 bytes"))
                };
                Some((
                    salt,
                    KdfParams {
                        opslimit: le(38..46),
                        memlimit: le(46..54),
                    },
                ))
            }
            KDF_NONE => None,
            other => return Err(lines.error(ParseReason::KdfAlgorithm(other))),
        };
        let mut keynum_sk = Zeroizing::new([0u8; KEYNUM_SK_LEN]);
        keynum_sk.copy_from_slice(&b[54..]);
        Ok(SecretKeyFile { kdf, keynum_sk })
    }

    /// Reads and parses the secret key file at `path`.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| Error::io(path, e))?);
        Self::parse(&bytes).map_err(|e| e.at(path))
    }

    /// Whether a password is needed to unlock the key.
    pub fn is_encrypted(&self) -> bool {
        self.kdf.is_some()
    }

    /// The scrypt cost of an encrypted key.
    pub fn kdf(&self) -> Option<KdfParams> {
        self.kdf.map(|(_, k)| k)
    }

    /// Decrypts the key with `password` (ignored when unencrypted) and
    /// checks it: the checksum (a wrong password fails it) and that the
    /// public half belongs to the secret half.
    pub fn unlock(&self, password: Option<&[u8]>) -> Result<SecretKey, Error> {
        let mut keynum_sk = self.keynum_sk.clone();
        if let Some((salt, kdf)) = &self.kdf {
            let password = password.ok_or(Error::PasswordNeeded)?;
            let stream = kdf.stream(password, salt)?;
            for (k, s) in keynum_sk.iter_mut().zip(stream.iter()) {
                *k ^= s;
            }
        }
        let key_id = KeyId(keynum_sk[..8].try_into().expect("8 bytes"));
        let mut key = Zeroizing::new([0u8; 64]);
        key.copy_from_slice(&keynum_sk[8..72]);
        let chk = &keynum_sk[72..];
        // minisign leaves the checksum of an unencrypted key zero.
        let unchecked = self.kdf.is_none() && chk.iter().all(|&c| c == 0);
        if !unchecked && chk != checksum(&key_id, &key) {
            return Err(if self.kdf.is_some() {
                Error::WrongPassword
            } else {
                Error::CorruptSecretKey
            });
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&key[..32]);
        let secret = SecretKey::from_seed(key_id, &seed);
        if secret.key[32..] != key[32..] {
            return Err(Error::CorruptSecretKey);
        }
        Ok(secret)
    }
}

#[cfg(test)]
mod tests;
