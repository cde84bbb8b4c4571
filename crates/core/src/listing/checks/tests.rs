//! The automatic checks of SPEC §5, on the builtin rulebooks' lists.

use proptest::prelude::*;

use super::*;
use crate::listing::content::{Attribute, ItemPart};
use crate::listing::testkit::{ali_domains, book, complete_content};

/// Findings of a description alone, under `family`'s rulebook and the ALI domains.
fn scan(family: &str, description: &str) -> Vec<Finding> {
    let mut content = complete_content();
    content.description = description.into();
    run_checks(&content, &book(family).listing, &ali_domains())
        .into_iter()
        .filter(|f| f.path.field == ListingField::Description)
        .collect()
}

fn of_kind(findings: &[Finding], kind: FindingKind) -> Vec<&str> {
    findings
        .iter()
        .filter(|f| f.kind == kind)
        .map(|f| f.matched.as_str())
        .collect()
}

#[test]
fn a_complete_clean_listing_has_no_findings() {
    for family in ["ali", "tc", "jd"] {
        let b = book(family);
        assert!(run_checks(&complete_content(), &b.listing, &ali_domains()).is_empty());
    }
}

#[test]
fn absolute_claim_zui_you_is_flagged_with_its_offset() {
    let text = "本产品是国内最优的备份方案";
    let f = scan("ali", text);
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(
        (f.kind, f.term.as_str(), f.matched.as_str()),
        (FindingKind::AbsoluteClaim, "最优", "最优")
    );
    assert_eq!((f.start, f.end), (6, 8));
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.message.zh_cn.contains("最优") && f.message.en.contains("Absolute claim"));
    assert_eq!(f.path, FieldPath::field(ListingField::Description));
}

#[test]
fn absolute_claims_come_from_the_rulebook_list_spaced_or_not() {
    // The builtin rulebooks list 唯一 and 最优 (ALI-R art.14(8)5, JD art.10(8)5).
    for family in ["ali", "tc", "jd"] {
        let f = scan(family, "业内唯 一、最　优的方案");
        assert_eq!(
            of_kind(&f, FindingKind::AbsoluteClaim),
            ["唯 一", "最　优"],
            "{family}"
        );
    }
}

#[test]
fn ali_brand_variants_are_flagged_including_fullwidth_and_spaced() {
    let text = "兼容ALIYUN、Ａｌｉｂａｂａ与阿 里 云，也支持支付寶和alipay";
    let f = scan("ali", text);
    let brands: Vec<(&str, &str)> = f
        .iter()
        .filter(|f| f.kind == FindingKind::BrandName)
        .map(|f| (f.matched.as_str(), f.term.as_str()))
        .collect();
    assert_eq!(
        brands,
        [
            ("ALIYUN", "阿里云"),
            ("Ａｌｉｂａｂａ", "阿里巴巴"),
            ("阿 里 云", "阿里云"),
            ("支付寶", "支付宝"),
            ("alipay", "支付宝"),
        ]
    );
    assert!(f.iter().all(|f| f.violation.as_deref() == Some("ALI-B1")));
    assert!(f.iter().all(|f| f.severity == Severity::Serious));
    // Offsets are chars of what the provider wrote.
    let chars: Vec<char> = text.chars().collect();
    for finding in &f {
        let at: String = chars[finding.start..finding.end].iter().collect();
        assert_eq!(at, finding.matched);
    }
}

#[test]
fn the_longest_brand_wins_and_latin_abbreviations_need_word_boundaries() {
    let f = scan("ali", "部署在阿里云上，quality first, 基于Ali Cloud");
    assert_eq!(of_kind(&f, FindingKind::BrandName), ["阿里云", "Ali Cloud"]);
}

#[test]
fn jd_rulebook_flags_jingdong_not_alibaba() {
    let text = "京东云与阿里云双平台支持，JD Cloud 认证，Jingdong 合作";
    let jd = scan("jd", text);
    let terms: Vec<&str> = jd
        .iter()
        .filter(|f| f.kind == FindingKind::BrandName)
        .map(|f| f.term.as_str())
        .collect();
    assert_eq!(terms, ["京东云", "京东云", "京东"]);
    assert!(jd.iter().all(|f| f.violation.as_deref() == Some("JD-B1")));
    let ali = scan("ali", text);
    assert_eq!(of_kind(&ali, FindingKind::BrandName), ["阿里云"]);
}

#[test]
fn tc_flags_wording_implying_tencent_endorsement() {
    let f = scan("tc", "本产品经腾讯官方推荐");
    let brand: Vec<_> = f
        .iter()
        .filter(|f| f.kind == FindingKind::BrandName)
        .collect();
    assert_eq!(brand.len(), 1);
    assert_eq!(
        (brand[0].matched.as_str(), brand[0].term.as_str()),
        ("腾讯官方", "腾讯官方")
    );
    assert_eq!(brand[0].violation.as_deref(), Some("TC-S3"));
}

#[test]
fn external_links_outside_operator_domains_are_flagged() {
    let text = "详情见 https://www.isv-example.com/docs?id=1，或访问www.foo.cn。\
                控制台 https://ecs.console.aliyun.com/ 与 market.aliyun.com 不算外链；\
                基于 ASP.NET 与 Vue.js 开发，配置见 config.json；也可看 example。com";
    let f = scan("ali", text);
    let links: Vec<(&str, &str)> = f
        .iter()
        .filter(|f| f.kind == FindingKind::ExternalLink)
        .map(|f| (f.matched.as_str(), f.term.as_str()))
        .collect();
    assert_eq!(
        links,
        [
            (
                "https://www.isv-example.com/docs?id=1",
                "www.isv-example.com"
            ),
            ("www.foo.cn", "www.foo.cn"),
            ("example。com", "example.com"),
        ]
    );
}

#[test]
fn own_product_page_is_not_an_external_link_finding() {
    let mut content = complete_content();
    content.own_product_page = "https://isv-example.com/p".into();
    let f = run_checks(&content, &book("ali").listing, &ali_domains());
    assert!(f.is_empty());
}

#[test]
fn phone_numbers_in_all_usual_shapes_are_off_platform_contacts() {
    let text = "手机138 0013 8000，+86 13912345678，座机 (010) 8888-6666，\
                热线400-820-8820，电话：87654321";
    let f = scan("ali", text);
    let contacts: Vec<(&str, &str)> = f
        .iter()
        .filter(|f| f.kind == FindingKind::OffPlatformContact)
        .map(|f| (f.matched.as_str(), f.term.as_str()))
        .collect();
    assert_eq!(
        contacts,
        [
            ("手机138 0013 8000", "mobile_phone"),
            ("+86 13912345678", "mobile_phone"),
            ("座机 (010) 8888-6666", "landline"),
            ("热线400-820-8820", "hotline"),
            ("电话：87654321", "landline"),
        ]
    );
}

#[test]
fn qq_wechat_and_email_are_off_platform_contacts() {
    let text = "QQ: 12345678，扣扣号123456789，微信：backup_pro，vx 13800138000，\
                WeChat id abc_123，联系 sales@isv-example.com";
    let f = scan("ali", text);
    let contacts: Vec<(&str, &str)> = f
        .iter()
        .filter(|f| f.kind == FindingKind::OffPlatformContact)
        .map(|f| (f.matched.as_str(), f.term.as_str()))
        .collect();
    assert_eq!(
        contacts,
        [
            ("QQ: 12345678", "qq"),
            ("扣扣号123456789", "qq"),
            ("微信：backup_pro", "wechat"),
            ("vx 13800138000", "wechat"),
            ("WeChat id abc_123", "wechat"),
            ("sales@isv-example.com", "email"),
        ]
    );
}

#[test]
fn ordinary_numbers_and_mentions_are_not_contacts() {
    let text = "支持微信支付与QQ登录，WeChat integration，版本 2.13.800，\
                2024-01-15 发布，价格 1999 元，端口 8080，订单号 20240115123456789，\
                客服 support@aliyun.com，JDK 17，vxworks";
    let f = scan("ali", text);
    assert!(
        of_kind(&f, FindingKind::OffPlatformContact).is_empty(),
        "{f:#?}"
    );
}

#[test]
fn built_in_purchase_and_separate_registration_are_flagged() {
    let f = scan(
        "ali",
        "软件内置购买入口，首次使用需另行注册账号，Sign Up 即送",
    );
    assert_eq!(
        of_kind(&f, FindingKind::BuiltInPurchaseOrRegistration),
        ["购买入口", "另行注册", "Sign Up"]
    );
}

#[test]
fn findings_are_numbered_in_field_order_with_their_paths() {
    let mut content = complete_content();
    content.title = "唯一的备份工具".into();
    content.attributes.push(Attribute {
        name: "客服QQ".into(),
        value: "QQ 10001000".into(),
    });
    content.refund_terms = "最优退款".into();
    let f = run_checks(&content, &book("ali").listing, &ali_domains());
    let got: Vec<(u32, ListingField, Option<usize>, Option<ItemPart>)> = f
        .iter()
        .map(|f| (f.id, f.path.field, f.path.item, f.path.part))
        .collect();
    assert_eq!(
        got,
        [
            (1, ListingField::Title, None, None),
            (2, ListingField::Attributes, Some(1), Some(ItemPart::Value)),
            (3, ListingField::RefundTerms, None, None),
        ]
    );
}

#[test]
fn checks_switched_off_in_the_rulebook_do_not_run() {
    let mut rules = book("ali").listing;
    rules.flag_external_links = false;
    rules.flag_off_platform_contacts = false;
    rules.flag_builtin_purchase_entries = false;
    rules.flag_separate_user_registration = false;
    let mut content = complete_content();
    content.description = "见 https://foo.com ，QQ 12345678，购买入口，注册账号".into();
    assert!(run_checks(&content, &rules, &ali_domains()).is_empty());
}

#[test]
fn findings_serialise_with_snake_case_kinds_and_both_languages() {
    let f = scan("ali", "最优");
    let json = serde_json::to_value(&f[0]).unwrap();
    assert_eq!(json["kind"], "absolute_claim");
    assert_eq!(json["path"]["field"], "description");
    assert_eq!(json["severity"], "warning");
    assert!(json["message"]["zh_cn"].is_string() && json["message"]["en"].is_string());
}

#[test]
fn any_absolute_word_a_rulebook_lists_is_matched_the_same_way() {
    let mut rules = book("ali").listing;
    rules.absolute_claim_words = vec!["100%".into(), "第一".into(), "No.1".into()];
    let mut content = complete_content();
    content.description = "行业第 一，100%可用，NO 1 的选择，1100%".into();
    let f = run_checks(&content, &rules, &ali_domains());
    assert_eq!(
        of_kind(&f, FindingKind::AbsoluteClaim),
        ["第 一", "100%", "NO 1"]
    );
}

#[test]
fn capitalised_www_addresses_are_still_links() {
    let f = scan("ali", "访问 WWW.FOO.CN 或 ＷＷＷ．ｂａｒ．ｃｏｍ");
    assert_eq!(
        of_kind(&f, FindingKind::ExternalLink),
        ["WWW.FOO.CN", "ＷＷＷ．ｂａｒ．ｃｏｍ"]
    );
}

const PIECES: &[&str] = &[
    "阿", "里", "云", " ", "　", "Ａ", "li", "yun", "最", "优", "唯一", "QQ", "：", ":", "微信",
    "vx", "1", "3", "8", "0", "-", "(", ")", "+", "@", ".", "。", "com", "cn", "www", "http",
    "://", "/", "é", "İ", "ß", "\u{200B}", "😀", "注册", "账号", "_", "a",
];

proptest! {
    #[test]
    fn findings_point_at_exactly_what_was_written(
        pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..60),
        family in proptest::sample::select(vec!["ali", "tc", "jd"]),
    ) {
        let text = pieces.concat();
        let mut content = complete_content();
        content.description = text.clone();
        let findings = run_checks(&content, &book(family).listing, &ali_domains());
        let chars: Vec<char> = text.chars().collect();
        for (n, f) in (1u32..).zip(&findings) {
            prop_assert_eq!(f.id, n);
            prop_assert!(f.start < f.end && f.end <= chars.len());
            let at: String = chars[f.start..f.end].iter().collect();
            prop_assert_eq!(&at, &f.matched);
        }
    }
}
