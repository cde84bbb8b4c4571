//! What a final penalty does beyond the violation record (SPEC §9, §13): the provider
//! expelled or banned, its stores closed (expulsion) or frozen or blocked for the row's days,
//! its products delisted (all of them on expulsion; the case's product for TC's "hide and
//! delist"), and what is left to people. Decided here from the plan and the aggregates the
//! shell loaded; the shell writes what comes back in the batch of the decision.

use serde_json::{Value, json};

use crate::decision::{Context, DomainRefusal, Outcome, RefusalClass};
use crate::listing::{HoldKind, ListingError, Product};
use crate::provider::{Provider, ProviderError, ProviderStatus};
use crate::rulebook::Action;
use crate::storefront::{ClosureReason, Store, StoreError};

use super::{Case, PenaltyPlan};

/// Why a penalty's effects could not be decided: one of the aggregates refused.
#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Product(#[from] ListingError),
}

impl DomainRefusal for EffectError {
    fn code(&self) -> &'static str {
        match self {
            Self::Provider(e) => e.code(),
            Self::Store(e) => e.code(),
            Self::Product(e) => e.code(),
        }
    }
    fn class(&self) -> RefusalClass {
        match self {
            Self::Provider(e) => e.class(),
            Self::Store(e) => e.class(),
            Self::Product(e) => e.class(),
        }
    }
}

/// The changes a penalty makes: each a new state with its outcome, by the position of the
/// aggregate in what was given.
#[derive(Debug, Default)]
pub struct PenaltyEffects {
    /// The provider, expelled or banned.
    pub provider: Option<(Provider, Outcome)>,
    /// Stores closed, frozen or blocked: (index in `stores`, new state, outcome).
    pub stores: Vec<(usize, Store, Outcome)>,
    /// Products delisted: (index in `products`, new state, outcome).
    pub products: Vec<(usize, Product, Outcome)>,
    /// Work left to people, recorded on the case (`case.pending_tasks`).
    pub pending_tasks: Vec<Value>,
    /// The `case.pending_tasks` event, when there are any.
    pub outcome: Outcome,
}

/// Which products a penalty reaches, so the shell loads only those: every product of the
/// provider on expulsion; the case's product for "hide and delist"; none otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductsReached {
    None,
    CaseProduct,
    All,
}

/// The products `plan` reaches.
pub fn products_reached(plan: &PenaltyPlan) -> ProductsReached {
    if plan.expel {
        ProductsReached::All
    } else if plan.hide_and_delist {
        ProductsReached::CaseProduct
    } else {
        ProductsReached::None
    }
}

/// Decides the effects of `plan` (the final decision of `case`) on `provider`, its `stores`
/// and the `products` [`products_reached`] names. A ban that would expel an already expelled
/// provider bans it; a store already closed is left alone; a product of another provider is
/// not touched.
pub fn penalty_effects(
    case: &Case,
    plan: &PenaltyPlan,
    provider: Option<&Provider>,
    stores: &[Store],
    products: &[Product],
    ctx: &mut Context<'_>,
) -> Result<PenaltyEffects, EffectError> {
    let mut effects = PenaltyEffects::default();
    if let Some(p) = provider.filter(|_| plan.expel || plan.ban) {
        let banned = matches!(p.status, ProviderStatus::Banned { .. });
        effects.provider = if plan.ban && !banned {
            Some(p.ban(ctx)?)
        } else if plan.expel && p.is_active() {
            Some(p.expel(ctx)?)
        } else {
            None
        };
    }
    let subject = case.subject();
    for (i, store) in stores.iter().enumerate() {
        if store.closed.is_some() {
            continue;
        }
        let decided = if plan.expel {
            let reason = if plan.ban {
                ClosureReason::AccountBan
            } else {
                ClosureReason::Expulsion
            };
            Some(store.close(reason, ctx)?)
        } else {
            match plan.store_action {
                Action::Freeze(_) | Action::BlockAndRestrict(_) => {
                    Some(store.apply_action(plan.store_action, &subject, ctx)?)
                }
                _ => None,
            }
        };
        if let Some((next, outcome)) = decided {
            effects.stores.push((i, next, outcome));
        }
    }
    let key = format!("violation:{}", case.id);
    let reason = match products_reached(plan) {
        ProductsReached::All => Some(format!("清退 expelled: {}", case.row.code)),
        ProductsReached::CaseProduct if case.product.is_some() => {
            Some(format!("屏蔽并下架 hidden and delisted: {}", case.row.code))
        }
        ProductsReached::CaseProduct => {
            effects.pending_tasks.push(json!({
                "task": "hide_and_delist_product",
                "note": "the case names no product: compliance delists the offending product",
            }));
            None
        }
        ProductsReached::None => None,
    };
    if let Some(reason) = reason {
        for (i, product) in products.iter().enumerate() {
            if product.provider != case.provider {
                continue;
            }
            let (next, outcome) =
                product.place_hold(ctx, &key, HoldKind::Delisted, &reason, None)?;
            effects.products.push((i, next, outcome));
        }
    }
    if !effects.pending_tasks.is_empty() {
        effects.outcome = Outcome::default().event(
            "case.pending_tasks",
            subject,
            json!({ "tasks": effects.pending_tasks }),
        );
    }
    Ok(effects)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use uuid::Uuid;

    use super::*;
    use crate::governance::{CaseSource, OpenCase};
    use crate::listing::ProductStatus;
    use crate::money::Fen;
    use crate::provider::testkit::{World, active_provider};
    use crate::storefront::StoreState;

    /// A provider with two open stores and two live products, and a case about it.
    struct Scene {
        w: World,
        provider: Provider,
        stores: Vec<Store>,
        products: Vec<Product>,
        case: Case,
    }

    fn scene(product_named: bool) -> Scene {
        let mut w = World::new("ali", "2025-06-02T10:00:00+08:00");
        let (provider, _) = active_provider(&mut w);
        let stores = ["云帆一店", "云帆二店"]
            .map(|name| Store::open(&provider, name, None, &mut w.ctx()).unwrap().0)
            .to_vec();
        let mut lw = crate::listing::testkit::World::new("ali");
        let products: Vec<Product> = (0..2)
            .map(|_| {
                let mut p = lw.live_image();
                p.provider = provider.id;
                p
            })
            .collect();
        let rb = w.rulebook.clone();
        let cmd = OpenCase {
            provider: provider.id,
            code: "ALI-B1".into(),
            act_on: date(2025, 6, 1),
            source: CaseSource::SpotCheck,
            summary: "抽查发现".into(),
            reference: None,
            product: product_named.then_some(products[0].id),
            by: None,
        };
        let (case, _) = Case::open(Uuid::from_u128(99), cmd, &rb, &mut w.ctx()).unwrap();
        Scene {
            w,
            provider,
            stores,
            products,
            case,
        }
    }

    fn plan(case: &Case, store_action: Action, hide: bool, expel: bool, ban: bool) -> PenaltyPlan {
        PenaltyPlan {
            case: case.id,
            code: case.row.code.clone(),
            points: None,
            year_total: None,
            threshold_reached: false,
            store_action,
            hide_and_delist: hide,
            expel,
            ban,
            deposit_deducted: Fen::ZERO,
            deposit_forfeited: Fen::ZERO,
            owed: Fen::ZERO,
        }
    }

    fn effects(s: &mut Scene, plan: &PenaltyPlan, products: &[Product]) -> PenaltyEffects {
        let provider = s.provider.clone();
        penalty_effects(
            &s.case,
            plan,
            Some(&provider),
            &s.stores,
            products,
            &mut s.w.ctx(),
        )
        .unwrap()
    }

    #[test]
    fn an_expulsion_expels_the_provider_closes_every_open_store_and_delists_every_product() {
        let mut s = scene(false);
        assert_eq!(
            products_reached(&plan(&s.case, Action::NoAction, false, true, false)),
            ProductsReached::All
        );
        let p = plan(&s.case, Action::NoAction, false, true, false);
        let products = s.products.clone();
        let e = effects(&mut s, &p, &products);
        let (provider, _) = e.provider.unwrap();
        assert!(!provider.is_active());
        assert!(!matches!(provider.status, ProviderStatus::Banned { .. }));
        assert_eq!(e.stores.len(), 2);
        for (_, store, _) in &e.stores {
            assert_eq!(
                store.closed.as_ref().map(|c| c.reason),
                Some(ClosureReason::Expulsion)
            );
        }
        assert_eq!(e.products.len(), 2);
        for (_, product, _) in &e.products {
            assert_eq!(product.status(), ProductStatus::DelistedByOperator);
        }
        assert!(e.pending_tasks.is_empty());
    }

    #[test]
    fn a_ban_bans_the_provider_and_closes_its_stores_for_the_account_ban() {
        let mut s = scene(false);
        let p = plan(&s.case, Action::NoAction, false, true, true);
        let products = s.products.clone();
        let e = effects(&mut s, &p, &products);
        let (provider, _) = e.provider.unwrap();
        assert!(matches!(provider.status, ProviderStatus::Banned { .. }));
        for (_, store, _) in &e.stores {
            assert_eq!(
                store.closed.as_ref().map(|c| c.reason),
                Some(ClosureReason::AccountBan)
            );
        }
    }

    #[test]
    fn a_freeze_row_freezes_each_open_store_and_leaves_the_provider_and_products_alone() {
        let mut s = scene(false);
        let p = plan(&s.case, Action::Freeze(15), false, false, false);
        assert_eq!(products_reached(&p), ProductsReached::None);
        let e = effects(&mut s, &p, &[]);
        assert!(e.provider.is_none() && e.products.is_empty());
        let now = s.w.now;
        assert_eq!(e.stores.len(), 2);
        for (_, store, _) in &e.stores {
            assert!(matches!(store.state(now), StoreState::Frozen { .. }));
        }
    }

    #[test]
    fn a_closed_store_is_left_alone() {
        let mut s = scene(false);
        let closed = s.stores[1]
            .close(ClosureReason::Expulsion, &mut s.w.ctx())
            .unwrap()
            .0;
        s.stores[1] = closed;
        let p = plan(&s.case, Action::Freeze(15), false, false, false);
        let e = effects(&mut s, &p, &[]);
        assert_eq!(e.stores.iter().map(|(i, _, _)| *i).collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn hide_and_delist_delists_the_cases_product_and_no_other_providers_product() {
        let mut s = scene(true);
        let p = plan(&s.case, Action::NoAction, true, false, false);
        assert_eq!(products_reached(&p), ProductsReached::CaseProduct);
        let mut foreign = s.products[0].clone();
        foreign.provider = crate::ids::ProviderId(Uuid::from_u128(777));
        let named = s.products[0].clone();
        let e = effects(&mut s, &p, &[named, foreign]);
        assert_eq!(
            e.products.iter().map(|(i, _, _)| *i).collect::<Vec<_>>(),
            [0]
        );
        assert!(e.stores.is_empty() && e.pending_tasks.is_empty());
    }

    #[test]
    fn hide_and_delist_without_a_named_product_leaves_the_task_to_compliance() {
        let mut s = scene(false);
        let p = plan(&s.case, Action::NoAction, true, false, false);
        let e = effects(&mut s, &p, &[]);
        assert!(e.products.is_empty());
        assert_eq!(e.pending_tasks[0]["task"], "hide_and_delist_product");
        assert_eq!(e.outcome.events[0].kind, "case.pending_tasks");
    }
}
