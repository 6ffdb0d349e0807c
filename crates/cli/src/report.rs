//! `nigehbaan report …`: key pairs, signing and verifying report
//! directories (minisign-compatible; see nigehbaan-sign).

use clap::{Args, Subcommand, ValueEnum};
use nigehbaan_sign::minisign::{KdfParams, Protection, PublicKey, SecretKey, SecretKeyFile};
use nigehbaan_sign::{
    sign_report_dir, verify_report_dir, write_key_pair, SignOptions, MANIFEST_NAME,
};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// A password's bytes, wiped when dropped.
type Password = Zeroizing<Vec<u8>>;

/// The environment variable a password may come from.
pub const PASSWORD_ENV: &str = "NIGEHBAAN_SIGN_PASSWORD";

#[derive(Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    command: ReportCommand,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Make a signing key pair in minisign's format (the secret key
    /// encrypted with a password, file mode 0600).
    Keygen(KeygenArgs),
    /// Sign a report directory: write MANIFEST.sha256 (every file's
    /// SHA-256, `sha256sum` format) and its minisign signature
    /// MANIFEST.sha256.minisig.
    Sign(SignArgs),
    /// Verify a signed report directory: the signature, then every file
    /// against the manifest. Exit status 0: valid, 1: not valid, 2: usage.
    Verify(VerifyArgs),
}

/// Where the password comes from.
#[derive(Args, Clone, Default)]
pub struct PasswordArgs {
    /// Read the password from the first line of FILE. Otherwise it comes
    /// from $NIGEHBAAN_SIGN_PASSWORD, or is asked for on the terminal.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum KdfLevel {
    /// minisign's own cost: scrypt with 1 GiB, a few seconds.
    Sensitive,
    /// scrypt with 16 MiB: quick; for demos and tests.
    Interactive,
}

#[derive(Args)]
struct KeygenArgs {
    /// The secret key file to write.
    #[arg(long, value_name = "FILE", default_value = "nigehbaan.key")]
    secret_key: PathBuf,
    /// The public key file to write (give it to whoever verifies).
    #[arg(long, value_name = "FILE", default_value = "nigehbaan.pub")]
    public_key: PathBuf,
    /// Write the secret key without a password (like `minisign -G -W`):
    /// only for demos and tests.
    #[arg(long)]
    unencrypted: bool,
    /// Cost of the password's key derivation.
    #[arg(long, value_enum, default_value = "sensitive")]
    kdf: KdfLevel,
    /// Replace existing key files.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    password: PasswordArgs,
}

#[derive(Args)]
struct SignArgs {
    /// The report directory (as `scan --out` wrote it).
    report_dir: PathBuf,
    /// The secret key file (`report keygen`, or `minisign -G`).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Re-sign a report that has a manifest already.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    password: PasswordArgs,
}

#[derive(Args)]
struct VerifyArgs {
    /// The signed report directory.
    report_dir: PathBuf,
    /// The signer's public key file.
    #[arg(long, value_name = "FILE")]
    pubkey: PathBuf,
}

pub fn run(args: ReportArgs) -> Result<u8, String> {
    match args.command {
        ReportCommand::Keygen(a) => keygen(a),
        ReportCommand::Sign(a) => {
            let key = unlock_key(&a.key, &a.password)?;
            sign(&a.report_dir, &key, a.force)?;
            Ok(crate::EXIT_OK)
        }
        ReportCommand::Verify(a) => verify(a),
    }
}

/// The password from `--password-file`, the environment, or the terminal
/// (`prompt`; asked twice when `confirm`).
fn password(args: &PasswordArgs, prompt: &str, confirm: bool) -> Result<Password, String> {
    if let Some(path) = &args.password_file {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("{}: cannot read the password file: {e}", path.display()))?;
        let p = Zeroizing::new(bytes);
        let line = p.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        return Ok(Zeroizing::new(line.to_vec()));
    }
    if let Some(v) = std::env::var_os(PASSWORD_ENV) {
        return Ok(Zeroizing::new(v.into_encoded_bytes()));
    }
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "a password is needed: give --password-file FILE or set {PASSWORD_ENV} (no terminal to ask on)"
        ));
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(prompt)
            .map_err(|e| format!("cannot read the password: {e}"))?
            .into_bytes(),
    );
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("Password (again): ")
                .map_err(|e| format!("cannot read the password: {e}"))?
                .into_bytes(),
        );
        if *again != *first {
            return Err("the passwords do not match".into());
        }
    }
    Ok(first)
}

fn keygen(a: KeygenArgs) -> Result<u8, String> {
    let key = SecretKey::generate().map_err(|e| e.to_string())?;
    let pw;
    let protection = if a.unencrypted {
        eprintln!(
            "warning: the secret key is NOT encrypted: anyone who reads {} can sign as you. Use this only for demos and tests.",
            a.secret_key.display()
        );
        Protection::Unencrypted
    } else {
        pw = password(&a.password, "Password for the new secret key: ", true)?;
        if pw.is_empty() {
            return Err("the password is empty (use --unencrypted for a key without one)".into());
        }
        Protection::Password {
            password: &pw,
            kdf: match a.kdf {
                KdfLevel::Sensitive => KdfParams::SENSITIVE,
                KdfLevel::Interactive => KdfParams::INTERACTIVE,
            },
        }
    };
    write_key_pair(&a.secret_key, &a.public_key, &key, protection, a.force)
        .map_err(|e| e.to_string())?;
    println!("key id {}", key.key_id());
    println!("secret key: {} (keep it secret)", a.secret_key.display());
    println!(
        "public key: {} (give it to whoever verifies)",
        a.public_key.display()
    );
    Ok(crate::EXIT_OK)
}

/// Reads the secret key at `path`, asking for its password only when it is
/// encrypted.
pub fn unlock_key(path: &Path, args: &PasswordArgs) -> Result<SecretKey, String> {
    let file = SecretKeyFile::load(path).map_err(|e| e.to_string())?;
    let pw = if file.is_encrypted() {
        Some(password(args, "Password for the secret key: ", false)?)
    } else {
        None
    };
    file.unlock(pw.as_ref().map(|p| p.as_slice()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Signs the report in `dir` and says how to verify it. This is what
/// `scan --sign-key` calls once the report is written.
pub fn sign(dir: &Path, key: &SecretKey, force: bool) -> Result<(), String> {
    let opts = SignOptions {
        tool: format!("nigehbaan {}", env!("CARGO_PKG_VERSION")),
        overwrite: force,
        ..SignOptions::default()
    };
    let signed = sign_report_dir(dir, key, &opts).map_err(|e| e.to_string())?;
    println!(
        "signed {} files of {} with key {}",
        signed.files,
        dir.display(),
        signed.key_id
    );
    println!("  {}", signed.manifest.display());
    println!("  {}", signed.signature.display());
    println!(
        "verify with:  nigehbaan report verify {} --pubkey PUBLIC_KEY",
        dir.display()
    );
    println!(
        "or without Nigehbaan:  minisign -V -p PUBLIC_KEY -m {} && (cd {} && sha256sum -c {MANIFEST_NAME})",
        signed.manifest.display(),
        dir.display()
    );
    Ok(())
}

fn verify(a: VerifyArgs) -> Result<u8, String> {
    let key = PublicKey::load(&a.pubkey).map_err(|e| e.to_string())?;
    let v = match verify_report_dir(&a.report_dir, &key) {
        Ok(v) => v,
        Err(e) => {
            println!("NOT VALID: {e}");
            return Ok(crate::EXIT_INCOMPLETE);
        }
    };
    for p in &v.problems {
        println!("{p}");
    }
    if v.is_valid() {
        println!("VALID: {} files as signed by key {}", v.files_ok, v.key_id);
        println!("trusted comment: {}", v.trusted_comment.escape_debug());
        Ok(crate::EXIT_OK)
    } else {
        println!(
            "NOT VALID: {} problem(s); {} file(s) as listed",
            v.problems.len(),
            v.files_ok
        );
        Ok(crate::EXIT_INCOMPLETE)
    }
}
