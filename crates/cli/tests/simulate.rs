//! `yunshi simulate` end to end: the same seed prints the same summary, another seed another;
//! a bounded sweep of seeds × rulebooks × fault rates keeps every invariant; with faults on
//! PostgreSQL too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

/// A small marketplace (its days come with each call).
const SMALL: [&str; 6] = [
    "--providers",
    "10",
    "--buyers",
    "200",
    "--orders-per-provider",
    "300",
];

/// `yunshi simulate` over 40 days (past the first monthly settlement) unless `extra` says.
fn simulate(extra: &[&str]) -> String {
    simulate_reporting(extra).0
}

/// [`simulate`], with the report beside the summary on standard error ("took … · faults
/// injected: … · N restarts after injected crashes · …").
fn simulate_reporting(extra: &[&str]) -> (String, String) {
    let days: &[&str] = if extra.contains(&"--days") {
        &[]
    } else {
        &["--days", "40"]
    };
    let out = Command::new(env!("CARGO_BIN_EXE_yunshi"))
        .arg("simulate")
        .args(SMALL)
        .args(days)
        .args(extra)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "yunshi simulate {extra:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The faults injected, by kind, from a report's "faults injected: busy 3, …" ("none": empty).
fn injected(report: &str) -> std::collections::BTreeMap<String, u64> {
    let list = report
        .split("faults injected: ")
        .nth(1)
        .and_then(|rest| rest.split([';', '·']).next())
        .unwrap_or_else(|| panic!("no faults injected in {report}"))
        .trim();
    if list == "none" {
        return Default::default();
    }
    list.split(", ")
        .map(|kind_n| {
            let (kind, n) = kind_n.rsplit_once(' ').unwrap();
            (kind.to_owned(), n.parse().unwrap())
        })
        .collect()
}

/// The restarts from a report's "… N restarts …".
fn restarts(report: &str) -> u64 {
    let before = report
        .split(" restarts")
        .next()
        .filter(|b| b.len() < report.len())
        .unwrap_or_else(|| panic!("no restarts in {report}"));
    let n = before.rsplit([' ', ';']).next().unwrap();
    n.parse()
        .unwrap_or_else(|_| panic!("restarts {n:?} in {report}"))
}

#[test]
fn the_same_seed_prints_the_same_summary_and_another_seed_differs() {
    let a = simulate(&["--seed", "7"]);
    let b = simulate(&["--seed", "7"]);
    let c = simulate(&["--seed", "8"]);
    assert_eq!(a, b, "the same seed, byte for byte");
    assert_ne!(a, c, "another seed, another marketplace");
    for line in ["orders", "refunds", "settlement", "deadlines", "invariants"] {
        assert!(a.contains(line), "the summary shows {line}:\n{a}");
    }
    assert!(a.contains("held after 40 audits (3 of everything)"), "{a}");
}

#[test]
fn faults_at_the_storage_boundary_change_nothing_the_summary_shows() {
    let (clean, clean_report) = simulate_reporting(&["--seed", "3"]);
    let (faulty, report) = simulate_reporting(&["--seed", "3", "--faults", "0.05"]);
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("yunshi simulate") && !l.starts_with("invariants"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&clean),
        strip(&faulty),
        "retries and restarts lose and repeat nothing"
    );
    // The faults happened, not only their plan: commits met every kind, the crashes
    // restarted the service, and writes committed before a crash lost their answer.
    assert!(injected(&clean_report).is_empty(), "{clean_report}");
    assert_eq!(restarts(&clean_report), 0, "{clean_report}");
    let hit = injected(&report);
    for kind in [
        "busy",
        "serialization",
        "connection_dropped",
        "crash_before_commit",
        "crash_after_commit",
    ] {
        assert!(
            hit.get(kind).is_some_and(|n| *n > 0),
            "no {kind} fault was injected: {report}"
        );
    }
    let crashes = hit["crash_before_commit"] + hit["crash_after_commit"];
    let restarted = restarts(&report);
    assert!(
        restarted > 0 && restarted <= crashes,
        "{restarted} restarts after {crashes} injected crashes: {report}"
    );
}

#[test]
fn a_sweep_of_seeds_rulebooks_and_fault_rates_keeps_every_invariant() {
    let out = simulate(&["--sweep", "2", "--faults", "0.03", "--days", "35"]);
    let runs = out.lines().filter(|l| l.contains("audits passed")).count();
    assert_eq!(
        runs,
        3 * 2 * 2,
        "every rulebook, seed and fault rate ran:\n{out}"
    );
    // The runs with faults met some and restarted after crashes; those without met none.
    for run in out.lines().filter(|l| l.contains("audits passed")) {
        if run.contains("faults 0.000") {
            assert!(injected(run).is_empty(), "{run}");
            assert_eq!(restarts(run), 0, "{run}");
        } else {
            assert!(!injected(run).is_empty(), "no fault injected: {run}");
            assert!(restarts(run) > 0, "no restart: {run}");
        }
    }
    for rulebook in ["ali-2020", "tc-2017", "jd-2019"] {
        assert!(out.contains(rulebook), "{out}");
    }
}

#[tokio::test]
async fn a_simulation_with_faults_keeps_every_invariant_on_postgres() {
    let Some(common::Target::Postgres { url }) = common::Target::postgres().await else {
        return;
    };
    let out = simulate(&["--seed", "5", "--faults", "0.03", "--database", &url]);
    assert!(
        out.contains("held after 40 audits (3 of everything)"),
        "{out}"
    );
}
