//! The key, signature and manifest parsers of nigehbaan-sign on arbitrary
//! bytes: no panic, and whatever parses writes back to text that parses to
//! the same value. The first byte picks the parser.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nigehbaan_sign::manifest::Manifest;
use nigehbaan_sign::minisign::{PublicKey, SecretKeyFile, Signature};

fuzz_target!(|data: &[u8]| {
    let Some((&which, data)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(k) = PublicKey::parse(data) {
                let again = PublicKey::parse(k.to_file_string().as_bytes()).unwrap();
                assert_eq!(again, k);
            }
        }
        1 => {
            if let Ok(f) = SecretKeyFile::parse(data) {
                match f.kdf() {
                    // Never run scrypt here: only the cost calculation.
                    Some(kdf) => {
                        let _ = kdf.scrypt_cost();
                    }
                    None => {
                        let _ = f.unlock(None);
                    }
                }
            }
        }
        2 => {
            if let Ok(s) = Signature::parse(data) {
                let again = Signature::parse(s.to_file_string().as_bytes()).unwrap();
                assert_eq!(again, s);
            }
        }
        _ => {
            if let Ok(m) = Manifest::parse(data) {
                let again = Manifest::parse(m.to_text().as_bytes()).unwrap();
                assert_eq!(again, m);
            }
        }
    }
});
