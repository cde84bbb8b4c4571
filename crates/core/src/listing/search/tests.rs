//! Catalogue search semantics (issue 3 item 4).

use proptest::prelude::*;
use uuid::Uuid;

use super::*;

fn entry(n: u64, title: &str, description: &str) -> CatalogueEntry {
    CatalogueEntry {
        product: ProductId(Uuid::from_u64_pair(5, n)),
        title: title.into(),
        description: description.into(),
        category: ProductCategory::Image,
        price: Fen::new(100 * n as i64),
        provider: ProviderId(Uuid::from_u64_pair(6, 1)),
        sales: 0,
        rating: None,
    }
}

fn titles(page: &CataloguePage) -> Vec<&str> {
    page.items.iter().map(|e| e.title.as_str()).collect()
}

fn query(text: &str) -> CatalogueQuery {
    CatalogueQuery {
        text: text.into(),
        ..CatalogueQuery::default()
    }
}

fn catalogue() -> Vec<CatalogueEntry> {
    vec![
        entry(1, "云数据备份工具", "定时备份数据库"),
        entry(2, "WordPress 建站镜像", "一键部署网站，含备份插件"),
        entry(3, "ＭｙＳＱＬ 运维服务", "数据库巡检与调优"),
        entry(4, "日志分析 SaaS", "实时检索与告警"),
    ]
}

#[test]
fn search_finds_chinese_substring_in_title() {
    let page = search(catalogue(), &query("备份")).unwrap();
    // Title match first, description match after it.
    assert_eq!(titles(&page), ["云数据备份工具", "WordPress 建站镜像"]);
    assert_eq!(page.total, 2);
    let page = search(catalogue(), &query("分析")).unwrap();
    assert_eq!(titles(&page), ["日志分析 SaaS"]);
}

#[test]
fn search_folds_case_and_full_width() {
    let page = search(catalogue(), &query("mysql")).unwrap();
    assert_eq!(titles(&page), ["ＭｙＳＱＬ 运维服务"]);
    let page = search(catalogue(), &query("ＷＯＲＤＰＲＥＳＳ")).unwrap();
    assert_eq!(titles(&page), ["WordPress 建站镜像"]);
}

#[test]
fn every_term_must_match_title_or_description() {
    let page = search(catalogue(), &query("数据库　备份")).unwrap();
    assert_eq!(titles(&page), ["云数据备份工具"]);
    assert!(
        search(catalogue(), &query("备份 告警"))
            .unwrap()
            .items
            .is_empty()
    );
}

#[test]
fn relevance_ranks_title_matches_then_sales() {
    let mut c = vec![
        entry(1, "备份", "数据库"),
        entry(2, "数据库备份", ""),
        entry(3, "其他", "数据库 备份"),
        entry(4, "备份", "数据库"),
    ];
    c[3].sales = 10;
    let page = search(c, &query("数据库 备份")).unwrap();
    let ids: Vec<u64> = page
        .items
        .iter()
        .map(|e| e.product.0.as_u64_pair().1)
        .collect();
    assert_eq!(ids, [2, 4, 1, 3]);
}

#[test]
fn search_sorts_by_price_and_paginates() {
    let c: Vec<_> = (1..=7).map(|n| entry(n, &format!("镜像{n}"), "")).collect();
    let q = |page| CatalogueQuery {
        sort: SortBy::PriceDesc,
        page,
        page_size: 3,
        ..CatalogueQuery::default()
    };
    let pages: Vec<Vec<&str>> = [1, 2, 3, 4]
        .iter()
        .map(|p| search(c.clone(), &q(*p)).unwrap())
        .map(|page| {
            assert_eq!(page.total, 7);
            page.items
                .iter()
                .map(|e| {
                    c.iter()
                        .find(|x| x.product == e.product)
                        .unwrap()
                        .title
                        .as_str()
                })
                .collect()
        })
        .collect();
    assert_eq!(
        pages,
        [
            vec!["镜像7", "镜像6", "镜像5"],
            vec!["镜像4", "镜像3", "镜像2"],
            vec!["镜像1"],
            vec![],
        ]
    );
    let asc = CatalogueQuery {
        sort: SortBy::PriceAsc,
        min_price: Some(Fen::new(200)),
        max_price: Some(Fen::new(400)),
        ..CatalogueQuery::default()
    };
    assert_eq!(
        titles(&search(c, &asc).unwrap()),
        ["镜像2", "镜像3", "镜像4"]
    );
}

#[test]
fn rating_sort_puts_unrated_products_last_and_sales_sort_is_descending() {
    let mut c = catalogue();
    c[0].rating = Some(Score::from_hundredths(350));
    c[1].rating = Some(Score::from_hundredths(480));
    c[2].sales = 9;
    c[3].sales = 4;
    let by = |sort| CatalogueQuery {
        sort,
        ..CatalogueQuery::default()
    };
    let rated = search(c.clone(), &by(SortBy::Rating)).unwrap();
    assert_eq!(
        titles(&rated),
        [
            "WordPress 建站镜像",
            "云数据备份工具",
            "ＭｙＳＱＬ 运维服务",
            "日志分析 SaaS"
        ]
    );
    let sold = search(c, &by(SortBy::Sales)).unwrap();
    assert_eq!(titles(&sold)[..2], ["ＭｙＳＱＬ 运维服务", "日志分析 SaaS"]);
}

#[test]
fn category_and_provider_filters_apply() {
    let mut c = catalogue();
    c[3].category = ProductCategory::Saas;
    c[2].provider = ProviderId(Uuid::from_u64_pair(6, 2));
    let saas = CatalogueQuery {
        category: Some(ProductCategory::Saas),
        ..CatalogueQuery::default()
    };
    assert_eq!(
        titles(&search(c.clone(), &saas).unwrap()),
        ["日志分析 SaaS"]
    );
    let other = CatalogueQuery {
        provider: Some(ProviderId(Uuid::from_u64_pair(6, 2))),
        ..CatalogueQuery::default()
    };
    assert_eq!(titles(&search(c, &other).unwrap()), ["ＭｙＳＱＬ 运维服务"]);
}

#[test]
fn bad_queries_are_refused_with_invalid_query() {
    let bad = [
        CatalogueQuery {
            page: 0,
            ..CatalogueQuery::default()
        },
        CatalogueQuery {
            page_size: limits::MAX_PAGE_SIZE + 1,
            ..CatalogueQuery::default()
        },
        CatalogueQuery {
            page: limits::MAX_PAGE + 1,
            ..CatalogueQuery::default()
        },
        CatalogueQuery {
            min_price: Some(Fen::new(500)),
            max_price: Some(Fen::new(100)),
            ..CatalogueQuery::default()
        },
        CatalogueQuery {
            min_price: Some(Fen::new(-1)),
            ..CatalogueQuery::default()
        },
        query(&"词 ".repeat(limits::MAX_TERMS + 1)),
        query(&"长".repeat(limits::MAX_QUERY_CHARS + 1)),
    ];
    for q in bad {
        let err = search(catalogue(), &q).unwrap_err();
        assert_eq!(err.code(), "invalid_query", "{q:?}");
    }
}

#[test]
fn queries_deserialise_with_defaults_and_refuse_unknown_fields() {
    let q: CatalogueQuery = serde_json::from_str(r#"{"text":"备份","sort":"price_asc"}"#).unwrap();
    assert_eq!((q.page, q.page_size, q.sort), (1, 20, SortBy::PriceAsc));
    assert!(serde_json::from_str::<CatalogueQuery>(r#"{"q":"x"}"#).is_err());
}

const WORDS: &[&str] = &[
    "备份",
    "数据",
    "镜像",
    "Backup",
    "ＳＡＡＳ",
    "运维",
    "日志",
    "db",
];

fn arb_entry() -> impl Strategy<Value = CatalogueEntry> {
    (
        0u64..40,
        proptest::collection::vec(proptest::sample::select(WORDS), 0..4),
        proptest::collection::vec(proptest::sample::select(WORDS), 0..4),
        proptest::sample::select(ProductCategory::ALL.to_vec()),
        0i64..10_000,
        0u64..3,
        0u64..50,
        proptest::option::of(100u32..=500),
    )
        .prop_map(
            |(id, t, d, category, price, provider, sales, rating)| CatalogueEntry {
                product: ProductId(Uuid::from_u64_pair(5, id)),
                title: t.concat(),
                description: d.join(" "),
                category,
                price: Fen::new(price),
                provider: ProviderId(Uuid::from_u64_pair(6, provider)),
                sales,
                rating: rating.map(Score::from_hundredths),
            },
        )
}

fn arb_query() -> impl Strategy<Value = CatalogueQuery> {
    (
        proptest::collection::vec(proptest::sample::select(WORDS), 0..3),
        proptest::option::of(proptest::sample::select(ProductCategory::ALL.to_vec())),
        proptest::option::of(0i64..5_000),
        proptest::option::of(5_000i64..10_000),
        proptest::option::of(0u64..3),
        proptest::sample::select(vec![
            SortBy::Relevance,
            SortBy::Sales,
            SortBy::Rating,
            SortBy::PriceAsc,
            SortBy::PriceDesc,
        ]),
        1u32..6,
    )
        .prop_map(
            |(words, category, min, max, provider, sort, page_size)| CatalogueQuery {
                text: words.join(" "),
                category,
                min_price: min.map(Fen::new),
                max_price: max.map(Fen::new),
                provider: provider.map(|p| ProviderId(Uuid::from_u64_pair(6, p))),
                sort,
                page: 1,
                page_size,
            },
        )
}

proptest! {
    #[test]
    fn search_never_returns_a_product_outside_the_filters_and_pages_never_overlap(
        entries in proptest::collection::btree_map(0u64..40, arb_entry(), 0..30),
        q in arb_query(),
    ) {
        // Unique product ids, as in a real catalogue.
        let entries: Vec<CatalogueEntry> = entries
            .into_iter()
            .map(|(id, mut e)| { e.product = ProductId(Uuid::from_u64_pair(5, id)); e })
            .collect();
        let terms = query_terms(&q.text);
        let mut seen = std::collections::HashSet::new();
        let mut total = None;
        for page in 1.. {
            let result = search(entries.clone(), &CatalogueQuery { page, ..q.clone() }).unwrap();
            prop_assert!(result.items.len() <= q.page_size as usize);
            total.get_or_insert(result.total);
            prop_assert_eq!(Some(result.total), total);
            if result.items.is_empty() {
                break;
            }
            for e in &result.items {
                prop_assert!(q.category.is_none_or(|c| c == e.category));
                prop_assert!(q.provider.is_none_or(|p| p == e.provider));
                prop_assert!(q.min_price.is_none_or(|m| e.price >= m));
                prop_assert!(q.max_price.is_none_or(|m| e.price <= m));
                let (t, d) = (fold(&e.title), fold(&e.description));
                prop_assert!(terms.iter().all(|w| t.contains(w.as_str()) || d.contains(w.as_str())));
                prop_assert!(seen.insert(e.product), "{} on two pages", e.product);
            }
        }
        // The pages together are exactly the matches.
        prop_assert_eq!(Some(seen.len()), total);
        let expected = entries
            .iter()
            .filter(|e| passes_filters(e, &q) && title_hits(e, &terms).is_some())
            .count();
        prop_assert_eq!(seen.len(), expected);
    }
}
