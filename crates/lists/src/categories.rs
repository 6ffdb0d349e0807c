//! What category codes mean, one constant table per scheme.
//!
//! Nothing here is guessed: a code that is not in its scheme's table is kept
//! verbatim on the record and reported as unknown
//! ([`crate::Category::is_known`] is false). Letter codes are compared
//! without regard to ASCII case (`a1` is `A1`).
//!
//! Sources:
//! - Project VIC (US): the five VICS categories as Project VIC publishes
//!   them to VICS-adopting tools. Agencies holding the Project VIC
//!   specification should check the wording against it.
//! - UK CAID and IWF: the three categories of the Sentencing Council
//!   guideline for indecent images of children (England and Wales), which
//!   CAID grading and the IWF both use.
//! - NCMEC: the industry classification NCMEC uses in hash sharing, where the
//!   letter is the apparent age group and the digit the kind of content.

use crate::model::Scheme;

/// The meaning of one category code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CategoryInfo {
    /// The code as the scheme writes it.
    pub code: &'static str,
    /// A short label.
    pub label: &'static str,
    /// A one-sentence description.
    pub description: &'static str,
}

const fn info(code: &'static str, label: &'static str, description: &'static str) -> CategoryInfo {
    CategoryInfo {
        code,
        label,
        description,
    }
}

/// Project VIC (US) categories 0–4.
pub const PROJECT_VIC_US: &[CategoryInfo] = &[
    info("0", "Uncategorized", "Not (yet) categorised."),
    info(
        "1",
        "Child abuse material",
        "Child abuse material (CAM): illegal.",
    ),
    info(
        "2",
        "Child exploitive / age difficult",
        "Child-exploitive material that is not CAM, or where the age is difficult to determine.",
    ),
    info(
        "3",
        "CGI / animation",
        "Computer-generated or animated child-exploitive material.",
    ),
    info(
        "4",
        "Comparison",
        "Comparison images: non-exploitive images kept to help identify a victim or place.",
    ),
];

/// The Sentencing Council categories A–C shared by UK CAID and the IWF.
const UK_ABC: &[CategoryInfo] = &[
    info(
        "A",
        "Category A",
        "Images involving penetrative sexual activity, sexual activity with an animal, or sadism.",
    ),
    info(
        "B",
        "Category B",
        "Images involving non-penetrative sexual activity.",
    ),
    info(
        "C",
        "Category C",
        "Other indecent images not falling within categories A or B.",
    ),
];

/// UK CAID categories.
pub const UK_CAID: &[CategoryInfo] = UK_ABC;

/// IWF categories.
pub const IWF: &[CategoryInfo] = UK_ABC;

/// NCMEC / industry classification.
pub const NCMEC: &[CategoryInfo] = &[
    info(
        "A1",
        "Prepubescent, sex act",
        "A prepubescent minor engaged in a sex act.",
    ),
    info(
        "A2",
        "Prepubescent, lascivious exhibition",
        "A prepubescent minor in a lascivious exhibition.",
    ),
    info(
        "B1",
        "Pubescent, sex act",
        "A pubescent minor engaged in a sex act.",
    ),
    info(
        "B2",
        "Pubescent, lascivious exhibition",
        "A pubescent minor in a lascivious exhibition.",
    ),
];

/// The table for a scheme (empty for [`Scheme::Custom`]).
pub fn table(scheme: &Scheme) -> &'static [CategoryInfo] {
    match scheme {
        Scheme::ProjectVicUs => PROJECT_VIC_US,
        Scheme::UkCaid => UK_CAID,
        Scheme::NcmecAB => NCMEC,
        Scheme::Iwf => IWF,
        Scheme::Custom(_) => &[],
    }
}

/// The table entry for `code` in `scheme`, if there is one.
pub fn lookup(scheme: &Scheme, code: &str) -> Option<&'static CategoryInfo> {
    let code = code.trim();
    table(scheme)
        .iter()
        .find(|i| i.code.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_codes() {
        assert_eq!(lookup(&Scheme::NcmecAB, "a1").unwrap().code, "A1");
        assert_eq!(
            lookup(&Scheme::ProjectVicUs, "3").unwrap().label,
            "CGI / animation"
        );
        assert!(lookup(&Scheme::ProjectVicUs, "5").is_none());
        assert!(lookup(&Scheme::Iwf, "D").is_none());
        assert!(lookup(&Scheme::Custom("x".into()), "1").is_none());
    }
}
