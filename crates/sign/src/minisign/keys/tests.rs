use super::*;
use proptest::prelude::*;

fn key() -> SecretKey {
    SecretKey::from_seed(KeyId(*b"testkey!"), &[7; 32])
}

#[test]
fn libsodium_cost_levels() {
    assert_eq!(KdfParams::SENSITIVE.scrypt_cost(), (20, 8, 1));
    assert_eq!(KdfParams::INTERACTIVE.scrypt_cost(), (14, 8, 1));
    // opslimit below memlimit / 32: p = 1, N from opslimit.
    let k = KdfParams {
        opslimit: 32_768,
        memlimit: 1 << 30,
    };
    assert_eq!(k.scrypt_cost(), (10, 8, 1));
}

#[test]
fn key_id_shows_as_minisign_does() {
    let id = KeyId([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01]);
    assert_eq!(id.to_string(), "0123456789ABCDEF");
}

#[test]
fn public_key_file_round_trip() {
    let pk = key().public_key();
    let text = pk.to_file_string();
    assert!(text.starts_with("untrusted comment: minisign public key "));
    assert_eq!(PublicKey::parse(text.as_bytes()).unwrap(), pk);
    assert_eq!(PublicKey::from_base64(&pk.to_base64()).unwrap(), pk);
    // minisign's own files may end in CRLF.
    let crlf = text.replace('\n', "\r\n");
    assert_eq!(PublicKey::parse(crlf.as_bytes()).unwrap(), pk);
}

#[test]
fn secret_key_file_round_trip_unencrypted() {
    let sk = key();
    let text = sk.to_file_string(Protection::Unencrypted).unwrap();
    let file = SecretKeyFile::parse(text.as_bytes()).unwrap();
    assert!(!file.is_encrypted());
    let back = file.unlock(None).unwrap();
    assert_eq!(back.key_id(), sk.key_id());
    assert_eq!(back.public_key(), sk.public_key());
}

#[test]
fn secret_key_file_round_trip_encrypted_and_wrong_password() {
    let sk = SecretKey::generate().unwrap();
    let text = sk
        .to_file_string(Protection::Password {
            password: b"correct horse",
            kdf: KdfParams::INTERACTIVE,
        })
        .unwrap();
    let file = SecretKeyFile::parse(text.as_bytes()).unwrap();
    assert!(file.is_encrypted());
    assert_eq!(file.kdf(), Some(KdfParams::INTERACTIVE));
    let back = file.unlock(Some(b"correct horse")).unwrap();
    assert_eq!(back.public_key(), sk.public_key());
    assert!(matches!(
        file.unlock(Some(b"correct hors")),
        Err(Error::WrongPassword)
    ));
    assert!(matches!(file.unlock(None), Err(Error::PasswordNeeded)));
}

#[test]
fn unencrypted_key_with_zero_checksum_as_minisign_writes_it() {
    let sk = key();
    let text = sk.to_file_string(Protection::Unencrypted).unwrap();
    let b64 = text.lines().nth(1).unwrap();
    let mut raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
    let n = raw.len();
    raw[n - 32..].fill(0);
    let text = format!("c\n{}", base64_line(&raw));
    let back = SecretKeyFile::parse(text.as_bytes())
        .unwrap()
        .unlock(None)
        .unwrap();
    assert_eq!(back.public_key(), sk.public_key());
    // A wrong (non-zero) checksum on an unencrypted key is damage.
    raw[n - 1] = 1;
    let text = format!("c\n{}", base64_line(&raw));
    assert!(matches!(
        SecretKeyFile::parse(text.as_bytes()).unwrap().unlock(None),
        Err(Error::CorruptSecretKey)
    ));
}

#[test]
fn hostile_kdf_cost_is_refused_before_allocating() {
    let sk = key();
    let text = sk
        .to_file_string(Protection::Password {
            password: b"pw",
            kdf: KdfParams::INTERACTIVE,
        })
        .unwrap();
    let b64 = text.lines().nth(1).unwrap();
    let mut raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
    raw[38..46].copy_from_slice(&u64::MAX.to_le_bytes());
    raw[46..54].copy_from_slice(&u64::MAX.to_le_bytes());
    let text = format!("c\n{}", base64_line(&raw));
    let file = SecretKeyFile::parse(text.as_bytes()).unwrap();
    assert!(matches!(
        file.unlock(Some(b"pw")),
        Err(Error::UnsupportedKdf { .. })
    ));
}

#[test]
fn secret_key_parse_errors_say_what() {
    let e = SecretKeyFile::parse(b"only one line\n").err().unwrap();
    assert_eq!((e.line, e.reason), (2, ParseReason::MissingLine));
    let e = SecretKeyFile::parse(b"c\nnot base64!\n").err().unwrap();
    assert_eq!(e.reason, ParseReason::Base64);
    let e = SecretKeyFile::parse(b"c\nRWQ=\n").err().unwrap();
    assert!(matches!(e.reason, ParseReason::Length { found: 2, .. }));
}

#[test]
fn sign_verify_round_trip_and_file_round_trip() {
    let sk = key();
    let pk = sk.public_key();
    let sig = sk.sign(b"message", "timestamp:1\tfile:x", "u").unwrap();
    pk.verify(b"message", &sig).unwrap();
    let text = sig.to_file_string();
    let back = Signature::parse(text.as_bytes()).unwrap();
    assert_eq!(back, sig);
    pk.verify(b"message", &back).unwrap();
}

#[test]
fn wrong_key_wrong_message_wrong_comment_fail() {
    let sk = key();
    let sig = sk.sign(b"message", "tc", "u").unwrap();
    let other = SecretKey::from_seed(KeyId(*b"otherkey"), &[8; 32]).public_key();
    assert!(matches!(
        other.verify(b"message", &sig),
        Err(Error::KeyMismatch { .. })
    ));
    assert!(matches!(
        sk.public_key().verify(b"messagf", &sig),
        Err(Error::BadSignature)
    ));
    let mut changed = sig.clone();
    changed.trusted_comment.push('!');
    assert!(matches!(
        sk.public_key().verify(b"message", &changed),
        Err(Error::BadTrustedComment)
    ));
    // Same key id, other key: the signature itself fails.
    let impostor = SecretKey::from_seed(KeyId(*b"testkey!"), &[9; 32]).public_key();
    assert!(matches!(
        impostor.verify(b"message", &sig),
        Err(Error::BadSignature)
    ));
}

#[test]
fn comments_with_line_breaks_are_refused() {
    assert!(matches!(
        key().sign(b"m", "a\nb", "u"),
        Err(Error::UnprintableComment)
    ));
    assert!(matches!(
        key().sign(b"m", "a", "u\r"),
        Err(Error::UnprintableComment)
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any changed byte of the signed part of a signature file (everything
    /// after the untrusted comment, which minisign does not sign) makes it
    /// unparseable or invalid; any changed byte of the message too.
    #[test]
    fn any_changed_byte_fails(pos in any::<prop::sample::Index>(), flip in 1u8..=255, in_message in any::<bool>()) {
        let sk = key();
        let pk = sk.public_key();
        let message = b"4f2c...  report.json\n".to_vec();
        let sig_text = sk.sign(&message, "timestamp:1\tfile:MANIFEST.sha256", "u").unwrap().to_file_string();
        if in_message {
            let mut m = message.clone();
            let i = pos.index(m.len());
            m[i] ^= flip;
            let sig = Signature::parse(sig_text.as_bytes()).unwrap();
            prop_assert!(pk.verify(&m, &sig).is_err());
        } else {
            let start = sig_text.find('\n').unwrap() + 1;
            let mut s = sig_text.into_bytes();
            let i = start + pos.index(s.len() - start);
            s[i] ^= flip;
            if let Ok(sig) = Signature::parse(&s) {
                prop_assert!(pk.verify(&message, &sig).is_err(), "byte {} ^ {:#x} still verifies", i, flip);
            }
        }
    }
}
