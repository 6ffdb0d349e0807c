//! `nigehbaan serve`: the matching service, and the commands that manage
//! its database directly (API keys, audit log check, benchmark seeding).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use nigehbaan_server::audit::{self, AuditKey};
use nigehbaan_server::db::{DbConfig, Pool};
use nigehbaan_server::store::{self, Role};
use nigehbaan_server::Config;

use crate::{EXIT_INCOMPLETE, EXIT_OK};

const DB_HELP: &str = "SQLite database file [default: $NIGEHBAAN_DATA/serve.sqlite, else \
$XDG_DATA_HOME/nigehbaan/serve.sqlite, else ~/.local/share/nigehbaan/serve.sqlite]";

/// Where the service's data is.
#[derive(Args, Clone, Debug)]
pub struct DbArgs {
    #[arg(long, global = true, value_name = "FILE", help = DB_HELP, conflicts_with = "postgres")]
    db: Option<PathBuf>,
    /// PostgreSQL instead of SQLite, for several replicas behind a load
    /// balancer: a URL (postgres://user@host/db) or key=value settings.
    #[arg(long, global = true, value_name = "URL")]
    postgres: Option<String>,
    /// PostgreSQL schema to use (created when missing).
    #[arg(long, global = true, value_name = "NAME", requires = "postgres")]
    pg_schema: Option<String>,
    /// Index snapshot file [default: next to the SQLite file; none for
    /// PostgreSQL]. Makes restarts take milliseconds.
    #[arg(long, global = true, value_name = "FILE")]
    snapshot: Option<PathBuf>,
    /// Audit key file, kept outside the database (made, mode 0600, when
    /// missing) [default: next to the SQLite file; needed with
    /// PostgreSQL, the same file on every replica].
    #[arg(long, global = true, value_name = "FILE")]
    audit_key: Option<PathBuf>,
    /// Audit head file, rewritten after every change [default: next to the
    /// SQLite file; with PostgreSQL, one per replica is advised].
    #[arg(long, global = true, value_name = "FILE")]
    audit_head: Option<PathBuf>,
}

impl DbArgs {
    /// The configuration, for commands that may create the database.
    fn config(&self) -> Result<Config, String> {
        let cfg = self.config_only()?;
        if let DbConfig::Sqlite(path) = &cfg.db {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
        }
        Ok(cfg)
    }

    /// The configuration, creating nothing.
    fn config_only(&self) -> Result<Config, String> {
        let (db, default_snapshot) = match &self.postgres {
            Some(url) => (
                DbConfig::Postgres {
                    url: url.clone(),
                    schema: self.pg_schema.clone(),
                },
                None,
            ),
            None => {
                let path = match &self.db {
                    Some(p) => p.clone(),
                    None => default_dir()?.join("serve.sqlite"),
                };
                let snap = path.with_extension("pdqidx");
                (DbConfig::Sqlite(path), Some(snap))
            }
        };
        let mut cfg = Config::new(db);
        cfg.snapshot = self.snapshot.clone().or(default_snapshot);
        if self.audit_key.is_some() {
            cfg.audit_key = self.audit_key.clone();
        }
        if self.audit_head.is_some() {
            cfg.audit_head = self.audit_head.clone();
        }
        if cfg.audit_key.is_none() {
            return Err(
                "PostgreSQL needs --audit-key FILE: the audit chain is keyed with a key kept outside the database".into(),
            );
        }
        Ok(cfg)
    }
}

fn default_dir() -> Result<PathBuf, String> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env("NIGEHBAAN_DATA") {
        return Ok(d);
    }
    if let Some(d) = env("XDG_DATA_HOME").filter(|d| d.is_absolute()) {
        return Ok(d.join("nigehbaan"));
    }
    env("HOME")
        .map(|h| h.join(".local/share/nigehbaan"))
        .ok_or_else(|| "no --db given and no HOME to put the database in".to_string())
}

/// `nigehbaan serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(subcommand)]
    command: Option<ServeCommand>,
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Largest upload to hash, in MiB.
    #[arg(long, default_value_t = 64)]
    max_upload_mib: usize,
    /// Largest video upload to /v1/hash and /v1/match, in MiB (a video is
    /// recognised by content; it is hashed by the ffmpeg program from an
    /// anonymous in-memory file).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    max_video_upload_mib: u64,
    /// Videos hashed at once (one ffmpeg child each); more wait up to 30 s,
    /// then get 503 busy.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    max_video_jobs: u64,
    /// Seconds one video may take to probe and decode before its ffmpeg
    /// child is killed (the answer then says it was not perceptually
    /// hashed).
    #[arg(long, default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..))]
    video_timeout_secs: u64,
    /// Largest list file to import, in MiB.
    #[arg(long, default_value_t = 1024)]
    max_import_mib: usize,
    /// How often to read the change feed, in milliseconds.
    #[arg(long, default_value_t = 250)]
    poll_ms: u64,
    /// Change-feed entries to keep when the feed is pruned (every five
    /// minutes). A replica further behind, or a restart from an older
    /// snapshot, loads every hash from the database instead.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(i64).range(1..))]
    feed_keep: i64,
    /// Seconds to receive a request's headers (also the idle time allowed
    /// between requests on a kept-alive connection).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_secs: u64,
    /// Seconds to receive a whole request body once its headers are in.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout_secs: u64,
    /// Most open connections; more are closed as soon as accepted.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// Memory that decoding uploads may use at once, in MiB (each image
    /// is charged 4 bytes per declared pixel before decoding; uploads
    /// over the budget get 503 with Retry-After).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(16..))]
    decode_budget_mib: u64,
    /// Largest image the service decodes, in megapixels (scan allows 256).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=256))]
    max_megapixels: u64,
    /// Largest batch-lookup threshold for matcher keys without their own
    /// cap (an admin can give a key one: max_batch_threshold).
    #[arg(long, default_value_t = 31, value_parser = clap::value_parser!(u32).range(0..=63))]
    matcher_batch_threshold: u32,
    /// Serve /metrics without a key on this separate address (e.g. an
    /// internal interface for Prometheus); without it, /metrics needs a
    /// key on the main address.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,
}

#[derive(Subcommand, Debug)]
enum ServeCommand {
    /// Manage API keys directly in the database (no server needed).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Benchmark set-up: add N random PDQ hashes to a bank `bench` and
    /// write the index snapshot.
    #[command(hide = true)]
    BenchSeed {
        #[arg(long)]
        entries: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Benchmark set-up: write a benign generated JPEG (gradients and
    /// shapes) of the given size.
    #[command(hide = true)]
    BenchImage {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1600)]
        width: u32,
        #[arg(long, default_value_t = 1004)]
        height: u32,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Create a key; it is printed once and stored only as its SHA-256.
    Create {
        /// admin, curator or matcher.
        #[arg(long)]
        role: String,
        /// A label for the key.
        #[arg(long)]
        name: String,
        /// Requests per second allowed.
        #[arg(long, default_value_t = 1000)]
        rate_limit: i64,
        /// Largest batch-lookup threshold the key may use [default: 31 for
        /// matcher keys (--matcher-batch-threshold of the server), 63 for
        /// others].
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=63))]
        max_batch_threshold: Option<u32>,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id.
    Revoke {
        /// The key's id.
        id: i64,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Recompute the keyed hash chain and compare its end with the head
    /// file. Reads only: never creates or migrates a database. Exit
    /// status 0: intact; 1: tampered or truncated.
    Verify,
}

/// Opens an existing database for a command that writes (keys): the
/// database must exist; it is migrated when older.
fn open_existing_rw(db: &DbArgs) -> Result<Pool, String> {
    let cfg = db.config_only()?;
    nigehbaan_server::db::connect_existing(&cfg.db).map_err(|e| e.to_string())?;
    nigehbaan_server::open_pool(&cfg, 1).map_err(|e| e.to_string())
}

/// The service's logs: `tracing` events to standard error, info and above
/// (`NIGEHBAAN_LOG=debug` or `trace` for more), with the request span
/// (request id, method, route) on each line. They never carry uploads,
/// list contents or keys: the server logs none.
fn init_logs() {
    use tracing_subscriber::filter::LevelFilter;
    let level = match std::env::var("NIGEHBAAN_LOG").as_deref() {
        Ok("trace") => LevelFilter::TRACE,
        Ok("debug") => LevelFilter::DEBUG,
        Ok("warn") => LevelFilter::WARN,
        Ok("error") => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(false)
        .try_init();
}

/// Runs `nigehbaan serve`.
/// Hands the heap pages the index build freed back to the system, so that
/// the service's resident memory is the index's own (glibc keeps freed
/// pages otherwise; measured: 155 instead of 94 bytes per entry at 1M).
fn return_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it only returns free heap
    // pages to the kernel and is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

pub fn run(args: ServeArgs) -> Result<u8, String> {
    match args.command {
        None => {
            let mut cfg = args.db.config()?;
            cfg.max_upload_bytes = args.max_upload_mib << 20;
            cfg.max_import_bytes = args.max_import_mib << 20;
            cfg.video.max_upload_bytes = (args.max_video_upload_mib as usize) << 20;
            cfg.video.max_concurrent = args.max_video_jobs as usize;
            cfg.video.decode.limits.wall_time =
                std::time::Duration::from_secs(args.video_timeout_secs);
            cfg.poll = std::time::Duration::from_millis(args.poll_ms.max(10));
            cfg.feed_keep = args.feed_keep;
            cfg.limits = nigehbaan_server::limits::Limits {
                header_timeout: std::time::Duration::from_secs(args.header_timeout_secs),
                body_timeout: std::time::Duration::from_secs(args.body_timeout_secs),
                max_connections: args.max_connections as usize,
                decode_budget_bytes: args.decode_budget_mib << 20,
                max_pixels: args.max_megapixels * 1_000_000,
                matcher_batch_threshold: args.matcher_batch_threshold,
            };
            cfg.metrics_listen = args.metrics_listen;
            cfg.after_index_build = Some(return_free_heap);
            init_logs();
            nigehbaan_server::run(cfg, &args.listen).map_err(|e| e.to_string())?;
            Ok(EXIT_OK)
        }
        Some(ServeCommand::Keys { command }) => {
            match command {
                KeysCommand::Create {
                    role,
                    name,
                    rate_limit,
                    max_batch_threshold,
                } => {
                    let role = Role::parse(&role)
                        .ok_or("--role is admin, curator or matcher".to_string())?;
                    // The first key may make the database.
                    let cfg = args.db.config()?;
                    let pool = nigehbaan_server::open_pool(&cfg, 1).map_err(|e| e.to_string())?;
                    let mut c = pool.get();
                    let (id, key) = store::create_key(
                        c.as_mut(),
                        "cli",
                        &name,
                        role,
                        rate_limit,
                        max_batch_threshold,
                    )
                    .map_err(|e| e.to_string())?;
                    eprintln!("key {id} ({}, {name}); shown only now:", role.name());
                    println!("{key}");
                }
                KeysCommand::List => {
                    let cfg = args.db.config_only()?;
                    let mut c = nigehbaan_server::db::connect_existing(&cfg.db)
                        .map_err(|e| e.to_string())?;
                    for k in store::list_keys(c.as_mut()).map_err(|e| e.to_string())? {
                        println!("{}", serde_json::to_string(&k).map_err(|e| e.to_string())?);
                    }
                }
                KeysCommand::Revoke { id } => {
                    let pool = open_existing_rw(&args.db)?;
                    store::revoke_key(pool.get().as_mut(), "cli", id).map_err(|e| e.to_string())?;
                    eprintln!("key {id} revoked");
                }
            }
            Ok(EXIT_OK)
        }
        Some(ServeCommand::Audit {
            command: AuditCommand::Verify,
        }) => {
            let cfg = args.db.config_only()?;
            let mut c =
                nigehbaan_server::db::connect_existing(&cfg.db).map_err(|e| e.to_string())?;
            let key_path = cfg.audit_key.as_ref().ok_or("no audit key file")?;
            let key = AuditKey::load(key_path).map_err(|e| e.to_string())?;
            let head = match &cfg.audit_head {
                Some(p) => audit::read_head(p).map_err(|e| e.to_string())?,
                None => None,
            };
            if head.is_none() {
                eprintln!(
                    "note: no audit head file: removal of the newest records cannot be detected"
                );
            }
            let check =
                store::verify_audit(c.as_mut(), &key, head.as_ref()).map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string(&check).map_err(|e| e.to_string())?
            );
            Ok(if check.ok { EXIT_OK } else { EXIT_INCOMPLETE })
        }
        Some(ServeCommand::BenchImage { out, width, height }) => {
            let img = image::RgbImage::from_fn(width, height, |x, y| {
                let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
                let sky = fy < 0.45 + 0.05 * (fx * 9.0).sin();
                let disc = (fx - 0.7).powi(2) + (fy - 0.25).powi(2) < 0.01;
                let px = if disc {
                    [250, 220, 120]
                } else if sky {
                    [(90.0 + 80.0 * fy) as u8, (140.0 + 60.0 * fy) as u8, 230]
                } else {
                    let n = ((x * 7 + y * 13) % 17) as f32;
                    [
                        (60.0 + n) as u8,
                        (120.0 + 60.0 * fx) as u8,
                        (50.0 + 40.0 * fy) as u8,
                    ]
                };
                image::Rgb(px)
            });
            let mut bytes = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
                .encode_image(&img)
                .map_err(|e| e.to_string())?;
            std::fs::write(&out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
            Ok(EXIT_OK)
        }
        Some(ServeCommand::BenchSeed { entries, seed }) => {
            let cfg = args.db.config()?;
            let t = std::time::Instant::now();
            let n = nigehbaan_server::seed_bench(&cfg, entries, seed).map_err(|e| e.to_string())?;
            eprintln!(
                "seeded {entries} entries; snapshot holds {n} PDQ hashes ({:.1} s)",
                t.elapsed().as_secs_f64()
            );
            Ok(EXIT_OK)
        }
    }
}
