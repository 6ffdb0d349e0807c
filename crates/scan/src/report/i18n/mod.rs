//! The report's languages: one typed message catalogue per language
//! ([`en`], [`ur`]).
//!
//! A plain typed catalogue rather than Fluent: every label is a variant of
//! the closed set [`Key`], and each language is an exhaustive `match` over
//! it, so a label missing in any language is a compile error (and the
//! test below fails on an empty or untranslated one); the few sentences
//! with numbers in them are ordinary functions, checked by the compiler
//! too. Fluent would find missing messages only at run time, and needs a
//! runtime and resource files for two languages.

pub mod en;
pub mod ur;

use std::fmt;
use std::str::FromStr;

/// A language the report can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English.
    En,
    /// Urdu (right to left, Nastaliq).
    Ur,
}

impl Lang {
    /// The BCP 47 tag (`en`, `ur`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ur => "ur",
        }
    }

    /// True for a right-to-left language.
    pub fn rtl(self) -> bool {
        self == Lang::Ur
    }

    /// The label for `k` in this language.
    pub fn get(self, k: Key) -> &'static str {
        match self {
            Lang::En => en::text(k),
            Lang::Ur => ur::text(k),
        }
    }

    /// `n` in words.
    pub fn words(self, n: u64) -> String {
        match self {
            Lang::En => en::words(n),
            Lang::Ur => ur::words(n),
        }
    }
}

/// The languages of one report: `en`, `ur`, or `en,ur` (bilingual: every
/// heading and label in both, in that order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Langs(Vec<Lang>);

impl Langs {
    /// The languages, first the page's main one.
    pub fn list(&self) -> &[Lang] {
        &self.0
    }

    /// The page's main language.
    pub fn main(&self) -> Lang {
        self.0.first().copied().unwrap_or(Lang::En)
    }
}

impl Default for Langs {
    fn default() -> Self {
        Langs(vec![Lang::En])
    }
}

impl fmt::Display for Langs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tags: Vec<&str> = self.0.iter().map(|l| l.tag()).collect();
        f.write_str(&tags.join(","))
    }
}

/// A `--lang` value that is not `en`, `ur` or a comma-separated list of
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LangError(pub String);

impl fmt::Display for LangError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown report language {:?}: use en, ur or en,ur",
            self.0
        )
    }
}

impl std::error::Error for LangError {}

impl FromStr for Langs {
    type Err = LangError;
    fn from_str(s: &str) -> Result<Self, LangError> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim) {
            let l = match part {
                "en" => Lang::En,
                "ur" => Lang::Ur,
                _ => return Err(LangError(s.to_string())),
            };
            if !out.contains(&l) {
                out.push(l);
            }
        }
        Ok(Langs(out))
    }
}

/// Declares [`Key`] and [`Key::ALL`] from one list.
macro_rules! keys {
    ($($(#[$m:meta])* $k:ident),* $(,)?) => {
        /// Every label the report uses: the catalogue's keys.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Key { $($(#[$m])* $k),* }
        impl Key {
            /// Every key, for the completeness test.
            pub const ALL: &'static [Key] = &[$(Key::$k),*];
        }
    };
}

keys! {
    /// The document's title.
    Title,
    /// Under the title: no pictures in this report.
    NoPictures,
    /// Agency.
    Agency,
    /// Laboratory.
    Lab,
    /// Case number.
    CaseNumber,
    /// FIR number.
    Fir,
    /// Police station.
    PoliceStation,
    /// Court.
    Court,
    /// Laws cited.
    Laws,
    /// Report date.
    ReportDate,
    /// Examiner.
    Examiner,
    /// Designation.
    Designation,
    /// Status.
    Status,
    /// Complete.
    Complete,
    /// Incomplete (errors or exclusions).
    Incomplete,
    /// Interrupted.
    Interrupted,
    /// Findings heading.
    Findings,
    /// Method and limits heading.
    Method,
    /// Chain of custody heading.
    Custody,
    /// Tool.
    Tool,
    /// Host.
    Host,
    /// Started.
    Started,
    /// Finished.
    Finished,
    /// Runs.
    Runs,
    /// SHA-256 of report.json.
    JsonSha,
    /// Exhibits heading.
    Exhibits,
    /// Exhibit.
    Exhibit,
    /// Paths.
    Paths,
    /// Seal.
    Seal,
    /// Files on disk.
    FilesOnDisk,
    /// Size.
    Size,
    /// Hits per category heading.
    PerCategory,
    /// Category.
    Category,
    /// Files.
    Files,
    /// Hits.
    Hits,
    /// Known files set aside.
    Known,
    /// Unmatched.
    Unmatched,
    /// Errors.
    Errors,
    /// Uncategorised.
    Uncategorised,
    /// No hits.
    NoHits,
    /// Hits heading.
    HitsHeading,
    /// The note that unmatched files are not listed.
    UnmatchedNotListed,
    /// Row number.
    Number,
    /// Path.
    Path,
    /// Match.
    Match,
    /// List.
    List,
    /// Hashes.
    Hashes,
    /// Exact match.
    Exact,
    /// Similar (PDQ).
    Similar,
    /// Distance.
    Distance,
    /// vPDQ: the share of the video's frames that matched.
    OfTheVideo,
    /// vPDQ: the share of the listed video's frames that matched.
    OfTheListed,
    /// vPDQ: the stretches of the video that matched.
    MatchedAt,
    /// Further records heading.
    FurtherRecords,
    /// Further records: explanation.
    FurtherRecordsNote,
    /// Record.
    Record,
    /// Further records, in a hit row.
    MoreRecords,
    /// Exact-duplicate groups heading.
    DuplicateGroups,
    /// Near-duplicate groups heading.
    NearGroups,
    /// Group.
    Group,
    /// Members.
    Members,
    /// None.
    NoneText,
    /// Lists heading.
    Lists,
    /// Name.
    Name,
    /// Version.
    Version,
    /// Issuer.
    Issuer,
    /// The list's own date.
    ListDate,
    /// Records.
    Records,
    /// SHA-256 of the list file as received.
    SourceSha,
    /// SHA-256 of the records.
    RecordsSha,
    /// Exclusions heading.
    Exclusions,
    /// Kind.
    Kind,
    /// Reason.
    Reason,
    /// Hashed.
    Hashed,
    /// Leaves evidence unexamined.
    LeavesUnexamined,
    /// Yes.
    Yes,
    /// No.
    No,
    /// Declaration heading.
    Declaration,
    /// The declaration's text.
    DeclarationText,
    /// Signature.
    Signature,
    /// Date.
    Date,
    /// Place.
    Place,
    /// Appendix: settings and command lines heading.
    Appendix,
    /// Digests.
    Digests,
    /// PDQ threshold.
    Threshold,
    /// PDQ minimum quality.
    MinQuality,
    /// Rotations and flips searched.
    Dihedral,
    /// Container limits.
    Limits,
    /// Symbolic links followed.
    Symlinks,
    /// Carving.
    Carve,
    /// Threads.
    Threads,
    /// Command line.
    CommandLine,
    /// Exact sizes heading.
    ExactSizes,
    /// Bytes.
    Bytes,
    /// Page (in "page X of Y").
    Page,
    /// Of (in "page X of Y").
    Of,
    /// Footer line.
    Footer,
    /// Exit status.
    ExitStatus,
    /// Disk images: partition table (disk image).
    PartitionTable,
    /// Disk images: the disk image's verification against its stored hashes.
    Verification,
    /// Disk images: verification: not requested.
    VerifyNotRequested,
    /// Disk images: verification: the stored hashes verified.
    VerifyVerified,
    /// Disk images: verification: the stored hashes did not match.
    VerifyMismatch,
    /// Disk images: verification: the image could not be read whole.
    VerifyUnreadable,
    /// Disk images: verification: the image stores no hash.
    VerifyNoStoredHash,
    /// Disk images: partition (of a disk image).
    Partition,
    /// Disk images: where a partition starts, in bytes.
    StartByte,
    /// Disk images: a partition cut at the disk's end.
    CutAtEnd,
    /// Disk images: file system.
    FileSystem,
    /// Disk images: no file system recognised.
    NoneRecognised,
    /// Disk images: regions of a disk no partition covers.
    Unpartitioned,
    /// Disk images: bytes searched (by carving).
    Searched,
    /// Disk images: items carved.
    Carved,
    /// Disk images: live (not deleted) files.
    Live,
    /// Disk images: deleted files recovered.
    Deleted,
    /// Disk images: unallocated space searched.
    UnallocatedSearched,
    /// Disk images: totals over a disk image.
    Totals,
    /// Disk images: the case number the image's acquisition recorded.
    AcqCase,
    /// Disk images: the evidence number the acquisition recorded.
    EvidenceNumber,
    /// Disk images: the examiner the acquisition recorded.
    AcqExaminer,
    /// Disk images: when the image was acquired.
    Acquired,
    /// Disk images: the acquiring tool.
    AcqTool,
    /// Disk images: mD5 stored in the image.
    StoredMd5,
    /// Disk images: mD5 computed now.
    ComputedMd5,
    /// Disk images: sHA-1 stored in the image.
    StoredSha1,
    /// Disk images: sHA-1 computed now.
    ComputedSha1,
    /// Disk images: a range of the image that could not be read.
    NotReadable,
}

/// One exhibit in the findings: its id, its hit files, and its hit files
/// per category (name, count).
pub type ExhibitFacts = (String, u64, Vec<(String, u64)>);

/// What the findings paragraph says.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Files examined.
    pub files: u64,
    /// Hit files.
    pub hits: u64,
    /// Known files set aside.
    pub known: u64,
    /// Items not examined fully: files with errors plus exclusions that
    /// left evidence unexamined.
    pub unexamined: u64,
    /// Per exhibit: its id, its hits and its hits per category label.
    pub per_exhibit: Vec<ExhibitFacts>,
    /// True when the scan examined everything.
    pub complete: bool,
}

impl Lang {
    /// The findings paragraph.
    pub fn findings(self, f: &Facts) -> String {
        match self {
            Lang::En => en::findings(f),
            Lang::Ur => ur::findings(f),
        }
    }

    /// The method and limits, one paragraph each; `threshold` is the PDQ
    /// match distance, `lists` the lists and their issuers.
    pub fn method(self, threshold: u32, dihedral: bool, lists: &str) -> Vec<String> {
        match self {
            Lang::En => en::method(threshold, dihedral, lists),
            Lang::Ur => ur::method(threshold, dihedral, lists),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arabic_script(s: &str) -> bool {
        s.chars().any(|c| ('\u{600}'..='\u{6ff}').contains(&c))
    }

    /// The catalogue is complete: every key has a non-empty label in every
    /// language, and the Urdu one is Urdu (not English left in place).
    #[test]
    fn catalogue_is_complete() {
        let mut missing = Vec::new();
        for &k in Key::ALL {
            for l in [Lang::En, Lang::Ur] {
                if l.get(k).trim().is_empty() {
                    missing.push(format!("{k:?} in {}", l.tag()));
                }
            }
            if !arabic_script(Lang::Ur.get(k)) {
                missing.push(format!("{k:?} in ur (not translated)"));
            }
        }
        assert!(missing.is_empty(), "missing labels: {missing:?}");
    }

    #[test]
    fn languages_parse() {
        assert_eq!("en".parse::<Langs>().unwrap().list(), &[Lang::En]);
        assert_eq!(
            "en,ur".parse::<Langs>().unwrap().list(),
            &[Lang::En, Lang::Ur]
        );
        assert_eq!("ur".parse::<Langs>().unwrap().main(), Lang::Ur);
        assert!("fr".parse::<Langs>().is_err());
        assert!("".parse::<Langs>().is_err());
    }

    #[test]
    fn numbers_in_words() {
        assert_eq!(en::words(0), "zero");
        assert_eq!(en::words(13), "thirteen");
        assert_eq!(en::words(42), "forty-two");
        assert_eq!(en::words(1_005), "one thousand and five");
        assert_eq!(
            en::words(2_345_678),
            "two million three hundred and forty-five thousand six hundred and seventy-eight"
        );
        assert_eq!(ur::words(0), "صفر");
        assert_eq!(ur::words(5), "پانچ");
        assert_eq!(ur::words(99), "ننانوے");
        assert_eq!(ur::words(150), "ایک سو پچاس");
        assert_eq!(ur::words(250_000), "دو لاکھ پچاس ہزار");
        assert_eq!(ur::words(12_000_000), "ایک کروڑ بیس لاکھ");
    }

    #[test]
    fn findings_name_every_number() {
        let f = Facts {
            files: 12,
            hits: 3,
            known: 1,
            unexamined: 2,
            per_exhibit: vec![("EX-1".into(), 3, vec![("A1".into(), 3)])],
            complete: false,
        };
        for l in [Lang::En, Lang::Ur] {
            let s = l.findings(&f);
            for n in ["12", "3", "2", "EX-1", "A1"] {
                assert!(s.contains(n), "{} findings lack {n}: {s}", l.tag());
            }
        }
        assert!(en::findings(&f).contains("twelve"));
        assert!(ur::findings(&f).contains("بارہ"));
    }
}
