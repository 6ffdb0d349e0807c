//! How a record is stored: one compact JSON object per line of
//! `records.jsonl`, absent fields left out; provenance is in the manifest.

use std::sync::Arc;

use nigehbaan_pdq::Hash256;
use nigehbaan_video::FrameHash;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::hex;
use crate::model::{
    Category, MediaKind, OpaqueHash, OpaqueValue, PdqHash, Provenance, Record, Scheme, Status,
    VicsFlags,
};

/// A record as stored: one compact JSON object per line, absent fields
/// left out. Provenance is in the manifest.
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    md5: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pdq: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<u8>,
    /// vPDQ frames: `[frame, quality, pdq hex, timestamp]` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    vpdq: Vec<(u64, u8, String, f64)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    other: Vec<StoredOpaque>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cat: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vi: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oi: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dist: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    series: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    /// Status: `k` known, `n` notable.
    st: char,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    /// `i` image, `v` video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media: Option<char>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredOpaque {
    k: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

impl Stored {
    pub(super) fn from_record(r: &Record) -> Stored {
        Stored {
            md5: r.md5.map(|h| hex::encode(&h)),
            sha1: r.sha1.map(|h| hex::encode(&h)),
            sha256: r.sha256.map(|h| hex::encode(&h)),
            pdq: r.pdq.map(|p| p.hash.to_hex()),
            q: r.pdq.and_then(|p| p.quality),
            vpdq: r
                .vpdq
                .iter()
                .map(|f| (f.frame, f.quality, f.pdq.to_hex(), f.timestamp))
                .collect(),
            other: r
                .other
                .iter()
                .map(|o| match &o.value {
                    OpaqueValue::Bytes(b) => StoredOpaque {
                        k: o.kind.clone(),
                        hex: Some(hex::encode(b)),
                        text: None,
                    },
                    OpaqueValue::Text(t) => StoredOpaque {
                        k: o.kind.clone(),
                        hex: None,
                        text: Some(t.clone()),
                    },
                })
                .collect(),
            scheme: r.category.as_ref().map(|c| c.scheme.name()),
            cat: r.category.as_ref().map(|c| c.code.clone()),
            vi: r.flags.victim_identified,
            oi: r.flags.offender_identified,
            dist: r.flags.distributed,
            series: r.flags.series.clone(),
            tags: r.flags.tags.clone(),
            st: match r.status {
                Status::Known => 'k',
                Status::Notable => 'n',
            },
            id: r.id.clone(),
            name: r.name.clone(),
            size: r.size,
            media: r.media.map(|m| match m {
                MediaKind::Image => 'i',
                MediaKind::Video => 'v',
            }),
        }
    }

    pub(super) fn into_record(self, provenance: Arc<Provenance>) -> Result<Record, FieldError> {
        let status = match self.st {
            'k' => Status::Known,
            'n' => Status::Notable,
            c => {
                return Err(FieldError::Status {
                    text: c.to_string(),
                })
            }
        };
        let mut r = Record::new(status, provenance);
        r.md5 = self.md5.map(|h| hex::decode_hash(&h, "MD5")).transpose()?;
        r.sha1 = self
            .sha1
            .map(|h| hex::decode_hash(&h, "SHA-1"))
            .transpose()?;
        r.sha256 = self
            .sha256
            .map(|h| hex::decode_hash(&h, "SHA-256"))
            .transpose()?;
        r.pdq = match self.pdq {
            Some(h) => Some(PdqHash {
                hash: Hash256::from_hex(&h).map_err(|source| FieldError::Pdq {
                    text: hex::shorten(&h),
                    source,
                })?,
                quality: self.q,
            }),
            None => None,
        };
        for (frame, quality, pdq, timestamp) in self.vpdq {
            if quality > 100 || !timestamp.is_finite() {
                return Err(FieldError::VpdqFrame {
                    frame,
                    source: None,
                });
            }
            r.vpdq.push(FrameHash {
                frame,
                quality,
                pdq: Hash256::from_hex(&pdq).map_err(|e| FieldError::VpdqFrame {
                    frame,
                    source: Some(e),
                })?,
                timestamp,
            });
        }
        for o in self.other {
            let value = match (o.hex, o.text) {
                (Some(h), None) => OpaqueValue::Bytes(
                    hex::decode_vec(&h).map_err(|e| hex::HashTextError::hex(&o.k, &h, e))?,
                ),
                (None, Some(t)) => OpaqueValue::Text(t),
                _ => return Err(FieldError::OpaqueValue { kind: o.k }),
            };
            r.other.push(OpaqueHash { kind: o.k, value });
        }
        r.category = match (self.scheme, self.cat) {
            (Some(s), Some(c)) => Some(Category::new(Scheme::from_name(&s), &c)),
            (None, None) => None,
            _ => return Err(FieldError::CategoryWithoutScheme),
        };
        r.flags = VicsFlags {
            victim_identified: self.vi,
            offender_identified: self.oi,
            distributed: self.dist,
            series: self.series,
            tags: self.tags,
        };
        r.id = self.id;
        r.name = self.name;
        r.size = self.size;
        r.media = match self.media {
            None => None,
            Some('i') => Some(MediaKind::Image),
            Some('v') => Some(MediaKind::Video),
            Some(c) => {
                return Err(FieldError::Media {
                    text: c.to_string(),
                })
            }
        };
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_records_round_trip() {
        let prov = Arc::new(Provenance::new("t"));
        let mut r = Record::new(Status::Known, prov.clone());
        r.md5 = Some([7; 16]);
        r.sha256 = Some([9; 32]);
        r.pdq = Some(PdqHash {
            hash: Hash256([1, 2, 3, 4]),
            quality: Some(80),
        });
        r.other.push(OpaqueHash {
            kind: "photodna".into(),
            value: OpaqueValue::Bytes(vec![1; 144]),
        });
        r.other.push(OpaqueHash {
            kind: "vpdq".into(),
            value: OpaqueValue::Text("x,y".into()),
        });
        r.category = Some(Category::new(Scheme::Custom("acme".into()), "Z"));
        r.flags.tags = vec!["a".into()];
        r.flags.victim_identified = Some(true);
        r.media = Some(MediaKind::Video);
        r.size = Some(5);
        r.vpdq = (0..3)
            .map(|i| FrameHash {
                frame: i * 30,
                quality: 90 - i as u8,
                pdq: Hash256([i, 1, 2, 3]),
                timestamp: i as f64 * 1.001,
            })
            .collect();
        let line = serde_json::to_string(&Stored::from_record(&r)).unwrap();
        let back: Stored = serde_json::from_str(&line).unwrap();
        assert_eq!(back.into_record(prov).unwrap(), r);
    }
}
