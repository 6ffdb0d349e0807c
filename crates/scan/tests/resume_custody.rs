//! A resumed scan keeps every run's custody (command line, times,
//! examiner) and refuses a changed case or exhibit, naming it.

use nigehbaan_lists::library::{ImportRequest, Library, OpenList};
use nigehbaan_lists::{Format, ImportOptions, Status};
use nigehbaan_scan::{scan, CaseInfo, Exhibit, Progress, ScanConfig, ScanError};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

fn setup(name: &str) -> (PathBuf, Vec<OpenList>) {
    let d = std::env::temp_dir().join(format!("nigehbaan-resume-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("ev")).unwrap();
    for i in 0..5 {
        std::fs::write(d.join(format!("ev/{i}.txt")), format!("benign {i}")).unwrap();
    }
    // TEST DATA: one placeholder hash that matches nothing here.
    std::fs::write(d.join("l.md5"), "00000000000000000000000000000001  x\n").unwrap();
    let lib = Library::new(d.join("library"));
    let mut options = ImportOptions::new("l.md5", "test-list");
    options.status = Some(Status::Notable);
    options.format = Some(Format::HashSum);
    lib.import(&ImportRequest {
        path: d.join("l.md5"),
        options,
        replace: true,
        min_quality: 50,
        compact_pdq: false,
    })
    .unwrap();
    let lists = lib.open_all(&[]).unwrap();
    (d, lists)
}

fn config(d: &Path, case: &str, examiner: &str, command: &str) -> ScanConfig {
    ScanConfig {
        exhibits: vec![Exhibit {
            id: "EX1".into(),
            paths: vec![d.join("ev")],
        }],
        out_dir: d.join("out"),
        case: CaseInfo {
            case_number: Some(case.into()),
            examiner: Some(examiner.into()),
            agency: None,
            ..Default::default()
        },
        hash: nigehbaan_filehash::Options::default(),
        matching: nigehbaan_scan::MatchSettings {
            threshold: 31,
            min_quality: 50,
            dihedral: false,
        },
        limits: Default::default(),
        follow_symlinks: false,
        threads: 1,
        memory_budget: 1 << 20,
        resume: false,
        carve: true,
        verify_image: false,
        video: Default::default(),
        command_line: command.into(),
    }
}

#[test]
fn every_run_is_kept_and_a_changed_case_is_refused() {
    let (d, lists) = setup("custody");
    // The first run is stopped at once: a checkpoint and an incomplete report.
    let first = config(
        &d,
        "CASE-1",
        "First Examiner",
        "nigehbaan scan ev --case CASE-1",
    );
    let o = scan(&first, &lists, &Progress::default(), &AtomicBool::new(true)).unwrap();
    assert!(o.report.status.interrupted);
    assert_eq!(o.report.custody.runs.len(), 1);
    assert!(o.report.custody.runs[0].interrupted);

    // Another case number or another exhibit: refused, naming the setting.
    let mut other = config(&d, "OTHER", "Someone", "nigehbaan scan ev --resume");
    other.resume = true;
    let e = scan(
        &other,
        &lists,
        &Progress::default(),
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert!(
        matches!(&e, ScanError::ResumeMismatch { setting, .. } if setting == "case number"),
        "{e}"
    );
    assert!(
        e.to_string().contains("CASE-1") && e.to_string().contains("OTHER"),
        "{e}"
    );
    let mut renamed = config(&d, "CASE-1", "Someone", "x");
    renamed.resume = true;
    renamed.exhibits[0].id = "EX2".into();
    let e = scan(
        &renamed,
        &lists,
        &Progress::default(),
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert!(
        matches!(&e, ScanError::ResumeMismatch { setting, .. } if setting == "exhibits"),
        "{e}"
    );

    // Another examiner may resume the same case: both runs are kept.
    let mut second = config(
        &d,
        "CASE-1",
        "Second Examiner",
        "nigehbaan scan ev --resume",
    );
    second.resume = true;
    let o = scan(
        &second,
        &lists,
        &Progress::default(),
        &AtomicBool::new(false),
    )
    .unwrap();
    let c = &o.report.custody;
    assert!(o.report.status.complete);
    assert_eq!(c.case_number.as_deref(), Some("CASE-1"));
    assert_eq!(c.examiner.as_deref(), Some("First Examiner"));
    assert_eq!(c.command_line, "nigehbaan scan ev --case CASE-1");
    assert_eq!(c.runs.len(), 2);
    assert_eq!(c.runs[0].examiner.as_deref(), Some("First Examiner"));
    assert_eq!(c.runs[0].command_line, "nigehbaan scan ev --case CASE-1");
    assert!(c.runs[0].interrupted && c.runs[0].finished.is_some());
    assert_eq!(c.runs[1].examiner.as_deref(), Some("Second Examiner"));
    assert_eq!(c.runs[1].command_line, "nigehbaan scan ev --resume");
    assert!(!c.runs[1].interrupted);
    assert!(c.runs[0].started.unix <= c.runs[1].started.unix);
    assert_eq!(c.started, c.runs[0].started);
    assert!(!d.join("out").join(nigehbaan_scan::runs::RUN_FILE).exists());
    std::fs::remove_dir_all(&d).unwrap();
}
