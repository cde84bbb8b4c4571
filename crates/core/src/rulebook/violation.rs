//! A marketplace violation table (违规情形处理一览表): one row per violation, with its points,
//! action and deposit deduction (ALI-R annex 1, TC annex, JD annex 1; SPEC §9).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::money::Fen;

/// One row of a marketplace violation table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ViolationRow {
    /// SPEC §9 code, `<code_prefix>-<group letter><n>`: "ALI-B1", "TC-S10", "JD-H1".
    pub code: String,
    /// The violation as the source words it (违规内容), in Chinese.
    pub title_zh: String,
    /// The violation in English.
    pub title_en: String,
    /// Points deducted (扣分): ALI-R art.24(1), JD art.20(1). Absent in rulebooks without
    /// points (TC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<u32>,
    /// What happens to the store or products (处理类型 / 处罚措施).
    pub action: Action,
    /// Deposit deducted (保证金扣除): "none", "all", or an amount such as "5000.00".
    pub deposit: DepositDeduction,
    /// Severity level (违规级别) where the table has one (TC: 一般 / 严重).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// The row applies only when a buyer complained (引起用户投诉), e.g. JD-H1, ALI-S6.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub requires_buyer_complaint: bool,
    /// Where the row is in the source: "ALI-R annex 1, 违反行为规范 row 1; art.22(2)".
    pub source: String,
}

/// The measure a violation row applies to the store or its products.
///
/// TOML: `"none"`, `{ freeze_days = 15 }`, `{ block_and_restrict_days = 15 }`,
/// `"hide_and_delist"`, `"expel"`, `"permanent_ban"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// No store measure ("-" in the table); points and deposit may still apply.
    #[serde(rename = "none")]
    NoAction,
    /// Freeze for N days (ALI 店铺冻结: store and products hidden; JD 服务冻结: products only —
    /// the rulebook's `penalties.freeze_scope` says which). Existing buyers keep their service
    /// (ALI-R art.24(2), JD art.20(2)).
    #[serde(rename = "freeze_days")]
    Freeze(u32),
    /// Store blocked and product publishing restricted for N days (TC 店铺屏蔽、限制发布产品).
    #[serde(rename = "block_and_restrict_days")]
    BlockAndRestrict(u32),
    /// Hide the offending information and delist the product (TC 屏蔽该信息并下架该产品).
    HideAndDelist,
    /// Expulsion (清退): all products delisted, store closed, no re-entry (ALI-R art.24(4),
    /// art.29).
    Expel,
    /// Permanent account ban (永久查封账户, TC 7.2, 8.3); implies expulsion (SPEC §3). TC's
    /// "清退并永久查封账户" and "永久查封账户" both map here.
    PermanentBan,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::NoAction => f.write_str("—"),
            Action::Freeze(d) => write!(f, "freeze {d} d"),
            Action::BlockAndRestrict(d) => write!(f, "block + restrict {d} d"),
            Action::HideAndDelist => f.write_str("hide + delist"),
            Action::Expel => f.write_str("expel"),
            Action::PermanentBan => f.write_str("permanent ban"),
        }
    }
}

/// How much of the deposit a violation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepositDeduction {
    /// Nothing ("-").
    NoDeduction,
    /// A fixed amount ("5000 元").
    Fixed(Fen),
    /// The whole deposit (全部扣除).
    All,
}

impl fmt::Display for DepositDeduction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DepositDeduction::NoDeduction => f.write_str("none"),
            DepositDeduction::Fixed(fen) => write!(f, "{fen}"),
            DepositDeduction::All => f.write_str("all"),
        }
    }
}

impl Serialize for DepositDeduction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DepositDeduction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.trim() {
            "none" => Ok(DepositDeduction::NoDeduction),
            "all" => Ok(DepositDeduction::All),
            amount => amount.parse().map(DepositDeduction::Fixed).map_err(|_| {
                serde::de::Error::custom(format!(
                    "expected \"none\", \"all\" or an amount like \"5000.00\", got {s:?}"
                ))
            }),
        }
    }
}

/// Severity level (违规级别), TC annex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 一般.
    General,
    /// 严重.
    Serious,
}

#[cfg(test)]
mod tests {
    //! SPEC §9's tables, row by row, against the builtin files.
    use super::*;
    use crate::rulebook::{Library, MarketplaceRulebook};

    fn marketplace(id: &str) -> MarketplaceRulebook {
        let lib = Library::builtin().unwrap();
        lib.get(id).unwrap().as_marketplace().unwrap().clone()
    }

    fn yuan(y: i64) -> DepositDeduction {
        DepositDeduction::Fixed(Fen::from_yuan(y).unwrap())
    }

    const NONE: DepositDeduction = DepositDeduction::NoDeduction;
    const ALL: DepositDeduction = DepositDeduction::All;
    const NO: Action = Action::NoAction;

    /// A SPEC §9 row: code, points, action, deposit, level.
    type SpecRow<'a> = (
        &'a str,
        Option<u32>,
        Action,
        DepositDeduction,
        Option<Level>,
    );

    fn check(book: &MarketplaceRulebook, expected: &[SpecRow]) {
        let codes: Vec<&str> = book.violation.iter().map(|r| r.code.as_str()).collect();
        let wanted: Vec<&str> = expected.iter().map(|e| e.0).collect();
        assert_eq!(
            codes, wanted,
            "{}: the table's codes, in order",
            book.rulebook.id
        );
        for (code, points, action, deposit, level) in expected {
            let row = book.violation.iter().find(|r| r.code == *code).unwrap();
            assert_eq!(
                (row.points, row.action, row.deposit, row.level),
                (*points, *action, *deposit, *level),
                "{code}"
            );
        }
    }

    #[test]
    fn every_ali_row_of_spec_section_9_is_present_with_its_points_action_and_deposit() {
        let f = Action::Freeze;
        #[rustfmt::skip]
        let spec = [
            ("ALI-B1", Some(12), f(15), yuan(5000), None),
            ("ALI-B2", Some(24), Action::Expel, ALL, None),
            ("ALI-B3", Some(24), Action::Expel, ALL, None),
            ("ALI-B4", Some(24), Action::Expel, ALL, None),
            ("ALI-B5", Some(12), f(7), yuan(3000), None),
            ("ALI-B6", Some(24), Action::Expel, ALL, None),
            ("ALI-H1", Some(6), NO, yuan(3000), None),
            ("ALI-H2", Some(12), f(15), yuan(5000), None),
            ("ALI-H3", Some(6), f(7), yuan(3000), None),
            ("ALI-H4", Some(6), NO, yuan(3000), None),
            ("ALI-S1", Some(12), f(15), yuan(5000), None),
            ("ALI-S2", Some(3), NO, NONE, None),
            ("ALI-S3", Some(3), NO, NONE, None),
            ("ALI-S4", Some(6), NO, NONE, None),
            ("ALI-S5", Some(24), Action::Expel, ALL, None),
            ("ALI-S6", Some(12), f(15), yuan(5000), None),
            ("ALI-S7", Some(12), f(15), yuan(5000), None),
            ("ALI-S8", Some(12), f(15), yuan(5000), None),
            ("ALI-S9", Some(12), f(15), NONE, None),
            ("ALI-U1", Some(3), NO, NONE, None),
            ("ALI-U2", Some(6), f(7), NONE, None),
            ("ALI-E1", Some(24), Action::Expel, ALL, None),
            ("ALI-R1", Some(6), NO, NONE, None),
            ("ALI-R2", Some(6), f(7), NONE, None),
        ];
        check(&marketplace("ali-2020"), &spec);
    }

    #[test]
    fn every_jd_row_is_alis_row_except_b4_and_freezes_products_only() {
        let ali = marketplace("ali-2020");
        let jd = marketplace("jd-2019");
        let expected: Vec<_> = ali
            .violation
            .iter()
            .filter(|r| r.code != "ALI-B4")
            .map(|r| {
                let code = r.code.replacen("ALI-", "JD-", 1);
                (code, r.points, r.action, r.deposit, r.level)
            })
            .collect();
        let expected: Vec<(&str, _, _, _, _)> = expected
            .iter()
            .map(|(c, p, a, d, l)| (c.as_str(), *p, *a, *d, *l))
            .collect();
        check(&jd, &expected);
        assert!(jd.violation.iter().all(|r| r.code != "JD-B4"));
        // SPEC §9's listed JD differences.
        let row = |code: &str| jd.violation.iter().find(|r| r.code == code).unwrap();
        assert!(
            row("JD-H1").requires_buyer_complaint,
            "JD H1 requires a complaint"
        );
        assert!(row("JD-S2").title_zh.contains("30 分钟内"));
        assert!(
            !row("JD-S3").title_zh.contains("2小时"),
            "JD S3 has no 2-hour threshold"
        );
        assert!(row("JD-B5").source.contains("art.10(7)"));
        assert!(row("JD-B1").title_zh.contains("京东数科"));
    }

    #[test]
    fn every_tc_row_of_spec_section_9_is_present_with_its_level_action_and_deposit() {
        use Level::{General as G, Serious as S};
        let hide = Action::HideAndDelist;
        let ban = Action::PermanentBan;
        let block = Action::BlockAndRestrict;
        #[rustfmt::skip]
        let spec = [
            ("TC-G1", None, hide, NONE, Some(G)),
            ("TC-G2", None, hide, NONE, Some(G)),
            ("TC-G3", None, hide, NONE, Some(G)),
            ("TC-G4", None, hide, NONE, Some(G)),
            ("TC-S1", None, ban, yuan(5000), Some(S)),
            ("TC-S2", None, ban, yuan(5000), Some(S)),
            ("TC-S3", None, ban, yuan(5000), Some(S)),
            ("TC-S4", None, block(15), NONE, Some(S)),
            ("TC-S5", None, block(15), NONE, Some(S)),
            ("TC-S6", None, block(15), NONE, Some(S)),
            ("TC-S7", None, ban, yuan(5000), Some(S)),
            ("TC-S8", None, ban, yuan(5000), Some(S)),
            ("TC-S9", None, block(30), NONE, Some(S)),
            ("TC-S10", None, block(15), NONE, Some(S)),
            ("TC-S11", None, ban, yuan(5000), Some(S)),
            ("TC-S12", None, ban, yuan(5000), Some(S)),
            ("TC-S13", None, block(15), NONE, Some(S)),
            ("TC-S14", None, ban, yuan(5000), Some(S)),
            ("TC-S15", None, hide, NONE, Some(S)),
        ];
        check(&marketplace("tc-2017"), &spec);
    }

    #[test]
    fn deposit_deduction_reads_none_all_or_an_amount() {
        #[derive(Deserialize)]
        struct W {
            d: DepositDeduction,
        }
        let read = |s: &str| toml::from_str::<W>(&format!("d = {s:?}")).map(|w| w.d);
        assert_eq!(read("none").ok(), Some(NONE));
        assert_eq!(read("all").ok(), Some(ALL));
        assert_eq!(read("5000.00").ok(), Some(yuan(5000)));
        assert!(read("some").is_err());
    }
}
