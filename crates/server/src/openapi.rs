//! The OpenAPI 3.1 document, made from the same route table as the router
//! ([`crate::api::ROUTES`]), so paths, methods, roles, parameters and body
//! kinds cannot drift from the code. `docs/openapi.json` is this document;
//! a test fails when the committed file differs.

use serde_json::{json, Map, Value};

use crate::api::{BodyKind, ROUTES};

fn schemas() -> Value {
    let hex = |n: u32, what: &str| json!({"type": "string", "pattern": format!("^[0-9a-fA-F]{{{n}}}$"), "description": what});
    let opt = |t: &str| json!({"type": [t, "null"]});
    json!({
        "Error": {"type": "object", "required": ["error", "code"], "properties": {
            "error": {"type": "string", "description": "what is wrong"},
            "code": {"type": "string", "description": "stable code; docs/api.md lists every one (e.g. bad_json, not_found, conflict, invalid, busy, body_timeout)"}}},
        "Health": {"type": "object", "properties": {"status": {"type": "string"}}},
        "Object": {"type": "object"},
        "Hashes": {"type": "object", "properties": {
            "size": {"type": "integer"}, "md5": hex(32, "MD5"), "sha1": hex(40, "SHA-1"), "sha256": hex(64, "SHA-256"),
            "pdq": {"type": ["string", "null"]}, "pdq_quality": opt("integer"), "pdq_pipeline": opt("string"),
            "pdq_hashable": opt("boolean"), "width": opt("integer"), "height": opt("integer"),
            "format": opt("string"), "orientation": opt("integer"),
            "pdq_dihedral": {"type": "array", "items": {"type": "string"}}, "error": opt("string"),
            "media": {"type": "string", "enum": ["video"], "description": "videos only (the fields below too)"},
            "duration": opt("number"), "fps": opt("number"), "codec": opt("string"),
            "rotation": {"type": ["integer", "null"], "description": "display rotation in degrees, reported, never applied"},
            "vpdq_pipeline": opt("string"), "vpdq_frames": opt("integer"),
            "vpdq": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/VpdqFrame"}},
            "incomplete": {"type": "boolean", "description": "videos: true when the video was not (fully) perceptually hashed (no ffmpeg, undecodable, decoded with errors); error says why"}}},
        "VpdqFrame": {"type": "object", "required": ["pdq", "quality"], "additionalProperties": false, "properties": {
            "frame": {"type": "integer", "minimum": 0, "description": "frame number in decoder order (default: position)"},
            "quality": {"type": "integer", "minimum": 0, "maximum": 100}, "pdq": hex(64, "PDQ of the frame"),
            "timestamp": {"type": "number", "minimum": 0, "description": "seconds from the start"}}},
        "Category": {"type": "object", "required": ["scheme", "code"], "properties": {"scheme": {"type": "string"}, "code": {"type": "string"}}},
        "Match": {"type": "object", "required": ["bank", "entry_id", "match", "status"], "description": "for matcher keys, a match at a distance over 31 has null hashes: only what matched and the entry id", "properties": {
            "bank": {"type": "string"}, "entry_id": {"type": "integer"},
            "category": {"oneOf": [{"$ref": "#/components/schemas/Category"}, {"type": "null"}]},
            "match": {"type": "string", "enum": ["md5", "sha1", "sha256", "pdq", "vpdq"]},
            "distance": {"type": "integer", "description": "PDQ Hamming distance; 0 for exact matches; absent for vpdq"},
            "query_match_percent": {"type": "number", "description": "video: matched usable frames of the query × 100 / its usable frames"},
            "compared_match_percent": {"type": "number", "description": "video: matched usable frames of the bank's video × 100 / its usable frames"},
            "matched_frames": {"type": "integer"}, "query_frames": {"type": "integer"},
            "matched_listed_frames": {"type": "integer"}, "listed_frames": {"type": "integer"},
            "time_ranges": {"type": "array", "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}, "description": "stretches of the query that matched, [first, last] seconds"},
            "variant": {"type": "string", "description": "dihedral variant that matched (dihedral=true only)"},
            "status": {"type": "string", "enum": ["notable", "known"]}, "external_id": opt("string"),
            "md5": opt("string"), "sha1": opt("string"), "sha256": opt("string"), "pdq": opt("string")}},
        "MatchResult": {"type": "object", "properties": {
            "hashes": {"$ref": "#/components/schemas/Hashes"}, "pdq_matched": {"type": "boolean"},
            "vpdq_matched": {"type": "boolean", "description": "a video's frames were matched"},
            "incomplete": {"type": "boolean", "description": "true when part of the upload was not matched (a video not perceptually hashed: no ffmpeg, undecodable, decoded with errors); never a silent no match"},
            "incomplete_reason": opt("string"),
            "matches": {"type": "array", "items": {"$ref": "#/components/schemas/Match"}}}},
        "LookupResult": {"type": "object", "properties": {"matches": {"type": "array", "items": {"$ref": "#/components/schemas/Match"}}}},
        "LookupQuery": {"type": "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 1, "properties": {
            "pdq": hex(64, "PDQ"), "md5": hex(32, "MD5"), "sha1": hex(40, "SHA-1"), "sha256": hex(64, "SHA-256"),
            "vpdq": {"oneOf": [{"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/VpdqFrame"}}, {"type": "string", "description": "HMA's signal string, or reference-format lines joined by ';'"}], "description": "a video's vPDQ features"}}},
        "BatchLookup": {"type": "object", "required": ["queries"], "additionalProperties": false, "properties": {
            "queries": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {"$ref": "#/components/schemas/LookupQuery"}},
            "threshold": {"type": "integer", "minimum": 0, "maximum": 63}, "banks": {"type": "array", "items": {"type": "string"}},
            "vpdq_distance": {"type": "integer", "minimum": 0, "maximum": 63, "description": "video frames match at a PDQ distance up to this (default 31; capped like threshold)"},
            "vpdq_query_percent": {"type": "number", "minimum": 0, "maximum": 100, "description": "default 80"},
            "vpdq_compared_percent": {"type": "number", "minimum": 0, "maximum": 100, "description": "default 0"}}},
        "BatchResult": {"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object", "properties": {
            "query": {"$ref": "#/components/schemas/LookupQuery"}, "matches": {"type": "array", "items": {"$ref": "#/components/schemas/Match"}}}}}}},
        "Bank": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "description": {"type": "string"}, "enabled": {"type": "boolean"},
            "entries": {"type": "integer"}, "created_at": {"type": "integer"}, "created_by": {"type": "string"}, "updated_at": {"type": "integer"}}},
        "BankList": {"type": "object", "properties": {"banks": {"type": "array", "items": {"$ref": "#/components/schemas/Bank"}}}},
        "NewBank": {"type": "object", "required": ["name"], "additionalProperties": false, "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$"}, "description": {"type": "string"}, "enabled": {"type": "boolean"}}},
        "BankUpdate": {"type": "object", "additionalProperties": false, "properties": {
            "name": {"type": "string"}, "description": {"type": "string"}, "enabled": {"type": "boolean"}}},
        "Entry": {"type": "object", "additionalProperties": false, "properties": {
            "md5": hex(32, "MD5"), "sha1": hex(40, "SHA-1"), "sha256": hex(64, "SHA-256"), "pdq": hex(64, "PDQ"),
            "pdq_quality": {"type": "integer", "minimum": 0, "maximum": 100},
            "vpdq": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/VpdqFrame"}, "description": "a video's vPDQ frames"},
            "category": {"$ref": "#/components/schemas/Category"},
            "status": {"type": "string", "enum": ["notable", "known"]}, "external_id": {"type": "string"}}},
        "NewEntries": {"type": "object", "required": ["entries"], "additionalProperties": false, "properties": {
            "entries": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {"$ref": "#/components/schemas/Entry"}}}},
        "Selectors": {"type": "object", "required": ["entries"], "additionalProperties": false, "properties": {
            "entries": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {"type": "object", "minProperties": 1, "maxProperties": 1, "properties": {
                "id": {"type": "integer"}, "md5": hex(32, "MD5"), "sha1": hex(40, "SHA-1"), "sha256": hex(64, "SHA-256"), "pdq": hex(64, "PDQ")}}}}},
        "Added": {"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "integer"}}, "hashes": {"$ref": "#/components/schemas/Hashes"}}},
        "Removed": {"type": "object", "properties": {"removed": {"type": "array", "items": {"type": "integer"}}}},
        "Deleted": {"type": "object", "properties": {"deleted": {}, "entries": {"type": "integer"}}},
        "Imported": {"type": "object", "properties": {
            "bank": {"type": "string"}, "format": {"type": "string"}, "created": {"type": "boolean"}, "added": {"type": "integer"},
            "replace": {"type": "boolean"}, "replaced": {"type": "integer"},
            "skipped_unsupported_hashes": {"type": "integer"}, "skipped_unknown_types": {"type": "integer"}, "skipped_empty_file": {"type": "integer"},
            "warnings": {"type": "array", "items": {"type": "string"}, "description": "every warning, in full text (at most 1000)"},
            "warnings_dropped": {"type": "integer"}}},
        "IndexStatus": {"type": "object", "properties": {
            "ready": {"type": "boolean"}, "entries": {"type": "integer"}, "pdq_hashes": {"type": "object"},
            "video": {"type": "object", "description": "video entries and their distinct usable frame hashes indexed"},
            "memory_bytes": {"type": "integer"}, "compactions": {"type": "integer"}, "applied_seq": {"type": "integer"},
            "database_seq": {"type": "integer"}, "lag": {"type": "integer"}, "snapshot_seq": {"type": "integer"}, "uptime_seconds": {"type": "integer"}}},
        "AuditRecord": {"type": "object", "properties": {
            "seq": {"type": "integer"}, "at": {"type": "integer"}, "actor": {"type": "string"}, "action": {"type": "string"},
            "detail": {"type": "string"}, "prev_hash": {"type": "string"}, "hash": {"type": "string"}}},
        "AuditPage": {"type": "object", "properties": {"records": {"type": "array", "items": {"$ref": "#/components/schemas/AuditRecord"}}}},
        "AuditCheck": {"type": "object", "properties": {
            "ok": {"type": "boolean"}, "records": {"type": "integer"}, "head": {"type": "string"},
            "broken_at": opt("integer"), "problem": opt("string"), "head_checked": {"type": "boolean"},
            "head_seq": opt("integer"), "keyed_from": {"type": "integer"}}},
        "Key": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "role": {"type": "string"}, "rate_limit": {"type": "integer"},
            "created_at": {"type": "integer"}, "revoked_at": opt("integer"), "max_batch_threshold": opt("integer")}},
        "KeyList": {"type": "object", "properties": {"keys": {"type": "array", "items": {"$ref": "#/components/schemas/Key"}}}},
        "NewKey": {"type": "object", "required": ["name", "role"], "additionalProperties": false, "properties": {
            "name": {"type": "string"}, "role": {"type": "string", "enum": ["admin", "curator", "matcher"]}, "rate_limit": {"type": "integer", "minimum": 1},
            "max_batch_threshold": {"type": "integer", "minimum": 0, "maximum": 63, "description": "largest batch-lookup threshold the key may use (default: the service's cap for matchers, 63 for others)"}}},
        "CreatedKey": {"type": "object", "properties": {
            "id": {"type": "integer"}, "key": {"type": "string", "description": "shown only here; stored as its SHA-256"},
            "role": {"type": "string"}, "rate_limit": {"type": "integer"}}}
    })
}

fn error_response(what: &str) -> Value {
    json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The OpenAPI 3.1 document for this build.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in ROUTES {
        let mut op = Map::new();
        op.insert("summary".into(), json!(r.summary));
        op.insert(
            "operationId".into(),
            json!(format!(
                "{}{}",
                r.method,
                r.path.replace(['/', '{', '}', '.'], "_")
            )),
        );
        let mut params: Vec<Value> = Vec::new();
        for seg in r.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let ty = if name == "id" { "integer" } else { "string" };
                params.push(
                    json!({"name": name, "in": "path", "required": true, "schema": {"type": ty}}),
                );
            }
        }
        for (name, ty, desc) in r.query {
            params.push(json!({"name": name, "in": "query", "required": false, "description": desc, "schema": {"type": ty}}));
        }
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        match r.body {
            BodyKind::None => {}
            BodyKind::Json(s) => {
                op.insert("requestBody".into(), json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{s}")}}}}));
            }
            BodyKind::Upload => {
                op.insert("requestBody".into(), json!({"required": true, "description": "the file's bytes; hashed in memory, never stored or logged", "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}));
            }
            BodyKind::MediaUpload => {
                op.insert("requestBody".into(), json!({"required": true, "description": "an image's or a video's bytes (recognised by content; a video has its own, larger size limit); hashed in memory (a video from an anonymous in-memory file), never stored or logged", "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}));
            }
            BodyKind::ListFile => {
                op.insert("requestBody".into(), json!({"required": true, "description": "a hash-list file in any supported format", "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}));
            }
        }
        let ok = if r.response == "text" {
            json!({"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}})
        } else {
            json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", r.response)}}}})
        };
        let mut responses = Map::new();
        responses.insert(r.status.to_string(), ok);
        if r.body != BodyKind::None || !r.query.is_empty() || r.path.contains('{') {
            responses.insert("400".into(), error_response("malformed request"));
        }
        if let Some(role) = r.role {
            responses.insert(
                "401".into(),
                error_response("no API key, or not a valid one"),
            );
            responses.insert(
                "403".into(),
                error_response(&format!("the key's role is below {}", role.name())),
            );
            responses.insert(
                "429".into(),
                error_response("over the key's rate limit (costly requests are charged by work)"),
            );
            op.insert("security".into(), json!([{"apiKey": []}, {"bearer": []}]));
            op.insert("x-role".into(), json!(role.name()));
        }
        if r.path.contains('{') {
            responses.insert("404".into(), error_response("not found"));
        }
        if r.query.iter().any(|q| q.0 == "banks") || r.body == BodyKind::Json("BatchLookup") {
            responses.insert(
                "404".into(),
                error_response("a bank named in banks does not exist"),
            );
            responses.insert(
                "409".into(),
                error_response("a bank named in banks is disabled"),
            );
        }
        if r.body != BodyKind::None {
            responses.insert(
                "408".into(),
                error_response("the body did not arrive within the body timeout"),
            );
        }
        match r.body {
            BodyKind::MediaUpload => {
                responses.insert(
                    "413".into(),
                    error_response("upload over the size limit (images and other files) or the video size limit (videos), or an image over the pixel limit"),
                );
                responses.insert(
                    "503".into(),
                    error_response("the decode memory budget is full, or as many videos are being hashed as allowed (busy; Retry-After)"),
                );
                responses.insert(
                    "415".into(),
                    error_response(
                        "neither an image nor a video (allow_non_image=true for digests only)",
                    ),
                );
                responses.insert(
                    "422".into(),
                    error_response("an image that cannot be decoded"),
                );
            }
            BodyKind::Upload => {
                responses.insert(
                    "413".into(),
                    error_response("upload over the size limit, or an image over the pixel limit"),
                );
                responses.insert(
                    "503".into(),
                    error_response("the decode memory budget is full (busy; Retry-After)"),
                );
                responses.insert(
                    "415".into(),
                    error_response("not an image (allow_non_image=true for digests only)"),
                );
                responses.insert(
                    "422".into(),
                    error_response("an image that cannot be decoded"),
                );
            }
            BodyKind::ListFile => {
                responses.insert("413".into(), error_response("list over the size limit"));
                responses.insert(
                    "422".into(),
                    error_response("the list cannot be parsed, has unknown signal types, or would empty the bank; nothing was imported"),
                );
            }
            BodyKind::Json(_) => {
                responses.insert("413".into(), error_response("body over the size limit"));
            }
            BodyKind::None => {}
        }
        op.insert("responses".into(), Value::Object(responses));
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        if let Value::Object(m) = entry {
            m.insert(r.method.to_string(), Value::Object(op));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Nigehbaan matching service",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Hash uploads in memory and match them, or hashes, against banks of known hashes (MD5, SHA-1, SHA-256 exact; PDQ within a Hamming distance, 31 by default; videos by vPDQ, the share of frames that match). Every error is JSON: {\"error\": ..., \"code\": ...}. Roles: admin includes curator includes matcher."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "bearer": {"type": "http", "scheme": "bearer"}
            },
            "schemas": schemas()
        }
    })
}

/// The document as committed in `docs/openapi.json` (pretty, newline-ended).
pub fn document_text() -> String {
    let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
    s.push('\n');
    s
}
