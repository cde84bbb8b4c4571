//! The server's floors, read from its sources (ARCHITECTURE.md, "The floors"): the kernel names
//! no feature and no reaction; a reaction names no feature; a feature names no other feature.
//! Routes and deadline handlers are assembled above them all, in `lib.rs` and `docs.rs`.
//!
//! A name counts wherever it is written — an import, a path in code, a doc link — because each
//! is a dependency a reader has to follow.

use std::path::{Path, PathBuf};

/// Where the floors are.
fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, with its path relative to `src`.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(src())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The module names that follow `prefix` in `text` (`crate::features::` → `orders`, …).
fn named_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.match_indices(prefix)
        .filter(|(at, _)| {
            // `crate::features::` but not `yunshi_crate::features::` or `a_super::`.
            text[..*at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_')
        })
        .map(|(at, _)| {
            let rest = &text[at + prefix.len()..];
            let end = rest
                .find(|c: char| !c.is_alphanumeric() && c != '_')
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// The feature a file under `features/` belongs to (`features/orders/views.rs` → `orders`,
/// `features/deliveries.rs` → `deliveries`).
fn feature_of(rel: &str) -> Option<&str> {
    let rest = rel.strip_prefix("features/")?;
    match rest.split_once('/') {
        Some((feature, _)) => Some(feature),
        None if rest == "mod.rs" => None,
        None => rest.strip_suffix(".rs"),
    }
}

/// Every name that breaks the floors, as `file: name`.
fn violations(files: &[(String, String)]) -> Vec<String> {
    let features: Vec<&str> = files
        .iter()
        .filter_map(|(rel, _)| feature_of(rel))
        .collect();
    let mut out = Vec::new();
    for (rel, text) in files {
        let mut bad = |what: String| out.push(format!("{rel}: {what}"));
        if rel.starts_with("kernel/") {
            for floor in ["features", "reactions"] {
                for name in named_after(text, &format!("crate::{floor}::")) {
                    bad(format!("the kernel names {floor}::{name}"));
                }
            }
            for top in ["crate::docs::", "crate::routes", "crate::deadline_registry"] {
                if text.contains(top) {
                    bad(format!("the kernel names {top}"));
                }
            }
        } else if rel.starts_with("reactions/") {
            for name in named_after(text, "crate::features::") {
                bad(format!("a reaction names features::{name}"));
            }
        } else if let Some(own) = feature_of(rel) {
            for name in named_after(text, "crate::features::") {
                if name != own {
                    bad(format!("feature {own} names feature {name}"));
                }
            }
            // A relative path that climbs out of the feature onto another one.
            for name in named_after(text, "super::") {
                if name != own && features.contains(&name) {
                    bad(format!("feature {own} names super::{name}"));
                }
            }
        }
    }
    out
}

#[test]
fn no_feature_names_another_feature_and_no_lower_floor_names_a_higher_one() {
    let files = sources(&src());
    assert!(
        files
            .iter()
            .filter(|(r, _)| r.starts_with("features/"))
            .count()
            > 20
            && files.iter().any(|(r, _)| r.starts_with("kernel/"))
            && files.iter().any(|(r, _)| r.starts_with("reactions/")),
        "the floors are not where this test looks: {}",
        src().display()
    );
    let found = violations(&files);
    assert!(
        found.is_empty(),
        "names across the floors:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_layering_check_sees_each_kind_of_crossing() {
    let file = |rel: &str, text: &str| (rel.to_string(), text.to_string());
    let files = [
        file(
            "features/orders/mod.rs",
            "use crate::features::invoices::x;",
        ),
        file(
            "features/orders/views.rs",
            "use super::super::cases::CaseView;",
        ),
        file("features/deliveries.rs", "use super::visibility::X;"),
        file("features/visibility/mod.rs", "mod tests { use super::*; }"),
        file("features/cases/mod.rs", "use super::views::X;"),
        file(
            "kernel/pipeline.rs",
            "/// see [`crate::reactions::penalties`]",
        ),
        file("kernel/state.rs", "let r = crate::deadline_registry();"),
        file("reactions/exit.rs", "crate::features::orders::write_order"),
        // Allowed: a feature naming itself, the kernel and the reactions; a similar name.
        file(
            "features/orders/mod.rs",
            "crate::features::orders::x; crate::kernel::y;",
        ),
        file(
            "features/cases/mod.rs",
            "use crate::reactions::penalties::apply_final;",
        ),
        file(
            "features/cases/views.rs",
            "use super::Side; yunshi_crate::features::z",
        ),
    ];
    assert_eq!(
        violations(&files),
        [
            "features/orders/mod.rs: feature orders names feature invoices",
            "features/orders/views.rs: feature orders names super::cases",
            "features/deliveries.rs: feature deliveries names super::visibility",
            "kernel/pipeline.rs: the kernel names reactions::penalties",
            "kernel/state.rs: the kernel names crate::deadline_registry",
            "reactions/exit.rs: a reaction names features::orders",
        ]
    );
}

/// Files other than the write pipeline that call the store's `commit` (or `commit_many`).
fn writers_besides_the_pipeline(files: &[(String, String)]) -> Vec<String> {
    files
        .iter()
        .filter(|(rel, _)| rel != "kernel/pipeline.rs")
        .filter(|(_, text)| text.contains(".commit(") || text.contains(".commit_many("))
        .map(|(rel, _)| rel.clone())
        .collect()
}

#[test]
fn every_write_goes_through_the_pipeline() {
    let files = sources(&src());
    let found = writers_besides_the_pipeline(&files);
    assert!(
        found.is_empty(),
        "the store is committed to outside kernel/pipeline.rs:\n{}",
        found.join("\n")
    );
    let planted = [(
        "features/orders/mod.rs".to_string(),
        "state.store\n    .commit(batch)".to_string(),
    )];
    assert_eq!(
        writers_besides_the_pipeline(&planted),
        ["features/orders/mod.rs"]
    );
}
