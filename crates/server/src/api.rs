//! The HTTP API: the route table (from which both the router and the
//! OpenAPI document are made), authentication, rate limits, body limits,
//! JSON errors and the handlers.
//!
//! Uploads are request bodies held in memory: they are hashed on a blocking
//! thread and dropped; nothing writes or logs them.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, MethodRouter};
use axum::{Extension, Json, Router};
use futures_util::FutureExt;
use nigehbaan_filehash::{hash_bytes, FileError, FileHashes, Options};
use nigehbaan_lists::hex;
use nigehbaan_pdq::{Hash256, Hasher};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::store::{self, AddOptions, HashKind, NewEntry, Role, Selector, StoreError};
use crate::App;

use crate::matching::{lookup_batch, lookup_one, match_upload};
pub use crate::matching::{parse_lookup, LookupQuery, MatchOut, Parsed};

/// The most queries in one batch lookup, or entries in one add or remove.
pub const MAX_BATCH: usize = 1000;

// ---------------------------------------------------------------- errors --

/// An error answer: `{"error": "...", "code": "..."}` with a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code.
    pub code: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(json!({"error": self.message, "code": self.code})),
        )
            .into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS || self.code == "busy" {
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        r
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            StoreError::Invalid(m) => ApiError::bad("invalid", m),
            StoreError::Db(e) => db_error(e),
        }
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        db_error(e)
    }
}

fn db_error(e: crate::db::DbError) -> ApiError {
    eprintln!("nigehbaan serve: {e}");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        "the database could not complete the request; try again",
    )
}

pub(crate) fn body_error(e: BytesRejection) -> ApiError {
    if crate::http::is_body_timeout(&e) {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "the request body did not arrive within the body timeout",
        )
    } else if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is over this route's size limit",
        )
    } else {
        ApiError::bad("bad_body", format!("cannot read the request body: {e}"))
    }
}

fn path_error(e: PathRejection) -> ApiError {
    ApiError::bad("bad_path", format!("bad path parameter: {}", e.body_text()))
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Parses a JSON body.
pub fn parse_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> ApiResult<T> {
    let body = body.map_err(body_error)?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad("bad_json", format!("the JSON body is not valid: {e}")))
}

/// Parses a query string into name/value pairs (percent-decoded).
pub fn parse_query(raw: Option<&str>) -> ApiResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let k = percent_decode(k)?;
        let v = percent_decode(v)?;
        if out.insert(k.clone(), v).is_some() {
            return Err(ApiError::bad(
                "bad_query",
                format!("query parameter {k:?} is given twice"),
            ));
        }
    }
    Ok(out)
}

fn percent_decode(s: &str) -> ApiResult<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hexd = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let v = hexd
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::bad("bad_query", "bad percent-encoding in the query string")
                    })?;
                out.push(v);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ApiError::bad("bad_query", "the query string is not UTF-8"))
}

pub(crate) struct Query(HashMap<String, String>);

impl Query {
    pub(crate) fn new(raw: &RawQuery, allowed: &[&str]) -> ApiResult<Query> {
        let q = parse_query(raw.0.as_deref())?;
        if let Some(k) = q.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::bad(
                "bad_query",
                format!(
                    "unknown query parameter {k:?} (this route takes: {})",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Query(q))
    }

    pub(crate) fn get<T: FromStr>(&self, name: &str) -> ApiResult<Option<T>> {
        match self.0.get(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::bad(
                    "bad_query",
                    format!("query parameter {name} has a bad value {v:?}"),
                )
            }),
        }
    }

    pub(crate) fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

// ------------------------------------------------------------------ auth --

/// Who is calling, as the auth layer found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `key:<id>:<name>`, as the audit log records it.
    pub actor: String,
    /// The key's role.
    pub role: Role,
    /// The key's id.
    pub key_id: i64,
    /// The key's rate limit (requests/s).
    pub rate_limit: i64,
    /// The largest batch threshold the key may use.
    pub max_batch_threshold: u32,
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get("x-api-key") {
        return v.to_str().ok();
    }
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(str::trim)
}

async fn auth(
    State((app, role)): State<(Arc<App>, Role)>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(key) = presented_key(req.headers()) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_key",
            "this route needs an API key: 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'",
        )
        .into_response();
    };
    let Some(k) = app.authenticate(key) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_key",
            "the API key is not valid",
        )
        .into_response();
    };
    if k.role < role {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this route needs the {} role; the key has {}",
                role.name(),
                k.role.name()
            ),
        )
        .into_response();
    }
    if !app.take_token(&k) {
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("over this key's limit of {} requests/s", k.rate_limit),
        )
        .into_response();
    }
    let max_batch_threshold = match (k.max_batch_threshold, k.role) {
        (Some(t), _) => t,
        (None, Role::Matcher) => app.config.limits.matcher_batch_threshold,
        (None, _) => nigehbaan_index::MAX_RADIUS,
    };
    req.extensions_mut().insert(Caller {
        actor: format!("key:{}:{}", k.id, k.name),
        role: k.role,
        key_id: k.id,
        rate_limit: k.rate_limit,
        max_batch_threshold,
    });
    next.run(req).await
}

async fn track(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_string(), |m| m.as_str().to_string());
    let t = Instant::now();
    // A handler that panics (a bug) answers a JSON 500 instead of dropping
    // the connection; the process goes on serving.
    let r = match std::panic::AssertUnwindSafe(next.run(req))
        .catch_unwind()
        .await
    {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; please report it with the request you made",
        )
        .into_response(),
    };
    app.metrics.record(&route, r.status().as_u16(), t.elapsed());
    r
}

// ----------------------------------------------------------- route table --

/// What a route's request body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    None,
    /// JSON, with the named schema.
    Json(&'static str),
    /// An uploaded file, hashed in memory.
    Upload,
    /// A hash-list file.
    ListFile,
}

/// One route: the router and the OpenAPI document are both made from
/// [`ROUTES`].
pub struct Route {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path, with `{name}` parameters.
    pub path: &'static str,
    /// The least role that may call it; `None`: no key needed.
    pub role: Option<Role>,
    /// One line for the document.
    pub summary: &'static str,
    /// The request body.
    pub body: BodyKind,
    /// Query parameters: name, type (`string`, `integer`, `boolean`), description.
    pub query: &'static [(&'static str, &'static str, &'static str)],
    /// Success status.
    pub status: u16,
    /// Success response schema name (`text` for plain text).
    pub response: &'static str,
    /// The handler.
    pub handler: fn() -> MethodRouter<Arc<App>>,
}

const MATCH_QUERY: &[(&str, &str, &str)] = &[
    (
        "threshold",
        "integer",
        "largest PDQ distance to report (default 31, at most 63)",
    ),
    (
        "min_quality",
        "integer",
        "skip PDQ matching below this PDQ quality (default 50)",
    ),
    (
        "dihedral",
        "boolean",
        "also match the 8 rotations/flips of the upload (default false)",
    ),
    (
        "banks",
        "string",
        "comma-separated bank names to match against (default all enabled banks)",
    ),
    (
        "allow_non_image",
        "boolean",
        "accept uploads that are not decodable images (digests only; default false)",
    ),
];
const HASH_QUERY: &[(&str, &str, &str)] = &[
    (
        "dihedral",
        "boolean",
        "also compute the 8 rotation/flip hashes (default false)",
    ),
    (
        "allow_non_image",
        "boolean",
        "accept uploads that are not decodable images (digests only; default false)",
    ),
];
const LOOKUP_QUERY: &[(&str, &str, &str)] = &[
    ("pdq", "string", "a PDQ hash, 64 hex digits"),
    ("md5", "string", "an MD5, 32 hex digits"),
    ("sha1", "string", "a SHA-1, 40 hex digits"),
    ("sha256", "string", "a SHA-256, 64 hex digits"),
    (
        "threshold",
        "integer",
        "largest PDQ distance to report (default 31, at most 63)",
    ),
    (
        "banks",
        "string",
        "comma-separated bank names (default all enabled banks)",
    ),
];
const UPLOAD_ENTRY_QUERY: &[(&str, &str, &str)] = &[
    (
        "category_scheme",
        "string",
        "category scheme (with category_code)",
    ),
    (
        "category_code",
        "string",
        "category code (with category_scheme)",
    ),
    ("status", "string", "notable (default) or known"),
    ("external_id", "string", "the issuer's id for the entry"),
    (
        "allow_non_image",
        "boolean",
        "accept uploads that are not decodable images (digests only)",
    ),
];
const IMPORT_QUERY: &[(&str, &str, &str)] = &[
    ("format", "string", "list format (vics, ncmec, hma-csv, hma-text, hashsum, hashdeep, nigehbaan-csv); detected by content when absent"),
    ("status", "string", "notable or known (default: the format's)"),
    ("scheme", "string", "category scheme for bare codes"),
    ("replace", "boolean", "replace the bank's entries at once, all or nothing (default false)"),
    ("create", "boolean", "create the bank when missing (default false: a missing bank is 404)"),
    ("allow_empty", "boolean", "let replace=true empty the bank with a list of no entries (default false: refused)"),
    ("allow_unknown", "boolean", "skip records of unknown signal types, with warnings (default false: refused, naming their lines)"),
];
const AUDIT_QUERY: &[(&str, &str, &str)] = &[
    (
        "after",
        "integer",
        "records after this sequence number (default 0)",
    ),
    (
        "limit",
        "integer",
        "at most this many (default 100, at most 1000)",
    ),
];

/// Every route of the API.
pub const ROUTES: &[Route] = &[
    Route {
        method: "get",
        path: "/health/live",
        role: None,
        summary: "The process is up.",
        body: BodyKind::None,
        query: &[],
        status: 200,
        response: "Health",
        handler: || get(live),
    },
    Route {
        method: "get",
        path: "/health/ready",
        role: None,
        summary: "The index is loaded and the database answers (503 otherwise).",
        body: BodyKind::None,
        query: &[],
        status: 200,
        response: "Health",
        handler: || get(ready),
    },
    Route {
        method: "get",
        path: "/metrics",
        role: Some(Role::Matcher),
        summary: "Prometheus metrics (or without a key on the separate metrics address, when one is configured).",
        body: BodyKind::None,
        query: &[],
        status: 200,
        response: "text",
        handler: || get(metrics),
    },
    Route {
        method: "get",
        path: "/openapi.json",
        role: None,
        summary: "This document.",
        body: BodyKind::None,
        query: &[],
        status: 200,
        response: "Object",
        handler: || get(openapi),
    },
    Route {
        method: "post",
        path: "/v1/hash",
        role: Some(Role::Matcher),
        summary: "Hash an upload: MD5, SHA-1, SHA-256 and PDQ.",
        body: BodyKind::Upload,
        query: HASH_QUERY,
        status: 200,
        response: "Hashes",
        handler: || post(hash_upload),
    },
    Route {
        method: "post",
        path: "/v1/match",
        role: Some(Role::Matcher),
        summary: "Hash an upload and match it in one call.",
        body: BodyKind::Upload,
        query: MATCH_QUERY,
        status: 200,
        response: "MatchResult",
        handler: || post(match_upload),
    },
    Route {
        method: "get",
        path: "/v1/lookup",
        role: Some(Role::Matcher),
        summary: "Look up one hash (exactly one of pdq, md5, sha1, sha256).",
        body: BodyKind::None,
        query: LOOKUP_QUERY,
        status: 200,
        response: "LookupResult",
        handler: || get(lookup_one),
    },
    Route {
        method: "post",
        path: "/v1/lookup",
        role: Some(Role::Matcher),
        summary: "Look up a batch of up to 1000 hashes.",
        body: BodyKind::Json("BatchLookup"),
        query: &[],
        status: 200,
        response: "BatchResult",
        handler: || post(lookup_batch),
    },
    Route {
        method: "get",
        path: "/v1/banks",
        role: Some(Role::Matcher),
        summary: "List banks.",
        body: BodyKind::None,
        query: &[],
        status: 200,
        response: "BankList",
        handler: || get(list_banks),
    },
    Route {
        method: "post",
        path: "/v1/banks",
        role: Some(Role::Curator),
        summary: "Create a bank.",
        body: BodyKind::Json("NewBank"),
        query: &[],
        status: 201,
        response: "Bank",
        handler: || post(create_bank),
    },
    Route {
        method: "get",
        path: "/v1/banks/{bank}",
        role: Some(Role::Matcher),
        summary: "One bank.",
        body: BodyKind::None,
        query: &[],
        status: 200,
        response: "Bank",
        handler: || get(get_bank),
    },
    Route {
        method: "patch",
        path: "/v1/banks/{bank}",
        role: Some(Role::Curator),
        summary: "Rename a bank, change its description, enable or disable it.",
        body: BodyKind::Json("BankUpdate"),
        query: &[],
        status: 200,
        response: "Bank",
        handler: || patch(update_bank),
    },
    Route {
        method: "delete",
        path: "/v1/banks/{bank}",
        role: Some(Role::Admin),
        summary: "Delete a bank and its entries.",
        body: BodyKind::None,
        query: &[],
        status: 200,
        response: "Deleted",
        handler: || delete(delete_bank),
    },
    Route {
        method: "post",
        path: "/v1/banks/{bank}/entries",
        role: Some(Role::Curator),
        summary: "Add up to 1000 entries by hash.",
        body: BodyKind::Json("NewEntries"),
        query: &[],
        status: 201,
        response: "Added",
        handler: || post(add_entries),
    },
    Route {
        method: "post",
        path: "/v1/banks/{bank}/entries/upload",
        role: Some(Role::Curator),
        summary: "Add an entry by uploading the file (hashed in memory, not kept).",
        body: BodyKind::Upload,
        query: UPLOAD_ENTRY_QUERY,
        status: 201,
        response: "Added",
        handler: || post(add_upload),
    },
    Route {
        method: "post",
        path: "/v1/banks/{bank}/entries/remove",
        role: Some(Role::Curator),
        summary: "Remove entries by id or hash (up to 1000 selectors).",
        body: BodyKind::Json("Selectors"),
        query: &[],
        status: 200,
        response: "Removed",
        handler: || post(remove_entries),
    },
    Route {
        method: "post",
        path: "/v1/banks/{bank}/entries/remove-upload",
        role: Some(Role::Curator),
        summary: "Remove the entries whose hashes equal an upload's.",
        body: BodyKind::Upload,
        query: &[(
            "allow_non_image",
            "boolean",
            "accept uploads that are not decodable images",
        )],
        status: 200,
        response: "Removed",
        handler: || post(remove_upload),
    },
    Route {
        method: "delete",
        path: "/v1/banks/{bank}/entries/{id}",
        role: Some(Role::Curator),
        summary: "Remove one entry.",
        body: BodyKind::None,
        query: &[],
        status: 200,
        response: "Removed",
        handler: || delete(remove_entry),
    },
    Route {
        method: "post",
        path: "/v1/banks/{bank}/import",
        role: Some(Role::Curator),
        summary: "Bulk-import a list file into a bank, all or nothing.",
        body: BodyKind::ListFile,
        query: IMPORT_QUERY,
        status: 201,
        response: "Imported",
        handler: || post(import_list),
    },
    Route {
        method: "get",
        path: "/v1/index",
        role: Some(Role::Matcher),
        summary: "Index status.",
        body: BodyKind::None,
        query: &[],
        status: 200,
        response: "IndexStatus",
        handler: || get(index_status),
    },
    Route {
        method: "get",
        path: "/v1/audit",
        role: Some(Role::Admin),
        summary: "Read the audit log.",
        body: BodyKind::None,
        query: AUDIT_QUERY,
        status: 200,
        response: "AuditPage",
        handler: || get(audit_page),
    },
    Route {
        method: "get",
        path: "/v1/audit/verify",
        role: Some(Role::Admin),
        summary: "Check the audit log's hash chain.",
        body: BodyKind::None,
        query: &[],
        status: 200,
        response: "AuditCheck",
        handler: || get(audit_verify),
    },
    Route {
        method: "get",
        path: "/v1/keys",
        role: Some(Role::Admin),
        summary: "List API keys (never the keys themselves).",
        body: BodyKind::None,
        query: &[],
        status: 200,
        response: "KeyList",
        handler: || get(list_keys),
    },
    Route {
        method: "post",
        path: "/v1/keys",
        role: Some(Role::Admin),
        summary: "Create an API key; the key is in this answer only.",
        body: BodyKind::Json("NewKey"),
        query: &[],
        status: 201,
        response: "CreatedKey",
        handler: || post(create_key),
    },
    Route {
        method: "delete",
        path: "/v1/keys/{id}",
        role: Some(Role::Admin),
        summary: "Revoke an API key.",
        body: BodyKind::None,
        query: &[],
        status: 200,
        response: "Deleted",
        handler: || delete(revoke_key),
    },
];

/// The router for an instance.
pub fn router(app: Arc<App>) -> Router {
    let mut r: Router<Arc<App>> = Router::new();
    for route in ROUTES {
        let limit = match route.body {
            BodyKind::None | BodyKind::Json(_) => app.config.max_json_bytes,
            BodyKind::Upload => app.config.max_upload_bytes,
            BodyKind::ListFile => app.config.max_import_bytes,
        };
        let mut mr = (route.handler)().layer(DefaultBodyLimit::max(limit)).layer(
            middleware::from_fn_with_state(limit, crate::http::declared_length),
        );
        if let Some(role) = route.role {
            mr = mr.route_layer(middleware::from_fn_with_state((app.clone(), role), auth));
        }
        r = r.route(route.path, mr);
    }
    r.fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .layer(middleware::from_fn_with_state(
            app.config.limits.body_timeout,
            crate::http::body_deadline,
        ))
        .layer(middleware::from_fn_with_state(app.clone(), track))
        .with_state(app)
}

/// The router for the separate metrics address: `/metrics` without a key.
pub fn metrics_router(app: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(app)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "no such route; see /openapi.json",
    )
}

async fn not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method; see /openapi.json",
    )
}

// ---------------------------------------------------------------- public --

async fn live() -> Json<Value> {
    Json(json!({"status": "live"}))
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    if app.is_ready() {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready"})),
        )
            .into_response()
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let s = app.index.stats();
    let text = app.metrics.render(&[
        (
            "nigehbaan_index_entries",
            "PDQ hashes in the index (base + delta + tail).",
            (s.base + s.delta + s.tail) as f64,
        ),
        (
            "nigehbaan_index_tombstones",
            "Removed hashes not yet compacted away.",
            s.tombstones as f64,
        ),
        (
            "nigehbaan_index_memory_bytes",
            "Bytes held by the index.",
            s.memory_bytes as f64,
        ),
        (
            "nigehbaan_index_compactions",
            "Compactions since start.",
            s.compactions as f64,
        ),
        (
            "nigehbaan_feed_applied_seq",
            "Last change-feed position applied.",
            app.applied.load(std::sync::atomic::Ordering::SeqCst) as f64,
        ),
        (
            "nigehbaan_ready",
            "1 when ready.",
            if app.is_ready() { 1.0 } else { 0.0 },
        ),
    ]);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

// ---------------------------------------------------------------- hashing --

thread_local! {
    static HASHER: std::cell::RefCell<Hasher> = std::cell::RefCell::new(Hasher::new());
}

/// Hashes an upload on a blocking thread; the bytes are dropped there.
/// An image's decode is first charged to the decode budget from its
/// declared size (503 `busy` when the budget is full), and an image over
/// the service's pixel limit is refused before decoding.
async fn hash_upload_bytes(app: &App, body: Bytes, dihedral: bool) -> ApiResult<FileHashes> {
    let limits = &app.config.limits;
    let mut opts = Options {
        dihedral,
        ..Options::default()
    };
    opts.limits.max_pixels = opts.limits.max_pixels.min(limits.max_pixels);
    let permit = crate::limits::admit(app, &body, &opts)?;
    tokio::task::spawn_blocking(move || {
        let fh = HASHER.with(|h| hash_bytes(&body, &opts, &mut h.borrow_mut()));
        drop(body);
        drop(permit);
        fh
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "undecodable_image",
            "the upload could not be hashed",
        )
    })
}

fn check_image(fh: &FileHashes, allow_non_image: bool) -> ApiResult<()> {
    if allow_non_image {
        return Ok(());
    }
    match (&fh.image, &fh.error) {
        (_, Some(FileError::Decode(e))) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "undecodable_image",
            format!("the upload is an image that cannot be decoded: {e} (allow_non_image=true for digests only)"),
        )),
        (_, Some(e)) => Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "undecodable_image", e.to_string())),
        (None, None) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_an_image",
            "the upload is not an image in a supported format (allow_non_image=true for digests only)",
        )),
        (Some(_), None) => Ok(()),
    }
}

pub(crate) fn hashes_json(fh: &FileHashes, dihedral: bool) -> Value {
    let opts = Options {
        dihedral,
        ..Options::default()
    };
    let mut v = serde_json::to_value(fh.to_record(String::new(), &opts)).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("path");
    }
    v
}

pub(crate) async fn upload_hashes(
    app: &App,
    body: Result<Bytes, BytesRejection>,
    q: &Query,
) -> ApiResult<(FileHashes, bool)> {
    let body = body.map_err(body_error)?;
    let dihedral = q.get::<bool>("dihedral")?.unwrap_or(false);
    let fh = hash_upload_bytes(app, body, dihedral).await?;
    check_image(&fh, q.get::<bool>("allow_non_image")?.unwrap_or(false))?;
    Ok((fh, dihedral))
}

async fn hash_upload(
    State(app): State<Arc<App>>,
    raw: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let q = Query::new(&raw, &["dihedral", "allow_non_image"])?;
    let (fh, dihedral) = upload_hashes(&app, body, &q).await?;
    Ok(Json(hashes_json(&fh, dihedral)))
}

// ------------------------------------------------------------------ banks --

/// Runs a database call on a blocking thread, then (for writes) brings
/// this instance's index up to date so that the caller's own change is
/// matchable on return.
async fn db<T: Send + 'static>(
    app: &Arc<App>,
    write: bool,
    f: impl FnOnce(&mut dyn crate::db::Conn) -> Result<T, ApiError> + Send + 'static,
) -> ApiResult<T> {
    let a = app.clone();
    tokio::task::spawn_blocking(move || {
        let r = {
            let mut c = a.pool.get();
            f(c.as_mut())
        };
        if write && r.is_ok() {
            if let Err(e) = a.sync() {
                eprintln!("nigehbaan serve: change feed: {e}");
            }
        }
        r
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal",
            "the request could not complete; try again",
        )
    })?
}

async fn list_banks(State(app): State<Arc<App>>) -> ApiResult<Json<Value>> {
    let banks = db(&app, false, |c| Ok(store::list_banks(c)?)).await?;
    Ok(Json(json!({ "banks": banks })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBank {
    name: String,
    #[serde(default)]
    description: String,
    enabled: Option<bool>,
}

async fn create_bank(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<store::Bank>)> {
    let b: NewBank = parse_json(body)?;
    let bank = db(&app, true, move |c| {
        Ok(store::create_bank(
            c,
            &who.actor,
            &b.name,
            &b.description,
            b.enabled.unwrap_or(true),
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(bank)))
}

async fn get_bank(
    State(app): State<Arc<App>>,
    name: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<store::Bank>> {
    let Path(name) = name.map_err(path_error)?;
    Ok(Json(
        db(&app, false, move |c| Ok(store::get_bank(c, &name)?)).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BankUpdate {
    name: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
}

async fn update_bank(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<store::Bank>> {
    let Path(name) = name.map_err(path_error)?;
    let u: BankUpdate = parse_json(body)?;
    Ok(Json(
        db(&app, true, move |c| {
            Ok(store::update_bank(
                c,
                &who.actor,
                &name,
                u.name.as_deref(),
                u.description.as_deref(),
                u.enabled,
            )?)
        })
        .await?,
    ))
}

async fn delete_bank(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let Path(name) = name.map_err(path_error)?;
    let n2 = name.clone();
    let n = db(&app, true, move |c| {
        Ok(store::delete_bank(c, &who.actor, &n2)?)
    })
    .await?;
    Ok(Json(json!({"deleted": name, "entries": n})))
}

// ---------------------------------------------------------------- entries --

/// An entry as a request gives it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EntryIn {
    /// MD5 hex.
    pub md5: Option<String>,
    /// SHA-1 hex.
    pub sha1: Option<String>,
    /// SHA-256 hex.
    pub sha256: Option<String>,
    /// PDQ hex.
    pub pdq: Option<String>,
    /// PDQ quality 0–100.
    pub pdq_quality: Option<u8>,
    /// Category.
    pub category: Option<CategoryIn>,
    /// `notable` (default) or `known`.
    pub status: Option<String>,
    /// The issuer's id.
    pub external_id: Option<String>,
}

/// A category as a request gives it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CategoryIn {
    /// Scheme name.
    pub scheme: String,
    /// Code.
    pub code: String,
}

fn opt_hex<const N: usize>(v: &Option<String>, what: &str) -> ApiResult<Option<[u8; N]>> {
    v.as_ref()
        .map(|s| hex::decode_hash::<N>(s, what))
        .transpose()
        .map_err(|e| ApiError::bad("bad_hash", e.to_string()))
}

fn check_status(s: Option<&str>) -> ApiResult<String> {
    match s.unwrap_or("notable") {
        s @ ("notable" | "known") => Ok(s.to_string()),
        other => Err(ApiError::bad(
            "bad_status",
            format!("status must be notable or known, not {other:?}"),
        )),
    }
}

/// Checks an entry: hex of the right lengths, at least one hash, quality
/// ≤ 100, a known status.
pub fn parse_entry(e: &EntryIn) -> ApiResult<NewEntry> {
    let n = NewEntry {
        md5: opt_hex::<16>(&e.md5, "md5")?,
        sha1: opt_hex::<20>(&e.sha1, "sha1")?,
        sha256: opt_hex::<32>(&e.sha256, "sha256")?,
        pdq: opt_hex::<32>(&e.pdq, "pdq")?.map(|b| Hash256::from_bytes(&b)),
        pdq_quality: match e.pdq_quality {
            Some(q) if q > 100 => {
                return Err(ApiError::bad("bad_quality", "pdq_quality is 0 to 100"))
            }
            q => q,
        },
        category: e
            .category
            .as_ref()
            .map(|c| (c.scheme.trim().to_string(), c.code.trim().to_string())),
        status: check_status(e.status.as_deref())?,
        external_id: e.external_id.clone(),
    };
    if !n.has_hash() {
        return Err(ApiError::bad(
            "no_hash",
            "an entry needs at least one of md5, sha1, sha256, pdq",
        ));
    }
    Ok(n)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEntries {
    entries: Vec<EntryIn>,
}

fn batch_len(n: usize) -> ApiResult<()> {
    if n == 0 || n > MAX_BATCH {
        return Err(ApiError::bad(
            "bad_batch",
            format!("give 1 to {MAX_BATCH} items, not {n}"),
        ));
    }
    Ok(())
}

async fn add_entries(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Path(name) = name.map_err(path_error)?;
    let req: NewEntries = parse_json(body)?;
    batch_len(req.entries.len())?;
    let mut entries = Vec::with_capacity(req.entries.len());
    for (i, e) in req.entries.iter().enumerate() {
        entries.push(parse_entry(e).map_err(|e| ApiError {
            message: format!("entry {i}: {}", e.message),
            ..e
        })?);
    }
    let (ids, _) = db(&app, true, move |c| {
        let opts = AddOptions {
            actor: &who.actor,
            bank: &name,
            create: false,
            replace: false,
            want_ids: true,
            action: "entries.add",
            detail: json!({}),
        };
        Ok(store::add_entries(c, &opts, &entries)?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "ids": ids }))))
}

fn upload_entry(fh: &FileHashes) -> NewEntry {
    let p = fh
        .image
        .as_ref()
        .and_then(|i| i.pdq.as_ref())
        .filter(|p| p.hashable);
    NewEntry {
        md5: fh.digests.map(|d| d.md5),
        sha1: fh.digests.map(|d| d.sha1),
        sha256: fh.digests.map(|d| d.sha256),
        pdq: p.map(|p| p.hash),
        pdq_quality: p.map(|p| p.quality),
        category: None,
        status: "notable".into(),
        external_id: None,
    }
}

async fn add_upload(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    raw: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Path(name) = name.map_err(path_error)?;
    let q = Query::new(
        &raw,
        &[
            "category_scheme",
            "category_code",
            "status",
            "external_id",
            "allow_non_image",
        ],
    )?;
    let category = match (q.str("category_scheme"), q.str("category_code")) {
        (Some(s), Some(c)) => Some((s.to_string(), c.to_string())),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad(
                "bad_category",
                "give both category_scheme and category_code, or neither",
            ))
        }
    };
    let status = check_status(q.str("status"))?;
    let external_id = q.str("external_id").map(str::to_string);
    let (fh, _) = upload_hashes(&app, body, &q).await?;
    let mut entry = upload_entry(&fh);
    entry.category = category;
    entry.status = status;
    entry.external_id = external_id;
    let hashes = hashes_json(&fh, false);
    let (ids, _) = db(&app, true, move |c| {
        let opts = AddOptions {
            actor: &who.actor,
            bank: &name,
            create: false,
            replace: false,
            want_ids: true,
            action: "entries.add_upload",
            detail: json!({}),
        };
        Ok(store::add_entries(c, &opts, &[entry])?)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "ids": ids, "hashes": hashes })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectorIn {
    id: Option<i64>,
    md5: Option<String>,
    sha1: Option<String>,
    sha256: Option<String>,
    pdq: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Selectors {
    entries: Vec<SelectorIn>,
}

fn parse_selector(s: &SelectorIn) -> ApiResult<Selector> {
    let lq = LookupQuery {
        pdq: s.pdq.clone(),
        md5: s.md5.clone(),
        sha1: s.sha1.clone(),
        sha256: s.sha256.clone(),
    };
    match (s.id, lq == LookupQuery::default()) {
        (Some(id), true) => Ok(Selector::Id(id)),
        (None, false) => Ok(match parse_lookup(&lq)? {
            Parsed::Pdq(h) => Selector::Pdq(h),
            Parsed::Exact(HashKind::Md5, v) => Selector::Md5(v.try_into().unwrap_or_default()),
            Parsed::Exact(HashKind::Sha1, v) => Selector::Sha1(v.try_into().unwrap_or_default()),
            Parsed::Exact(_, v) => Selector::Sha256(v.try_into().unwrap_or_default()),
        }),
        _ => Err(ApiError::bad(
            "bad_selector",
            "give exactly one of id, md5, sha1, sha256, pdq",
        )),
    }
}

async fn remove_entries(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let Path(name) = name.map_err(path_error)?;
    let req: Selectors = parse_json(body)?;
    batch_len(req.entries.len())?;
    let sels = req
        .entries
        .iter()
        .map(parse_selector)
        .collect::<ApiResult<Vec<_>>>()?;
    let ids = db(&app, true, move |c| {
        Ok(store::remove_entries(c, &who.actor, &name, &sels)?)
    })
    .await?;
    Ok(Json(json!({ "removed": ids })))
}

async fn remove_upload(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    raw: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let Path(name) = name.map_err(path_error)?;
    let q = Query::new(&raw, &["allow_non_image"])?;
    let (fh, _) = upload_hashes(&app, body, &q).await?;
    let e = upload_entry(&fh);
    let mut sels = Vec::new();
    sels.extend(e.md5.map(Selector::Md5));
    sels.extend(e.sha1.map(Selector::Sha1));
    sels.extend(e.sha256.map(Selector::Sha256));
    sels.extend(e.pdq.map(Selector::Pdq));
    let mut ids = db(&app, true, move |c| {
        Ok(store::remove_entries(c, &who.actor, &name, &sels)?)
    })
    .await?;
    ids.sort_unstable();
    ids.dedup();
    Ok(Json(json!({ "removed": ids })))
}

async fn remove_entry(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    p: Result<Path<(String, i64)>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let Path((name, id)) = p.map_err(path_error)?;
    let ids = db(&app, true, move |c| {
        Ok(store::remove_entries(
            c,
            &who.actor,
            &name,
            &[Selector::Id(id)],
        )?)
    })
    .await?;
    if ids.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no entry {id} in this bank"),
        ));
    }
    Ok(Json(json!({ "removed": ids })))
}

async fn import_list(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    raw: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Path(name) = name.map_err(path_error)?;
    store::check_bank_name(&name)?;
    let q = Query::new(
        &raw,
        &[
            "format",
            "status",
            "scheme",
            "replace",
            "create",
            "allow_empty",
            "allow_unknown",
        ],
    )?;
    let body = body.map_err(body_error)?;
    let mut opts = nigehbaan_lists::ImportOptions::new("upload", &name);
    // The service makes these two decisions itself (`crate::import`), with
    // its own parameters and line-numbered answers; the importer only reads.
    opts.allow_unknown = true;
    opts.allow_empty = true;
    if let Some(f) = q.str("format") {
        opts.format =
            Some(f.parse().map_err(|e: nigehbaan_lists::SpecError| {
                ApiError::bad("bad_format", e.to_string())
            })?);
    }
    opts.status = match q.str("status") {
        None => None,
        Some("notable") => Some(nigehbaan_lists::Status::Notable),
        Some("known") => Some(nigehbaan_lists::Status::Known),
        Some(o) => {
            return Err(ApiError::bad(
                "bad_status",
                format!("status must be notable or known, not {o:?}"),
            ))
        }
    };
    opts.scheme = q.str("scheme").map(nigehbaan_lists::Scheme::from_name);
    let params = crate::import::ImportParams {
        bank: name,
        actor: who.actor,
        options: opts,
        replace: q.get::<bool>("replace")?.unwrap_or(false),
        create: q.get::<bool>("create")?.unwrap_or(false),
        allow_empty: q.get::<bool>("allow_empty")?.unwrap_or(false),
        allow_unknown: q.get::<bool>("allow_unknown")?.unwrap_or(false),
    };
    let a = app.clone();
    let out = tokio::task::spawn_blocking(move || crate::import::run(&a, body, params))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "internal",
                "the import could not complete; nothing was imported",
            )
        })??;
    Ok((StatusCode::CREATED, Json(out)))
}

// ----------------------------------------------------------- index, audit --

async fn index_status(State(app): State<Arc<App>>) -> ApiResult<Json<Value>> {
    let (last, total) = db(&app, false, |c| {
        Ok((store::last_change(c)?, store::entry_total(c)?))
    })
    .await?;
    let s = app.index.stats();
    let applied = app.applied.load(std::sync::atomic::Ordering::SeqCst);
    Ok(Json(json!({
        "ready": app.is_ready(),
        "entries": total,
        "pdq_hashes": {"base": s.base, "delta": s.delta, "tail": s.tail, "tombstones": s.tombstones},
        "memory_bytes": s.memory_bytes,
        "compactions": s.compactions,
        "applied_seq": applied,
        "database_seq": last,
        "lag": (last - applied).max(0),
        "snapshot_seq": app.snapshot_seq(),
        "uptime_seconds": app.uptime().as_secs(),
    })))
}

async fn audit_page(State(app): State<Arc<App>>, raw: RawQuery) -> ApiResult<Json<Value>> {
    let q = Query::new(&raw, &["after", "limit"])?;
    let after = q.get::<i64>("after")?.unwrap_or(0);
    let limit = q.get::<i64>("limit")?.unwrap_or(100).clamp(1, 1000);
    let records = db(&app, false, move |c| {
        Ok(store::audit_records(c, after, limit)?)
    })
    .await?;
    Ok(Json(json!({ "records": records })))
}

async fn audit_verify(State(app): State<Arc<App>>) -> ApiResult<Json<store::AuditCheck>> {
    let chain = app.audit.clone();
    let head = match &chain.head {
        Some(p) => crate::audit::read_head(p).map_err(|e| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "internal", e.to_string())
        })?,
        None => None,
    };
    Ok(Json(
        db(&app, false, move |c| {
            Ok(store::verify_audit(c, &chain.key, head.as_ref())?)
        })
        .await?,
    ))
}

async fn list_keys(State(app): State<Arc<App>>) -> ApiResult<Json<Value>> {
    let keys = db(&app, false, |c| Ok(store::list_keys(c)?)).await?;
    Ok(Json(json!({ "keys": keys })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
    role: String,
    rate_limit: Option<i64>,
    max_batch_threshold: Option<u32>,
}

async fn create_key(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let k: NewKey = parse_json(body)?;
    let role = Role::parse(&k.role)
        .ok_or_else(|| ApiError::bad("bad_role", "role is admin, curator or matcher"))?;
    let rate = k.rate_limit.unwrap_or(1000);
    let (id, key) = db(&app, false, move |c| {
        Ok(store::create_key(
            c,
            &who.actor,
            &k.name,
            role,
            rate,
            k.max_batch_threshold,
        )?)
    })
    .await?;
    let a = app.clone();
    let _ = tokio::task::spawn_blocking(move || a.reload_keys()).await;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "key": key, "role": role.name(), "rate_limit": rate})),
    ))
}

async fn revoke_key(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    id: Result<Path<i64>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let Path(id) = id.map_err(path_error)?;
    db(&app, false, move |c| {
        Ok(store::revoke_key(c, &who.actor, id)?)
    })
    .await?;
    let a = app.clone();
    let _ = tokio::task::spawn_blocking(move || a.reload_keys()).await;
    Ok(Json(json!({"deleted": id})))
}

/// The body type used by the router (for tests).
pub type RouterBody = Body;
