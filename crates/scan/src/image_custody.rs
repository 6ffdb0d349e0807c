//! A disk image in the chain of custody: the acquisition metadata its
//! container records and, with `--verify-image`, its stored MD5/SHA-1
//! checked against the data by streaming every byte. A mismatch or a range
//! that cannot be read is an incomplete exclusion naming what failed; the
//! scan goes on.

use crate::image::Examine;
use crate::model::Exclusion;
use crate::model::ExclusionKind;
use crate::report::images::{AcquisitionRecord, ImageCustody, VerifyResult};
use nigehbaan_disk::container::{Acquisition, Verification};
use nigehbaan_disk::Image;
use nigehbaan_pdq::hex::encode as hex;

/// The custody record of `img` (verifying it when asked), adding an
/// exclusion to `out` for each verification failure.
pub(crate) fn record(
    ctx: &Examine<'_>,
    img: &Image,
    out: &mut Vec<Exclusion>,
) -> (ImageCustody, VerifyResult) {
    let stored = img.stored_hashes();
    let mut c = ImageCustody {
        exhibit: ctx.exhibit.to_string(),
        path: ctx.path.to_string(),
        container: img.kind().name().to_string(),
        segments: img
            .paths()
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        acquisition: img.acquisition().map(acquisition),
        stored_md5: stored.md5.map(|h| hex(&h)),
        stored_sha1: stored.sha1.map(|h| hex(&h)),
        ..ImageCustody::default()
    };
    if ctx.verify {
        let v = img.verify();
        c.computed_md5 = Some(hex(&v.computed.md5));
        c.computed_sha1 = Some(hex(&v.computed.sha1));
        c.unreadable = v
            .computed
            .unreadable
            .iter()
            .map(|u| u.to_string())
            .collect();
        c.verification = result(&v);
        failures(ctx, img, &v, &c, out);
    }
    let r = c.verification;
    (c, r)
}

/// The verification's outcome in one word.
fn result(v: &Verification) -> VerifyResult {
    if !v.computed.unreadable.is_empty() {
        VerifyResult::Unreadable
    } else if v.stored.md5.is_none() && v.stored.sha1.is_none() {
        VerifyResult::NoStoredHash
    } else if v.verified() {
        VerifyResult::Verified
    } else {
        VerifyResult::Mismatch
    }
}

/// Exclusions for what the verification found wrong: each range it could
/// not read that opening the image did not already name, and a stored
/// hash that differs.
fn failures(
    ctx: &Examine<'_>,
    img: &Image,
    v: &Verification,
    c: &ImageCustody,
    out: &mut Vec<Exclusion>,
) {
    let known = img.known_unreadable();
    for u in v.computed.unreadable.iter().filter(|u| !known.contains(u)) {
        out.push(ctx.exclusion(
            ctx.path,
            ExclusionKind::ImageVerification,
            format!("not verified: {u} (files and carving over these bytes are incomplete)"),
        ));
    }
    if c.verification == VerifyResult::Mismatch {
        let mut what = Vec::new();
        if v.md5_matches() == Some(false) {
            what.push(format!(
                "MD5 stored {} but computed {}",
                c.stored_md5.as_deref().unwrap_or("-"),
                c.computed_md5.as_deref().unwrap_or("-")
            ));
        }
        if v.sha1_matches() == Some(false) {
            what.push(format!(
                "SHA-1 stored {} but computed {}",
                c.stored_sha1.as_deref().unwrap_or("-"),
                c.computed_sha1.as_deref().unwrap_or("-")
            ));
        }
        out.push(ctx.exclusion(
            ctx.path,
            ExclusionKind::ImageVerification,
            format!(
                "not verified: the image's data differs from what was acquired: {}",
                what.join("; ")
            ),
        ));
    }
}

fn acquisition(a: &Acquisition) -> AcquisitionRecord {
    AcquisitionRecord {
        case_number: a.case_number.clone(),
        evidence_number: a.evidence_number.clone(),
        description: a.description.clone(),
        examiner: a.examiner.clone(),
        notes: a.notes.clone(),
        acquired: a.acquired.clone(),
        acquired_utc: a.acquired_unix.and_then(nigehbaan_time::utc),
        tool_version: a.software_version.clone(),
        os: a.os.clone(),
        model: a.model.clone(),
        serial: a.serial.clone(),
    }
}
