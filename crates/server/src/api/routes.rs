//! The route table, from which both the router and the OpenAPI document
//! are made.

use std::sync::Arc;

use axum::routing::{delete, get, patch, post, MethodRouter};

use super::admin::{audit_page, audit_verify, create_key, list_keys, revoke_key};
use super::banks::{create_bank, delete_bank, get_bank, list_banks, update_bank};
use super::entries::{add_entries, add_upload, remove_entries, remove_entry, remove_upload};
use super::hashing::hash_upload;
use super::list_import::import_list;
use super::status::{index_status, live, metrics, openapi, ready};
use crate::matching::{lookup_batch, lookup_one, match_upload};
use crate::store::Role;
use crate::App;

/// What a route's request body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    None,
    /// JSON, with the named schema.
    Json(&'static str),
    /// An uploaded file, hashed in memory.
    Upload,
    /// An uploaded image or video (recognised by content; a video has its
    /// own, larger size limit), hashed in memory.
    MediaUpload,
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
        "accept uploads that are neither decodable images nor videos (digests only; default false)",
    ),
    VPDQ_DISTANCE,
    VPDQ_QUERY_PERCENT,
    VPDQ_COMPARED_PERCENT,
];
const VPDQ_DISTANCE: (&str, &str, &str) = (
    "vpdq_distance",
    "integer",
    "video: two frames match at a PDQ distance up to this (default 31, at most 63)",
);
const VPDQ_QUERY_PERCENT: (&str, &str, &str) = (
    "vpdq_query_percent",
    "number",
    "video: least share of the query's usable frames (quality >= 50, duplicates once) that must match, in percent (default 80)",
);
const VPDQ_COMPARED_PERCENT: (&str, &str, &str) = (
    "vpdq_compared_percent",
    "number",
    "video: least share of the bank video's usable frames that must match, in percent (default 0)",
);
const HASH_QUERY: &[(&str, &str, &str)] = &[
    (
        "dihedral",
        "boolean",
        "also compute the 8 rotation/flip hashes (default false)",
    ),
    (
        "allow_non_image",
        "boolean",
        "accept uploads that are neither decodable images nor videos (digests only; default false)",
    ),
];
const LOOKUP_QUERY: &[(&str, &str, &str)] = &[
    ("pdq", "string", "a PDQ hash, 64 hex digits"),
    ("md5", "string", "an MD5, 32 hex digits"),
    ("sha1", "string", "a SHA-1, 40 hex digits"),
    ("sha256", "string", "a SHA-256, 64 hex digits"),
    ("vpdq", "string", "a video's vPDQ features: HMA's signal string (a JSON array of \"pdq_hex,quality,timestamp\") or frame,quality,pdq_hex,timestamp lines joined by ';'"),
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
    VPDQ_DISTANCE,
    VPDQ_QUERY_PERCENT,
    VPDQ_COMPARED_PERCENT,
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
    ("format", "string", "list format (vics, ncmec, hma-csv, hma-text, hashsum, hashdeep, nigehbaan-csv, vpdq); detected by content when absent"),
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
        summary: "Hash an upload: MD5, SHA-1, SHA-256 and PDQ (an image) or vPDQ (a video).",
        body: BodyKind::MediaUpload,
        query: HASH_QUERY,
        status: 200,
        response: "Hashes",
        handler: || post(hash_upload),
    },
    Route {
        method: "post",
        path: "/v1/match",
        role: Some(Role::Matcher),
        summary: "Hash an upload (image or video) and match it in one call.",
        body: BodyKind::MediaUpload,
        query: MATCH_QUERY,
        status: 200,
        response: "MatchResult",
        handler: || post(match_upload),
    },
    Route {
        method: "get",
        path: "/v1/lookup",
        role: Some(Role::Matcher),
        summary: "Look up one hash (exactly one of pdq, md5, sha1, sha256, vpdq).",
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
        summary: "Look up a batch of up to 1000 hashes (or vPDQ feature sets).",
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
