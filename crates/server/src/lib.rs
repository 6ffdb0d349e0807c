//! # nigehbaan-server
//!
//! The matching service behind `nigehbaan serve`: an HTTP + JSON API that
//! hashes uploads in memory (MD5, SHA-1, SHA-256, PDQ), matches hashes
//! against banks, and lets curators manage the banks.
//!
//! * The database (SQLite by default, PostgreSQL for several replicas) is
//!   the source of truth: banks, entries, API keys, a keyed hash-chained
//!   audit log (its key and head kept in files outside the database: see
//!   [`audit`]) and a change feed of PDQ hashes.
//! * Connections, request bodies and decodes are bounded: see [`limits`]
//!   and [`http`].
//! * Each instance keeps only PDQ hashes in memory, in a
//!   [`nigehbaan_index::LivePdqIndex`] it updates from the change feed (every
//!   `poll` interval, and at once after its own writes); entry details are
//!   read from the database after a hit. MD5/SHA lookups go to the
//!   database's indexes. Video entries' usable vPDQ frames are kept the
//!   same way, in a frame → entries index ([`video::VideoBank`]).
//! * Video uploads are hashed by the `ffmpeg` program from an anonymous
//!   in-memory file (see [`api`] and `docs/api.md`), a few at a time.
//! * A snapshot file of the index, tagged with the feed position it
//!   reflects, makes restarts take milliseconds plus the changes since.

#![warn(missing_docs)]
#![recursion_limit = "256"]

pub mod api;
pub mod audit;
mod bench;
pub mod db;
pub mod feed;
pub mod http;
pub mod import;
pub mod keys;
pub mod limits;
pub mod matching;
pub mod metrics;
pub mod openapi;
pub mod panics;
pub mod store;
pub mod video;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use nigehbaan_index::LivePdqIndex;
use subtle::ConstantTimeEq;

use crate::db::{DbConfig, DbError, Pool};
use crate::store::Role;

pub use bench::seed_bench;

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The database.
    pub db: DbConfig,
    /// Where the index snapshot is kept (`None`: no snapshot; every start
    /// loads the hashes from the database).
    pub snapshot: Option<PathBuf>,
    /// Largest upload to hash, in bytes (images and other files).
    pub max_upload_bytes: usize,
    /// Video uploads to `/v1/hash` and `/v1/match`.
    pub video: VideoConfig,
    /// Largest list file to import, in bytes.
    pub max_import_bytes: usize,
    /// Largest JSON request, in bytes.
    pub max_json_bytes: usize,
    /// How often to read the change feed.
    pub poll: Duration,
    /// Database connections.
    pub pool_size: usize,
    /// Write a snapshot at most this often while changes arrive.
    pub snapshot_every: Duration,
    /// Change-feed entries kept when the feed is pruned (every
    /// `snapshot_every`); older ones are deleted.
    pub feed_keep: i64,
    /// The audit key file (made, mode 0600, when missing). Needed: the
    /// service writes no unkeyed audit records.
    pub audit_key: Option<PathBuf>,
    /// The audit head file, rewritten after every commit.
    pub audit_head: Option<PathBuf>,
    /// Connection, request and decode limits.
    pub limits: limits::Limits,
    /// Where `/metrics` is served without a key (`None`: only on the main
    /// address, to any valid key).
    pub metrics_listen: Option<String>,
    /// Called after the live index is built (at start) and after each
    /// compaction: the place for the program to hand the build's freed
    /// heap pages back to the system (the binary calls glibc's
    /// `malloc_trim`; a library never trims the process's allocator).
    pub after_index_build: Option<fn()>,
}

impl Config {
    /// Defaults for a database.
    pub fn new(db: DbConfig) -> Config {
        let (audit_key, audit_head) = match &db {
            DbConfig::Sqlite(p) => (
                Some(p.with_extension("audit-key")),
                Some(p.with_extension("audit-head")),
            ),
            DbConfig::Postgres { .. } => (None, None),
        };
        Config {
            db,
            audit_key,
            audit_head,
            limits: limits::Limits::default(),
            metrics_listen: None,
            snapshot: None,
            max_upload_bytes: 64 << 20,
            video: VideoConfig::default(),
            max_import_bytes: 1 << 30,
            max_json_bytes: 1 << 20,
            poll: Duration::from_millis(250),
            pool_size: 4,
            snapshot_every: Duration::from_secs(300),
            feed_keep: 1_000_000,
            after_index_build: None,
        }
    }
}

/// How the service hashes video uploads.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoConfig {
    /// Largest video upload, in bytes (a video is recognised by content).
    pub max_upload_bytes: usize,
    /// Videos hashed at once (each by one `ffmpeg` child); more wait up to
    /// `queue_wait`, then get 503 `busy`.
    pub max_concurrent: usize,
    /// How long a video upload waits for a free slot.
    pub queue_wait: Duration,
    /// Sampling and the decoding limits (wall time, bytes, frames, pixels)
    /// of the video crate.
    pub decode: nigehbaan_video::DecodeOptions,
}

impl Default for VideoConfig {
    /// 256 MiB, 2 at once, 30 s wait, vPDQ's one frame a second and the
    /// video crate's limits.
    fn default() -> Self {
        VideoConfig {
            max_upload_bytes: 256 << 20,
            max_concurrent: 2,
            queue_wait: Duration::from_secs(30),
            decode: nigehbaan_video::DecodeOptions::default(),
        }
    }
}

/// An active API key, as held in memory.
#[derive(Debug, Clone)]
pub struct ActiveKey {
    /// Key id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Requests per second.
    pub rate_limit: i64,
    /// Its own cap on batch-lookup thresholds, if an admin gave it one.
    pub max_batch_threshold: Option<u32>,
    hash: [u8; 32],
}

/// A service instance: database pool, index, keys, metrics.
pub struct App {
    /// The configuration.
    pub config: Config,
    /// The database.
    pub pool: Pool,
    /// The PDQ index.
    pub index: LivePdqIndex,
    /// The video entries' frame index.
    pub video: video::VideoBank,
    /// Slots for video hashing (one `ffmpeg` child each).
    pub video_slots: Arc<tokio::sync::Semaphore>,
    /// The last change-feed position applied to the index.
    pub applied: AtomicI64,
    /// The database's identity.
    pub db_id: u64,
    /// Request counters and latencies.
    pub metrics: metrics::Metrics,
    /// The decode memory budget.
    pub decode_budget: limits::DecodeBudget,
    /// The audit key and head file.
    pub audit: audit::Chain,
    ready: AtomicBool,
    sync_lock: Mutex<()>,
    keys: RwLock<Vec<ActiveKey>>,
    buckets: Mutex<HashMap<i64, (f64, Instant)>>,
    compacting: AtomicBool,
    snapshot_seq: AtomicI64,
    snapshot_lock: Mutex<()>,
    started: Instant,
    last_sync_ok: Mutex<Option<Instant>>,
}

/// Why a service could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The database failed.
    Db(DbError),
    /// A store operation failed.
    Store(store::StoreError),
    /// No audit key file is configured.
    NoAuditKey,
    /// The audit key file could not be read or made.
    AuditKey(audit::AuditError),
    /// The async runtime could not start.
    Runtime(std::io::Error),
    /// An address could not be listened on.
    Listen {
        /// The address.
        addr: String,
        /// What it was for (`api` or `metrics`).
        purpose: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    Serve(std::io::Error),
    /// The index snapshot could not be written.
    Snapshot {
        /// The snapshot file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Db(e) => e.fmt(f),
            StartError::Store(e) => e.fmt(f),
            StartError::NoAuditKey => f.write_str(
                "no audit key file is configured: the audit chain must be keyed with a key kept outside the database",
            ),
            StartError::AuditKey(e) => e.fmt(f),
            StartError::Runtime(e) => write!(f, "cannot start the runtime: {e}"),
            StartError::Listen {
                addr,
                purpose: "metrics",
                source,
            } => write!(f, "cannot listen on {addr} for metrics: {source}"),
            StartError::Listen { addr, source, .. } => {
                write!(f, "cannot listen on {addr}: {source}")
            }
            StartError::Serve(e) => write!(f, "server: {e}"),
            StartError::Snapshot { path, source } => {
                write!(f, "cannot write {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Db(e) => Some(e),
            StartError::Store(e) => Some(e),
            StartError::NoAuditKey => None,
            StartError::AuditKey(e) => Some(e),
            StartError::Runtime(e) | StartError::Serve(e) => Some(e),
            StartError::Listen { source, .. } | StartError::Snapshot { source, .. } => Some(source),
        }
    }
}

impl From<DbError> for StartError {
    fn from(e: DbError) -> Self {
        StartError::Db(e)
    }
}

impl From<store::StoreError> for StartError {
    fn from(e: store::StoreError) -> Self {
        StartError::Store(e)
    }
}

/// The audit key and head file of a configuration (the key file is made
/// when missing).
pub fn audit_chain(config: &Config) -> Result<audit::Chain, StartError> {
    let Some(path) = &config.audit_key else {
        return Err(StartError::NoAuditKey);
    };
    let key = audit::AuditKey::load_or_create(path).map_err(StartError::AuditKey)?;
    Ok(audit::Chain::new(key, config.audit_head.clone()))
}

/// Opens `size` connections (running migrations) that write audit records
/// with the configuration's audit chain.
pub fn open_pool(config: &Config, size: usize) -> Result<Pool, StartError> {
    let chain = audit_chain(config)?;
    Ok(Pool::open_keyed(&config.db, size, chain)?)
}

impl App {
    /// Opens the database (running migrations), loads the index from the
    /// snapshot when it belongs to this database, else from the database,
    /// and catches up with the change feed. Blocks.
    pub fn open(config: Config) -> Result<Arc<App>, StartError> {
        let started = Instant::now();
        let audit = audit_chain(&config)?;
        let pool = Pool::open_keyed(&config.db, config.pool_size, audit.clone())?;
        if let Err(e) = import::clean_stale(pool.get().as_mut()) {
            tracing::warn!(error = %e, "cannot clean up stale import staging");
        }
        let db_id = store::db_id(pool.get().as_mut())?;
        let mut loaded = None;
        if let Some(path) = config.snapshot.as_ref().filter(|p| p.exists()) {
            match LivePdqIndex::load_snapshot(path) {
                Ok((index, [seq, id])) if id == db_id => loaded = Some((index, seq as i64)),
                Ok(_) => tracing::warn!(
                    snapshot = %path.display(),
                    "the snapshot belongs to another database; loading from the database"
                ),
                Err(e) => tracing::warn!(
                    snapshot = %path.display(),
                    error = %e,
                    "the snapshot is unusable; loading from the database"
                ),
            }
        }
        let from_db = loaded.is_none();
        let (index, seq) = match loaded {
            Some(x) => x,
            None => {
                let (hashes, seq) = store::all_pdq(pool.get().as_mut())?;
                (LivePdqIndex::new(&hashes), seq)
            }
        };
        // Read after the PDQ load: at least as new as `seq`, so replaying
        // the feed from there is harmless.
        let videos = store::all_video(pool.get().as_mut())?;
        let video = video::VideoBank::new(&videos);
        drop(videos);
        let decode_budget = limits::DecodeBudget::new(config.limits.decode_budget_bytes);
        let video_slots = Arc::new(tokio::sync::Semaphore::new(
            config.video.max_concurrent.max(1),
        ));
        let app = Arc::new(App {
            config,
            pool,
            index,
            video,
            video_slots,
            applied: AtomicI64::new(seq),
            db_id,
            metrics: metrics::Metrics::default(),
            decode_budget,
            audit,
            ready: AtomicBool::new(false),
            sync_lock: Mutex::new(()),
            keys: RwLock::new(Vec::new()),
            buckets: Mutex::new(HashMap::new()),
            compacting: AtomicBool::new(false),
            snapshot_seq: AtomicI64::new(if from_db { -1 } else { seq }),
            snapshot_lock: Mutex::new(()),
            started,
            last_sync_ok: Mutex::new(None),
        });
        app.sync()?;
        app.reload_keys()?;
        if from_db && app.config.snapshot.is_some() {
            app.write_snapshot();
        }
        if let Some(f) = app.config.after_index_build {
            f();
        }
        app.ready.store(true, Ordering::SeqCst);
        Ok(app)
    }

    /// True once the index is loaded and the last feed read succeeded
    /// recently.
    pub fn is_ready(&self) -> bool {
        let fresh = self
            .last_sync_ok
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|t| t.elapsed() < self.config.poll * 8 + Duration::from_secs(2));
        self.ready.load(Ordering::SeqCst) && fresh
    }

    /// Seconds since the instance started opening.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Applies every change-feed entry after the last applied one. Blocks.
    /// Returns how many were applied.
    pub fn sync(self: &Arc<Self>) -> Result<usize, DbError> {
        let _one = self.sync_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut total = 0;
        let result = loop {
            let from = self.applied.load(Ordering::SeqCst);
            let page = match store::changes_since(self.pool.get().as_mut(), from, 10_000) {
                Ok(p) => p,
                Err(e) => break Err(e),
            };
            // Read after the page: a prune that removed changes this
            // instance has not applied shows here, even one that ran while
            // the page was read.
            match store::feed_floor(self.pool.get().as_mut()) {
                Ok(floor) if from + 1 < floor => {
                    match self.reload_all() {
                        Ok(n) => total += n,
                        Err(e) => break Err(e),
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => break Err(e),
            }
            if let Err(e) = self.apply(&page) {
                break Err(e);
            }
            if let Some(last) = page.last() {
                self.applied.store(last.seq, Ordering::SeqCst);
            }
            total += page.len();
            if page.len() < 10_000 {
                break Ok(total);
            }
        };
        if result.is_ok() {
            *self.last_sync_ok.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        }
        if self.index.wants_compaction() || self.video.wants_compaction() {
            self.compact_in_background();
        }
        result
    }

    /// Applies a page of the feed to the indexes, in order (an added video
    /// entry's frames are read from the database first; one removed since
    /// is skipped, its removal follows in the feed).
    fn apply(&self, page: &[store::Change]) -> Result<(), DbError> {
        use crate::feed::Changed;
        let added: Vec<i64> = page
            .iter()
            .filter_map(|ch| match ch.what {
                Changed::Video(id) if ch.add => Some(id),
                _ => None,
            })
            .collect();
        let mut frames: HashMap<i64, Vec<nigehbaan_video::FrameHash>> = if added.is_empty() {
            HashMap::new()
        } else {
            store::video_frames(self.pool.get().as_mut(), &added)?
                .into_iter()
                .collect()
        };
        for ch in page {
            match (ch.what, ch.add) {
                (Changed::Pdq(h), true) => self.index.insert(h),
                (Changed::Pdq(h), false) => self.index.remove(h),
                (Changed::Video(id), true) => {
                    if let Some(f) = frames.remove(&id) {
                        self.video.insert(id, &f);
                    }
                }
                (Changed::Video(id), false) => self.video.remove(id),
            }
        }
        Ok(())
    }

    /// Replaces the whole index with every hash in the database (when the
    /// change feed was pruned past this instance's position). Returns the
    /// number of hashes loaded.
    fn reload_all(&self) -> Result<usize, DbError> {
        let (hashes, seq) = store::all_pdq(self.pool.get().as_mut())?;
        self.index.reset(&hashes);
        self.video
            .reset(&store::all_video(self.pool.get().as_mut())?);
        self.applied.store(seq, Ordering::SeqCst);
        tracing::warn!(
            pdq_hashes = hashes.len(),
            "the change feed was pruned past this instance's position; reloaded every PDQ hash from the database"
        );
        Ok(hashes.len())
    }

    /// Prunes the change feed to its newest [`Config::feed_keep`] entries.
    /// Blocks.
    pub fn prune_feed(&self) -> Result<Option<i64>, DbError> {
        store::prune_feed(self.pool.get().as_mut(), self.config.feed_keep)
    }

    fn compact_in_background(self: &Arc<App>) {
        if self.compacting.swap(true, Ordering::SeqCst) {
            return;
        }
        let app = self.clone();
        let spawned = std::thread::Builder::new()
            .name("index-compaction".into())
            .spawn(move || {
                app.index.compact();
                app.video.compact();
                if let Some(f) = app.config.after_index_build {
                    f();
                }
                app.compacting.store(false, Ordering::SeqCst);
            });
        if spawned.is_err() {
            self.compacting.store(false, Ordering::SeqCst);
        }
    }

    /// Reloads the active API keys from the database. Blocks.
    pub fn reload_keys(&self) -> Result<(), DbError> {
        let keys = store::list_keys(self.pool.get().as_mut())?
            .into_iter()
            .filter(|k| k.revoked_at.is_none())
            .filter_map(|k| {
                Some(ActiveKey {
                    id: k.id,
                    name: k.name,
                    role: Role::parse(&k.role)?,
                    rate_limit: k.rate_limit,
                    max_batch_threshold: k.max_batch_threshold.map(|t| t.clamp(0, 63) as u32),
                    hash: k.hash.as_slice().try_into().ok()?,
                })
            })
            .collect();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
        Ok(())
    }

    /// The key whose SHA-256 is that of `presented`, compared in constant
    /// time against every active key.
    pub fn authenticate(&self, presented: &str) -> Option<ActiveKey> {
        let h = store::key_hash(presented);
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let mut found = None;
        for k in keys.iter() {
            if bool::from(k.hash.ct_eq(&h)) {
                found = Some(k.clone());
            }
        }
        found
    }

    /// Takes one token from the key's bucket; false when it is empty (or
    /// in debt from costly requests).
    pub fn take_token(&self, key: &ActiveKey) -> bool {
        self.bucket(key.id, key.rate_limit, |tokens| {
            if *tokens >= 1.0 {
                *tokens -= 1.0;
                true
            } else {
                false
            }
        })
    }

    /// Charges `tokens` more to key `id` for a costly request's work
    /// (already admitted): the bucket may go into debt, down to a minute's
    /// worth of tokens, and the key's next requests wait until it is repaid.
    pub fn charge(&self, id: i64, rate_limit: i64, tokens: u64) {
        let floor = -(rate_limit.max(1) as f64) * 60.0;
        self.bucket(id, rate_limit, |t| {
            *t = (*t - tokens as f64).max(floor);
        });
    }

    fn bucket<T>(&self, id: i64, rate_limit: i64, f: impl FnOnce(&mut f64) -> T) -> T {
        let rate = rate_limit.max(1) as f64;
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, at) = b.entry(id).or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(rate);
        *at = now;
        f(tokens)
    }

    /// Writes the index snapshot when one is configured and the index moved
    /// since the last. Blocks. The tag is the feed position read before the
    /// index parts are taken: replaying changes already in a snapshot is
    /// harmless (each hash ends in the state of its last change).
    pub fn write_snapshot(&self) {
        let Some(path) = &self.config.snapshot else {
            return;
        };
        // One writer at a time; a second caller waits for the first.
        let _one = self.snapshot_lock.lock().unwrap_or_else(|e| e.into_inner());
        let seq = self.applied.load(Ordering::SeqCst);
        if self.snapshot_seq.load(Ordering::SeqCst) == seq {
            return;
        }
        match self.index.write_snapshot(path, [seq as u64, self.db_id]) {
            Ok(()) => self.snapshot_seq.store(seq, Ordering::SeqCst),
            Err(e) => tracing::error!(
                snapshot = %path.display(),
                error = %e,
                "cannot write the snapshot"
            ),
        }
    }

    /// The feed position of the last snapshot written or opened (-1: none).
    pub fn snapshot_seq(&self) -> i64 {
        self.snapshot_seq.load(Ordering::SeqCst)
    }
}

/// Runs the background work of an instance until `stop` resolves: reading
/// the change feed, reloading keys, compacting and snapshotting.
pub async fn background(app: Arc<App>) {
    let mut last_snapshot = Instant::now();
    let mut tick = tokio::time::interval(app.config.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let a = app.clone();
        let done = tokio::task::spawn_blocking(move || {
            if let Err(e) = a.sync() {
                tracing::warn!(error = %e, "change feed");
            }
            if let Err(e) = a.reload_keys() {
                tracing::warn!(error = %e, "reloading API keys");
            }
        })
        .await;
        if done.is_err() {
            tracing::error!("background task failed; continuing");
        }
        if last_snapshot.elapsed() >= app.config.snapshot_every {
            // Writing a large snapshot takes seconds: never in the way of
            // reading the feed.
            let a = app.clone();
            drop(tokio::task::spawn_blocking(move || {
                a.write_snapshot();
                if let Err(e) = a.prune_feed() {
                    tracing::warn!(error = %e, "pruning the change feed");
                }
            }));
            last_snapshot = Instant::now();
        }
    }
}

/// Serves on `listener` until `shutdown` resolves; in-flight requests are
/// drained, then a last snapshot is written.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let bg = tokio::spawn(background(app.clone()));
    let router = api::router(app.clone());
    let limits = app.config.limits.clone();
    http::serve_router(router, listener, &limits, shutdown).await?;
    bg.abort();
    let a = app.clone();
    let _ = tokio::task::spawn_blocking(move || a.write_snapshot()).await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Opens the service and serves on `listen` (e.g. `127.0.0.1:8080`; port 0
/// picks a free port) until SIGINT/SIGTERM. Prints `listening on ADDR` to
/// standard error once ready. Blocks.
pub fn run(config: Config, listen: &str) -> Result<(), StartError> {
    let t = Instant::now();
    panics::install_hook();
    let app = App::open(config)?;
    first_key(&app)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: listen.to_string(),
                purpose: "api",
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: listen.to_string(),
            purpose: "api",
            source,
        })?;
        if let Some(m) = &app.config.metrics_listen {
            let ml =
                tokio::net::TcpListener::bind(m)
                    .await
                    .map_err(|source| StartError::Listen {
                        addr: m.clone(),
                        purpose: "metrics",
                        source,
                    })?;
            let maddr = ml.local_addr().map_err(|source| StartError::Listen {
                addr: m.clone(),
                purpose: "metrics",
                source,
            })?;
            tracing::info!("metrics (no key) on {maddr}");
            let (router, limits) = (api::metrics_router(app.clone()), app.config.limits.clone());
            tokio::spawn(async move {
                let _ = http::serve_router(router, ml, &limits, std::future::pending()).await;
            });
        }
        let s = app.index.stats();
        // The address ends the line: scripts read it after "listening on ".
        tracing::info!(
            "{} PDQ hashes indexed, ready in {:.3} s; listening on {addr}",
            s.base + s.delta + s.tail,
            t.elapsed().as_secs_f64()
        );
        let r = serve(app.clone(), listener, shutdown_signal())
            .await
            .map_err(StartError::Serve);
        tracing::info!("shutting down: in-flight requests finished");
        r
    });
    drop(rt);
    drop(app);
    tracing::info!("stopped");
    result
}

/// On a database without any API key, makes the first admin key and
/// prints it to standard error, once: there is no default key.
fn first_key(app: &App) -> Result<(), StartError> {
    let mut c = app.pool.get();
    if !store::list_keys(c.as_mut())?.is_empty() {
        return Ok(());
    }
    let (id, key) = store::create_key(
        c.as_mut(),
        "startup",
        "first-admin",
        Role::Admin,
        1000,
        None,
    )?;
    drop(c);
    app.reload_keys()?;
    eprintln!(
        "nigehbaan serve: the database had no API keys; made admin key {id} \"first-admin\", shown only now: {key}"
    );
    Ok(())
}
