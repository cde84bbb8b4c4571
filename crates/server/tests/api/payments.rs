//! One charge per order (issue 17 item 5): a payment intent is committed on the order before
//! the gateway is asked, the gateway de-duplicates on a key derived from order and intent, a
//! racing payment with another key never charges, and a charge whose payment was never
//! committed is voided by a stored deadline. A stub gateway records every call.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::SignedDuration;
use serde_json::{Value, json};
use yunshi_core::ids::OrderId;
use yunshi_server::kernel::gateway::{
    Charge, ChargeFuture, ChargeOutcome, PaymentGateway, VoidFuture, VoidOutcome,
};

use crate::cases::{admit, staff};
use crate::helpers::{Market, assert_problem, json_of, ok};

/// Records each charge's key and each void's; answers after a pause, so that two requests
/// overlap at the gateway, with `Succeeded` or, once told, with a time-out after charging.
#[derive(Default)]
struct RecordingGateway {
    charges: Mutex<Vec<String>>,
    voids: Mutex<Vec<String>>,
    time_out: Mutex<bool>,
}

impl PaymentGateway for RecordingGateway {
    fn name(&self) -> &'static str {
        "recording"
    }

    fn charge(&self, charge: &Charge) -> ChargeFuture<'_> {
        self.charges.lock().unwrap().push(charge.key.clone());
        let time_out = *self.time_out.lock().unwrap();
        let reference = format!("rec-{}", charge.key);
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if time_out {
                ChargeOutcome::TimedOut
            } else {
                ChargeOutcome::Succeeded { reference }
            }
        })
    }

    fn void(&self, _order: OrderId, key: &str) -> VoidFuture<'_> {
        self.voids.lock().unwrap().push(key.to_owned());
        Box::pin(std::future::ready(VoidOutcome::Voided))
    }
}

async fn market(gateway: Arc<RecordingGateway>) -> (Market, String, String) {
    let m =
        Market::start_charging(None, "ali-2020", "2026-07-01T09:00:00+08:00", Some(gateway)).await;
    let g = staff(&m).await;
    let p = admit(&m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    m.register("buyer@example.com", "买家", "personal").await;
    let buyer = m.login("buyer@example.com").await;
    (m, buyer, p.product)
}

async fn place(m: &Market, buyer: &str, product: &str) -> String {
    let placed = json_of(
        m.post("/api/v1/orders", buyer, json!({"product_id": product}))
            .await,
        201,
    )
    .await;
    placed["order"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_payments_racing_on_one_order_with_different_keys_charge_once() {
    let gateway = Arc::new(RecordingGateway::default());
    let (m, buyer, product) = market(gateway.clone()).await;
    let order = place(&m, &buyer, &product).await;
    let path = format!("/api/v1/orders/{order}/payments");
    let (a, b) = tokio::join!(
        m.post_key(&path, &buyer, "pay-a", json!({})),
        m.post_key(&path, &buyer, "pay-b", json!({})),
    );
    let (a, b) = (a.status().as_u16(), b.status().as_u16());
    let mut statuses = [a, b];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "one pays, the other is refused");
    let loser = if a == 409 { "pay-a" } else { "pay-b" };
    let charges = gateway.charges.lock().unwrap().clone();
    assert_eq!(charges.len(), 1, "one gateway charge: {charges:?}");
    assert!(
        charges[0].starts_with(&format!("yunshi:{order}:")),
        "the gateway key is the order's and its intent's, not the client's: {charges:?}"
    );
    let paid = m.order(&buyer, &order).await;
    assert_eq!(paid["order"]["status"], "held", "{paid}");
    // The loser, retried, is told the order is paid; still one charge.
    let res = m.post_key(&path, &buyer, loser, json!({})).await;
    assert_problem(res, 409, "already_paid").await;
    assert_eq!(gateway.charges.lock().unwrap().len(), 1);
    m.books("raced payment").await;
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_without_a_committed_payment_is_voided_by_its_deadline() {
    let gateway = Arc::new(RecordingGateway::default());
    *gateway.time_out.lock().unwrap() = true;
    let (m, buyer, product) = market(gateway.clone()).await;
    let order = place(&m, &buyer, &product).await;
    let path = format!("/api/v1/orders/{order}/payments");
    let res = m.post_key(&path, &buyer, "pay-a", json!({})).await;
    assert_problem(res, 504, "payment_timed_out").await;
    // Another request finds the intent open and charges nothing.
    let res = m.post_key(&path, &buyer, "pay-b", json!({})).await;
    assert_problem(res, 409, "payment_in_progress").await;
    let first = gateway.charges.lock().unwrap().clone();
    assert_eq!(first.len(), 1, "{first:?}");

    // 29 minutes on the intent is still open; at 30 its charge is voided under its key.
    m.advance(SignedDuration::from_mins(29));
    m.fire_due().await;
    assert!(gateway.voids.lock().unwrap().is_empty());
    m.advance(SignedDuration::from_mins(1));
    m.fire_due().await;
    assert_eq!(gateway.voids.lock().unwrap().clone(), first);
    let unpaid: Value = m.order(&buyer, &order).await;
    assert_eq!(unpaid["order"]["status"], "awaiting_payment", "{unpaid}");

    // The buyer pays again: a new intent, a new gateway key, one more charge.
    *gateway.time_out.lock().unwrap() = false;
    let paid = ok(m.post_key(&path, &buyer, "pay-c", json!({})).await).await;
    assert_eq!(paid["order"]["status"], "held", "{paid}");
    let charges = gateway.charges.lock().unwrap().clone();
    assert_eq!(charges.len(), 2, "{charges:?}");
    assert_ne!(charges[1], charges[0]);
    m.books("voided then paid").await;
    m.stop().await;
}
