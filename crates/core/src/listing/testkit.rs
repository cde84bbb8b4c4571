//! Fixtures for the listing tests: the builtin rulebooks, a context at a fixed instant, a
//! complete listing, products in each state.

use std::sync::OnceLock;

use jiff::Timestamp;
use uuid::Uuid;

use super::checks::OperatorDomains;
use super::content::{Attribute, ListingContent, OpenSourceComponent};
use super::product::{ListingDraft, NewProduct, Product, ProviderStanding};
use super::terms::ListingTerms;
use super::version::Approve;
use crate::calendar::WorkingCalendar;
use crate::catalog::{DeclaredRefundPolicy, Pricing, ProductCategory, SalesMode};
use crate::decision::{Context, SequentialIds};
use crate::ids::{ProviderId, StoreId, UserId};
use crate::money::Fen;
use crate::rulebook::{Library, MarketplaceRulebook};

fn library() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| Library::builtin().unwrap())
}

fn calendar() -> &'static WorkingCalendar {
    static CAL: OnceLock<WorkingCalendar> = OnceLock::new();
    CAL.get_or_init(|| WorkingCalendar::builtin().unwrap())
}

/// The rulebook of `family` ("ali", "tc", "jd") in force on 2025-06-01.
pub(crate) fn book(family: &str) -> MarketplaceRulebook {
    library()
        .in_force(family, "2025-06-01".parse().unwrap())
        .unwrap()
        .as_marketplace()
        .unwrap()
        .clone()
}

pub(crate) fn ali_domains() -> OperatorDomains {
    OperatorDomains::new(["aliyun.com", "alibabacloud.com"])
}

pub(crate) const PAID: ProviderStanding = ProviderStanding {
    deposit_fully_paid: true,
};
pub(crate) const UNPAID: ProviderStanding = ProviderStanding {
    deposit_fully_paid: false,
};

/// A listing with every field the builtin rulebooks require, and nothing the checks flag.
pub(crate) fn complete_content() -> ListingContent {
    ListingContent {
        title: "云数据备份工具 Backup Pro".into(),
        images: vec!["upload:cover".into()],
        attributes: vec![Attribute {
            name: "部署方式".into(),
            value: "镜像部署".into(),
        }],
        description: "定时备份云服务器上的数据库与文件，支持增量备份与一键恢复。".into(),
        terms: "购买即表示同意本产品服务协议。".into(),
        delisting_strategy: "下架后已购用户可继续使用至服务期满，数据可随时导出。".into(),
        open_source: Some(vec![OpenSourceComponent {
            name: "restic".into(),
            licence: "BSD-2-Clause".into(),
        }]),
        own_product_page: "https://www.example-isv.cn/backup-pro".into(),
        refund_terms: "担保期外不予退款。".into(),
    }
}

pub(crate) fn one_off(yuan: i64) -> ListingTerms {
    ListingTerms {
        pricing: Pricing::OneOff,
        price: Fen::from_yuan(yuan).unwrap(),
        refund_policy: DeclaredRefundPolicy::NoRefund,
    }
}

pub(crate) fn free() -> ListingTerms {
    ListingTerms {
        pricing: Pricing::Free,
        price: Fen::ZERO,
        refund_policy: DeclaredRefundPolicy::NoRefund,
    }
}

pub(crate) fn draft(terms: ListingTerms, content: ListingContent) -> ListingDraft {
    ListingDraft { terms, content }
}

/// One marketplace at one instant.
pub(crate) struct World {
    pub rulebook: MarketplaceRulebook,
    pub ids: SequentialIds,
    pub now: Timestamp,
    pub provider: ProviderId,
    pub store: StoreId,
    pub reviewer: UserId,
}

impl World {
    pub(crate) fn new(family: &str) -> Self {
        World {
            rulebook: book(family),
            ids: SequentialIds::new(11),
            now: "2025-06-02T10:00:00+08:00".parse().unwrap(),
            provider: ProviderId(Uuid::from_u64_pair(1, 1)),
            store: StoreId(Uuid::from_u64_pair(2, 1)),
            reviewer: UserId(Uuid::from_u64_pair(3, 1)),
        }
    }

    pub(crate) fn ctx(&mut self) -> Context<'_> {
        Context {
            now: self.now,
            rulebook: &self.rulebook,
            calendar: calendar(),
            ids: &mut self.ids,
        }
    }

    pub(crate) fn create(&mut self, category: ProductCategory, d: ListingDraft) -> Product {
        let new = NewProduct {
            provider: self.provider,
            store: self.store,
            category,
            sales_mode: SalesMode::SelfSold,
            terms: d.terms,
            content: d.content,
        };
        Product::create(&mut self.ctx(), new).unwrap().0
    }

    pub(crate) fn submit(&mut self, p: &Product) -> Product {
        p.submit(&mut self.ctx(), PAID, &ali_domains()).unwrap().0
    }

    /// Approves, acknowledging whatever was found.
    pub(crate) fn approve(&mut self, p: &Product) -> Product {
        let acks = p
            .pending
            .as_ref()
            .unwrap()
            .findings()
            .iter()
            .map(|f| super::version::FindingAck {
                finding: f.id,
                note: None,
            })
            .collect();
        let approve = Approve {
            reviewer: self.reviewer,
            acknowledged: acks,
        };
        p.approve(&mut self.ctx(), approve, PAID).unwrap().0
    }

    /// A clean image product, one-off ¥1,000.00, live.
    pub(crate) fn live_image(&mut self) -> Product {
        let p = self.create(
            ProductCategory::Image,
            draft(one_off(1_000), complete_content()),
        );
        let p = self.submit(&p);
        self.approve(&p)
    }
}
