//! Banks: list, create, read, update, delete.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{db, parse_json, path_error, ApiResult, Caller};
use crate::store;
use crate::App;

pub(super) async fn list_banks(State(app): State<Arc<App>>) -> ApiResult<Json<Value>> {
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

pub(super) async fn create_bank(
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

pub(super) async fn get_bank(
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

pub(super) async fn update_bank(
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

pub(super) async fn delete_bank(
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
