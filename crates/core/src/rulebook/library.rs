//! Every loaded rulebook version, grouped by family, chosen by effective date: an act is judged
//! by the rulebook in force when it happened (ALI-R art.32, TC 9.2, JD art.30).

use std::collections::BTreeMap;

use jiff::civil::Date;

use super::{Rulebook, RulebookError};
use crate::source::{KeyPath, SourceError, TomlSource};

/// The rulebooks shipped with Yunshi (`rulebooks/*.toml`).
const BUILTIN: &[(&str, &str)] = &[
    (
        "rulebooks/ali-2020.toml",
        include_str!("../../../../rulebooks/ali-2020.toml"),
    ),
    (
        "rulebooks/tc-2017.toml",
        include_str!("../../../../rulebooks/tc-2017.toml"),
    ),
    (
        "rulebooks/jd-2019.toml",
        include_str!("../../../../rulebooks/jd-2019.toml"),
    ),
    (
        "rulebooks/partner-2017.toml",
        include_str!("../../../../rulebooks/partner-2017.toml"),
    ),
    (
        "rulebooks/partner-fy22.toml",
        include_str!("../../../../rulebooks/partner-fy22.toml"),
    ),
];

/// Loaded rulebooks: family name → versions in effective-date order.
///
/// A *name* is either a family ("ali") — the version in force on the date is chosen — or a
/// version id ("ali-2020") — that version, which must be the one in force on the date.
#[derive(Debug, Clone, Default)]
pub struct Library {
    families: BTreeMap<String, Vec<Rulebook>>,
}

impl Library {
    /// The five rulebooks compiled into the binary.
    pub fn builtin() -> Result<Library, RulebookError> {
        Library::load_files(BUILTIN)
    }

    /// The builtin files as `(file name, text)`, e.g. to load them beside extra files.
    pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
        BUILTIN
    }

    /// Parses, validates and groups files given as `(file name, text)`. Every file is checked
    /// and all located errors are returned together; files are also checked against each other
    /// (an id or a family's effective date used twice, one family mixing kinds).
    pub fn load_files<N: AsRef<str>, T: AsRef<str>>(
        files: &[(N, T)],
    ) -> Result<Library, RulebookError> {
        let mut errors = Vec::new();
        let mut library = Library::default();
        for (name, text) in files {
            let (name, text) = (name.as_ref(), text.as_ref());
            match Rulebook::parse(name, text) {
                Ok(rulebook) => {
                    if let Err(e) = library.insert(rulebook, name, text) {
                        errors.push(e);
                    }
                }
                Err(RulebookError::Invalid(mut found)) => errors.append(&mut found),
                Err(other) => return Err(other),
            }
        }
        if errors.is_empty() {
            Ok(library)
        } else {
            Err(RulebookError::Invalid(errors))
        }
    }

    /// Adds a parsed rulebook; `file` and `text` locate a clash with one already loaded.
    fn insert(&mut self, rulebook: Rulebook, file: &str, text: &str) -> Result<(), SourceError> {
        let source = TomlSource::new(file, text);
        let at = |key: &str| KeyPath::root().key("rulebook").key(key);
        let clash = |key: &str, message: String| source.error_at(&at(key), message);
        if let Some(other) = self.get(rulebook.id()) {
            return Err(clash(
                "id",
                format!(
                    "id {:?} is already loaded (another file has it)",
                    other.id()
                ),
            ));
        }
        if self.families.contains_key(rulebook.id()) {
            return Err(clash(
                "id",
                format!(
                    "{:?} is a family name; version ids must differ from family names",
                    rulebook.id()
                ),
            ));
        }
        if let Some(versions) = self.families.get(rulebook.family()) {
            if let Some(first) = versions.first()
                && first.kind() != rulebook.kind()
            {
                return Err(clash(
                    "kind",
                    format!(
                        "family {:?} already holds {:?} rulebooks",
                        rulebook.family(),
                        first.kind()
                    ),
                ));
            }
            if let Some(same) = versions
                .iter()
                .find(|v| v.effective_from() == rulebook.effective_from())
            {
                return Err(clash(
                    "effective_from",
                    format!(
                        "{} also takes effect on {}; two versions of {:?} cannot start the same day",
                        same.id(),
                        same.effective_from(),
                        rulebook.family()
                    ),
                ));
            }
        }
        let family = rulebook.family().to_string();
        let versions = self.families.entry(family).or_default();
        versions.push(rulebook);
        versions.sort_by_key(Rulebook::effective_from);
        Ok(())
    }

    /// Family names, sorted: `["ali", "jd", "partner", "tc"]` for the builtin library.
    pub fn names(&self) -> Vec<&str> {
        self.families.keys().map(String::as_str).collect()
    }

    /// Version ids, family by family, oldest first.
    pub fn ids(&self) -> Vec<&str> {
        self.iter().map(Rulebook::id).collect()
    }

    /// Every loaded version, family by family, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Rulebook> {
        self.families.values().flatten()
    }

    /// The versions of a family, oldest first (empty for an unknown family).
    pub fn versions(&self, family: &str) -> &[Rulebook] {
        self.families.get(family).map_or(&[], Vec::as_slice)
    }

    /// One version by id, whatever the date.
    pub fn get(&self, id: &str) -> Option<&Rulebook> {
        self.iter().find(|r| r.id() == id)
    }

    /// The rulebook that judges an act of `date`: for a family name, the version with the
    /// latest `effective_from` on or before `date`; for a version id, that version if it is
    /// the one in force on `date`. An act before a family's first version is an error.
    pub fn in_force(&self, name: &str, date: Date) -> Result<&Rulebook, RulebookError> {
        if let Some(versions) = self.families.get(name) {
            return Self::pick(name, versions, date);
        }
        let Some(pinned) = self.get(name) else {
            return Err(RulebookError::UnknownName {
                name: name.to_string(),
                known: self.known(),
            });
        };
        let family = pinned.family();
        let current = Self::pick(family, self.versions(family), date)?;
        if current.id() == pinned.id() {
            Ok(current)
        } else if current.effective_from() < pinned.effective_from() {
            Err(RulebookError::NotYetInForce {
                family: family.to_string(),
                date,
                first_id: pinned.id().to_string(),
                first_effective: pinned.effective_from(),
            })
        } else {
            Err(RulebookError::Superseded {
                id: pinned.id().to_string(),
                family: family.to_string(),
                date,
                in_force_id: current.id().to_string(),
                in_force_from: current.effective_from(),
            })
        }
    }

    fn pick<'a>(
        family: &str,
        versions: &'a [Rulebook],
        date: Date,
    ) -> Result<&'a Rulebook, RulebookError> {
        if let Some(found) = versions.iter().rev().find(|v| v.effective_from() <= date) {
            return Ok(found);
        }
        match versions.first() {
            Some(first) => Err(RulebookError::NotYetInForce {
                family: family.to_string(),
                date,
                first_id: first.id().to_string(),
                first_effective: first.effective_from(),
            }),
            None => Err(RulebookError::UnknownName {
                name: family.to_string(),
                known: String::new(),
            }),
        }
    }

    fn known(&self) -> String {
        let mut names: Vec<&str> = self.names();
        names.extend(self.ids());
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rulebook::RulebookKind;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// A later ALI version: the builtin file with a new id and effective date, one number
    /// changed so the two can be told apart.
    fn ali_2024() -> String {
        let text = BUILTIN[0]
            .1
            .replace("id = \"ali-2020\"", "id = \"ali-2024\"")
            .replace("version = \"2020\"", "version = \"2024\"")
            .replace("effective_from = 2020-04-01", "effective_from = 2024-04-01")
            .replace("top_up_working_days = 3", "top_up_working_days = 5");
        assert_ne!(text, BUILTIN[0].1);
        text
    }

    fn with_ali_2024() -> Library {
        let mut files: Vec<(String, String)> = BUILTIN
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        files.push(("test/ali-2024.toml".to_string(), ali_2024()));
        Library::load_files(&files).unwrap()
    }

    #[test]
    fn the_five_builtin_rulebooks_load() {
        let lib = Library::builtin().unwrap();
        assert_eq!(lib.names(), ["ali", "jd", "partner", "tc"]);
        assert_eq!(
            lib.ids(),
            [
                "ali-2020",
                "jd-2019",
                "partner-2017",
                "partner-fy22",
                "tc-2017"
            ]
        );
        let kinds: Vec<RulebookKind> = lib.iter().map(Rulebook::kind).collect();
        assert_eq!(
            kinds
                .iter()
                .filter(|k| **k == RulebookKind::Partner)
                .count(),
            2
        );
        let effective: Vec<(&str, String)> = lib
            .iter()
            .map(|r| (r.id(), r.effective_from().to_string()))
            .collect();
        assert_eq!(
            effective,
            [
                ("ali-2020", "2020-04-01".to_string()),
                ("jd-2019", "2019-01-01".to_string()),
                ("partner-2017", "2017-04-01".to_string()),
                ("partner-fy22", "2021-04-01".to_string()),
                ("tc-2017", "2017-08-01".to_string()),
            ]
        );
    }

    #[test]
    fn in_force_picks_the_latest_version_on_or_before_the_date() {
        let lib = with_ali_2024();
        assert_eq!(
            lib.in_force("ali", d("2020-04-01")).unwrap().id(),
            "ali-2020"
        );
        assert_eq!(
            lib.in_force("ali", d("2024-03-31")).unwrap().id(),
            "ali-2020"
        );
        assert_eq!(
            lib.in_force("ali", d("2024-04-01")).unwrap().id(),
            "ali-2024"
        );
        assert_eq!(
            lib.in_force("ali", d("2030-01-01")).unwrap().id(),
            "ali-2024"
        );
        let later = lib
            .in_force("ali", d("2025-01-01"))
            .unwrap()
            .as_marketplace()
            .unwrap();
        assert_eq!(later.deposit.top_up_working_days, 5);
        assert_eq!(lib.versions("ali").len(), 2);
    }

    #[test]
    fn in_force_before_the_first_version_is_an_error() {
        let lib = with_ali_2024();
        let err = lib.in_force("ali", d("2020-03-31")).unwrap_err();
        assert!(
            matches!(&err, RulebookError::NotYetInForce { first_id, .. } if first_id == "ali-2020"),
            "{err}"
        );
        assert!(lib.in_force("tc", d("2017-07-31")).is_err());
        assert!(lib.in_force("tc", d("2017-08-01")).is_ok());
    }

    #[test]
    fn a_version_id_answers_only_while_that_version_is_in_force() {
        let lib = with_ali_2024();
        assert_eq!(
            lib.in_force("ali-2020", d("2022-06-01")).unwrap().id(),
            "ali-2020"
        );
        let err = lib.in_force("ali-2020", d("2024-06-01")).unwrap_err();
        assert!(
            matches!(&err, RulebookError::Superseded { in_force_id, .. } if in_force_id == "ali-2024"),
            "{err}"
        );
        let err = lib.in_force("ali-2024", d("2022-06-01")).unwrap_err();
        assert!(matches!(err, RulebookError::NotYetInForce { .. }), "{err}");
    }

    #[test]
    fn the_partner_programme_switches_to_fy22_in_april_2021() {
        let lib = Library::builtin().unwrap();
        assert_eq!(
            lib.in_force("partner", d("2021-03-31")).unwrap().id(),
            "partner-2017"
        );
        assert_eq!(
            lib.in_force("partner", d("2021-04-01")).unwrap().id(),
            "partner-fy22"
        );
    }

    #[test]
    fn an_unknown_name_is_an_error_listing_the_known_ones() {
        let lib = Library::builtin().unwrap();
        let err = lib.in_force("aws", d("2024-01-01")).unwrap_err();
        assert!(err.to_string().contains("ali-2020"), "{err}");
    }

    #[test]
    fn a_duplicate_id_across_files_fails_naming_the_second_file() {
        let files = [("a.toml", BUILTIN[1].1), ("b.toml", BUILTIN[1].1)];
        let err = Library::load_files(&files).unwrap_err();
        let errors = err.source_errors();
        assert_eq!(errors.len(), 1, "{err}");
        assert_eq!(
            (errors[0].file.as_str(), errors[0].key.as_str()),
            ("b.toml", "rulebook.id")
        );
        assert!(errors[0].line > 0);
    }

    #[test]
    fn two_versions_starting_the_same_day_fail() {
        let twin = BUILTIN[1]
            .1
            .replace("id = \"tc-2017\"", "id = \"tc-2017b\"");
        let files = [("a.toml", BUILTIN[1].1), ("b.toml", twin.as_str())];
        let err = Library::load_files(&files).unwrap_err();
        assert_eq!(
            err.source_errors()[0].key,
            "rulebook.effective_from",
            "{err}"
        );
    }

    #[test]
    fn errors_of_every_file_are_reported_together() {
        let bad_tc = BUILTIN[1]
            .1
            .replace("top_up_working_days = 7", "top_up_working_days = 0");
        let bad_jd = BUILTIN[2].1.replace(
            "material_change_report_days = 30",
            "material_change_report_dayz = 30",
        );
        let files = [("tc.toml", bad_tc.as_str()), ("jd.toml", bad_jd.as_str())];
        let err = Library::load_files(&files).unwrap_err();
        let files: Vec<&str> = err
            .source_errors()
            .iter()
            .map(|e| e.file.as_str())
            .collect();
        assert_eq!(files, ["tc.toml", "jd.toml"], "{err}");
    }

    #[test]
    fn every_builtin_rulebook_renders_as_toml_and_reads_back_equal() {
        for rulebook in Library::builtin().unwrap().iter() {
            let text = rulebook.to_toml().unwrap();
            let back =
                Rulebook::parse("rendered.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(&back, rulebook);
        }
    }
}
