//! The HTTP API: the route table (from which both the router and the
//! OpenAPI document are made), authentication, rate limits, body limits,
//! JSON errors and the handlers.
//!
//! Uploads are request bodies held in memory: they are hashed on a blocking
//! thread and dropped; nothing writes or logs them.

mod admin;
mod auth;
mod banks;
mod entries;
mod error;
mod hashing;
mod list_import;
mod query;
mod routes;
mod status;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::FutureExt;
use tracing::Instrument;

use crate::App;

pub use self::auth::Caller;
pub use self::entries::{parse_entry, CategoryIn, EntryIn};
pub(crate) use self::error::{body_error, path_error, ApiResult};
pub use self::error::{parse_json, ApiError};
pub(crate) use self::hashing::{hash_media, hashes_json, video_json, Media};
pub use self::query::parse_query;
pub(crate) use self::query::query_as;
pub use self::routes::{BodyKind, Route, ROUTES};
pub use crate::matching::{parse_lookup, LookupQuery, MatchOut, Parsed};

/// The most queries in one batch lookup, or entries in one add or remove.
pub const MAX_BATCH: usize = 1000;

/// The router for an instance.
pub fn router(app: Arc<App>) -> Router {
    let mut r: Router<Arc<App>> = Router::new();
    for route in ROUTES {
        let limit = match route.body {
            BodyKind::None | BodyKind::Json(_) => app.config.max_json_bytes,
            BodyKind::Upload => app.config.max_upload_bytes,
            // The larger of the two: the upload's kind is known only from
            // its content, then its own limit applies.
            BodyKind::MediaUpload => app
                .config
                .max_upload_bytes
                .max(app.config.video.max_upload_bytes),
            BodyKind::ListFile => app.config.max_import_bytes,
        };
        let mut mr = (route.handler)().layer(DefaultBodyLimit::max(limit)).layer(
            middleware::from_fn_with_state(limit, crate::http::declared_length),
        );
        if let Some(role) = route.role {
            mr = mr.route_layer(middleware::from_fn_with_state(
                (app.clone(), role),
                auth::auth,
            ));
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
        .route("/metrics", get(status::metrics))
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

/// Request ids, for the logs and the `x-request-id` answer header.
static REQUEST_ID: AtomicU64 = AtomicU64::new(1);

/// Per request: a request id and a log span (method and route template,
/// never the query string or the body), metrics, and the panic catch.
async fn track(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_string(), |m| m.as_str().to_string());
    let id = REQUEST_ID.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("request", id, method = %req.method(), route = %route);
    let t = Instant::now();
    // A handler that panics (a bug) answers a JSON 500 instead of dropping
    // the connection; the process goes on serving. The panic hook
    // (`crate::panics`) has logged the message and location.
    let caught = std::panic::AssertUnwindSafe(next.run(req))
        .catch_unwind()
        .instrument(span.clone())
        .await;
    let mut r = match caught {
        Ok(r) => r,
        Err(payload) => {
            let p = crate::panics::take_last(payload.as_ref());
            span.in_scope(|| {
                tracing::error!(
                    panic.message = %p.message,
                    panic.location = p.location.as_deref().unwrap_or("unknown"),
                    "handler panicked; answered 500"
                );
            });
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; please report it with the request you made",
            )
            .into_response()
        }
    };
    let status = r.status().as_u16();
    let elapsed = t.elapsed();
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, ms = elapsed.as_millis() as u64, "answered");
        } else {
            tracing::debug!(status, ms = elapsed.as_millis() as u64, "answered");
        }
    });
    r.headers_mut()
        .insert("x-request-id", axum::http::HeaderValue::from(id));
    app.metrics.record(&route, status, elapsed);
    r
}

// -------------------------------------------------------------- database --

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
                tracing::warn!(error = %e, "change feed");
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

/// The body type used by the router (for tests).
pub type RouterBody = Body;
