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
    stdout
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
    let clean = simulate(&["--seed", "3"]);
    let faulty = simulate(&["--seed", "3", "--faults", "0.05"]);
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
    assert!(faulty.contains("crash_after_commit"), "{faulty}");
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
