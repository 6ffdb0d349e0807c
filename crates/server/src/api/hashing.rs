//! Hashing uploads in memory: the decode budget, the image check, videos
//! (by content: vPDQ through the `ffmpeg` program, from an anonymous
//! in-memory file, a few at a time) and the hashes as JSON.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use nigehbaan_filehash::{hash_bytes, FileError, FileHashes, Options};
use nigehbaan_pdq::Hasher;
use serde::Deserialize;
use serde_json::Value;

use super::query::query_as;
use super::{body_error, ApiError, ApiResult};
use crate::App;

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

/// Hashes an upload and checks it is an image (unless `allow_non_image`).
pub(crate) async fn hash_checked(
    app: &App,
    body: Result<Bytes, BytesRejection>,
    dihedral: bool,
    allow_non_image: bool,
) -> ApiResult<FileHashes> {
    let body = body.map_err(body_error)?;
    let fh = hash_upload_bytes(app, body, dihedral).await?;
    check_image(&fh, allow_non_image)?;
    Ok(fh)
}

/// `/v1/hash`'s parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashParams {
    #[serde(default)]
    dihedral: bool,
    #[serde(default)]
    allow_non_image: bool,
}

pub(super) async fn hash_upload(
    State(app): State<Arc<App>>,
    raw: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let q: HashParams = query_as(&raw)?;
    Ok(Json(
        match hash_media(&app, body, q.dihedral, q.allow_non_image).await? {
            Media::Image(fh) => hashes_json(&fh, q.dihedral),
            Media::Video(v) => video_json(&v),
        },
    ))
}

// ---------------------------------------------------------------- video --

/// A video upload, hashed: its digests, and its vPDQ hash or why there is
/// none.
pub(crate) struct VideoUpload {
    /// Size and digests (no image part).
    pub(crate) fh: FileHashes,
    /// The container, by content.
    pub(crate) kind: nigehbaan_video::VideoKind,
    /// The frames, or why the video was not (fully) perceptually hashed.
    pub(crate) vpdq: Result<nigehbaan_video::VideoHashes, String>,
}

impl VideoUpload {
    /// Why the answer is incomplete: the video was not perceptually hashed,
    /// or was decoded with errors (frames may be missing).
    pub(crate) fn incomplete(&self) -> Option<String> {
        match &self.vpdq {
            Err(e) => Some(e.clone()),
            Ok(v) if !v.decoder_messages.is_empty() => Some(format!(
                "video decoded with errors, frames may be missing: {}",
                v.decoder_messages.trim()
            )),
            Ok(_) => None,
        }
    }

    /// The hashed frames (empty when not hashed).
    pub(crate) fn frames(&self) -> &[nigehbaan_video::FrameHash] {
        self.vpdq.as_ref().map_or(&[], |v| &v.vpdq.frames)
    }
}

/// An upload to a route that takes images and videos.
pub(crate) enum Media {
    /// An image (or, with `allow_non_image`, any other file).
    Image(FileHashes),
    /// A video, recognised by content.
    Video(VideoUpload),
}

/// The video container `body` holds, by content (never by name): not an
/// image, and a container `nigehbaan-video` recognises.
fn video_kind(body: &[u8]) -> Option<nigehbaan_video::VideoKind> {
    if nigehbaan_media::sniff(body).is_some() {
        return None;
    }
    nigehbaan_video::detect(&body[..body.len().min(nigehbaan_video::DETECT_HEAD_LEN)])
}

fn too_large(what: &str, limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the upload is {what} over this service's limit of {limit} bytes"),
    )
}

/// Hashes an upload that may be a video (by content): videos within the
/// video limit are hashed with vPDQ by the `ffmpeg` program, others as
/// [`hash_checked`] does, within the upload limit.
pub(crate) async fn hash_media(
    app: &Arc<App>,
    body: Result<Bytes, BytesRejection>,
    dihedral: bool,
    allow_non_image: bool,
) -> ApiResult<Media> {
    let body = body.map_err(body_error)?;
    let Some(kind) = video_kind(&body) else {
        if body.len() > app.config.max_upload_bytes {
            return Err(too_large(
                "a file (not a video)",
                app.config.max_upload_bytes,
            ));
        }
        return Ok(Media::Image(
            hash_checked(app, Ok(body), dihedral, allow_non_image).await?,
        ));
    };
    let vc = &app.config.video;
    if body.len() > vc.max_upload_bytes {
        return Err(too_large("a video", vc.max_upload_bytes));
    }
    let ffmpeg = nigehbaan_video::Ffmpeg::shared();
    // One slot per ffmpeg child; none is needed to answer without ffmpeg.
    let permit = match ffmpeg {
        Ok(_) => Some(
            tokio::time::timeout(vc.queue_wait, app.video_slots.clone().acquire_owned())
                .await
                .ok()
                .and_then(Result::ok)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "busy",
                        format!(
                            "the service is hashing as many videos as it may at once ({}); try again shortly",
                            vc.max_concurrent
                        ),
                    )
                })?,
        ),
        Err(_) => None,
    };
    let decode = vc.decode;
    tokio::task::spawn_blocking(move || {
        let digests_only = Options {
            pdq: false,
            ..Options::default()
        };
        let fh = HASHER.with(|h| hash_bytes(&body, &digests_only, &mut h.borrow_mut()));
        let vpdq = match ffmpeg {
            Err(e) => Err(e.to_string()),
            Ok(ff) => hash_video_in_memory(ff, body, &decode),
        };
        drop(permit);
        VideoUpload { fh, kind, vpdq }
    })
    .await
    .map(Media::Video)
    .map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal",
            "the upload could not be hashed; try again",
        )
    })
}

/// Hashes a video held in memory: the bytes are copied into an anonymous
/// in-memory file (`memfd`), the upload's buffer is dropped, and `ffmpeg`
/// reads the copy by its `/proc` link (seekable: an MP4 whose index sits
/// at its end opens). The file is gone when this returns, on every path.
#[cfg(target_os = "linux")]
fn hash_video_in_memory(
    ffmpeg: &nigehbaan_video::Ffmpeg,
    body: Bytes,
    decode: &nigehbaan_video::DecodeOptions,
) -> Result<nigehbaan_video::VideoHashes, String> {
    let mem = nigehbaan_video::MemFile::new(&body)
        .map_err(|e| format!("not perceptually hashed: cannot hold the video in memory: {e}"))?;
    drop(body);
    let shown = mem.proc_path().to_string_lossy().into_owned();
    let input = nigehbaan_video::VideoInput::Path(mem.proc_path());
    let r =
        HASHER.with(|h| nigehbaan_video::hash_video(ffmpeg, &input, decode, &mut h.borrow_mut()));
    drop(mem);
    r.map_err(|e| e.to_string().replace(&shown, "the upload"))
}

/// Elsewhere the bytes go to `ffmpeg` on a pipe (a container that needs
/// seeking then fails, and says so).
#[cfg(not(target_os = "linux"))]
fn hash_video_in_memory(
    ffmpeg: &nigehbaan_video::Ffmpeg,
    body: Bytes,
    decode: &nigehbaan_video::DecodeOptions,
) -> Result<nigehbaan_video::VideoHashes, String> {
    let name = std::path::Path::new("the upload");
    let input = nigehbaan_video::VideoInput::Bytes {
        bytes: std::sync::Arc::from(&body[..]),
        name,
    };
    drop(body);
    HASHER
        .with(|h| nigehbaan_video::hash_video(ffmpeg, &input, decode, &mut h.borrow_mut()))
        .map_err(|e| e.to_string())
}

/// A video upload's hashes as JSON: the digests, `media: "video"`, the
/// stream's fields and the `vpdq` frames (as `nigehbaan hash` writes a
/// video's row), with `incomplete` and `error` saying what is missing.
pub(crate) fn video_json(v: &VideoUpload) -> Value {
    use nigehbaan_filehash::VideoFields;
    let mut r = v.fh.to_record(String::new(), &Options::default());
    r.format = Some(v.kind.name());
    let fields = match &v.vpdq {
        Ok(h) => {
            r.width = Some(h.info.width);
            r.height = Some(h.info.height);
            VideoFields::of(h)
        }
        Err(_) => VideoFields::unhashed(),
    };
    let incomplete = v.incomplete();
    r.error = incomplete.clone();
    r.video = Some(fields);
    let mut out = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut out {
        m.remove("path");
        m.insert("incomplete".into(), Value::Bool(incomplete.is_some()));
    }
    out
}
