//! Authentication: the API key a request presents, its role and its
//! rate limit.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::store::Role;
use crate::App;

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

pub(super) async fn auth(
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
