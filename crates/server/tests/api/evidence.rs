//! Evidence files (SPEC §8, §9): uploaded by their owner, cited only by their owner, read by
//! every party of the complaint or case that cites them — and by nobody else.

use serde_json::json;

use crate::cases::{admit, id, open_case, staff};
use crate::helpers::{Market, assert_problem, json_of, ok};
use crate::journey::{PDF, PNG};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_is_cited_by_its_uploader_and_read_by_the_parties() {
    let m = Market::start_with(None, "ali-2020", "2026-07-01T09:00:00+08:00").await;
    let g = staff(&m).await;
    let p = admit(&m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    m.register("buyer@example.com", "买家", "personal").await;
    let buyer = m.login("buyer@example.com").await;
    m.register("other@example.com", "路人", "personal").await;
    let other = m.login("other@example.com").await;
    let (order, _) = m.buy(&buyer, &p.product, "pay-1").await;

    let shot = json_of(m.upload_evidence(&buyer, "image/png", PNG).await, 201).await;
    let shot = shot["id"].as_str().unwrap().to_owned();
    // Bytes that are not what the type says are refused.
    let res = m.upload_evidence(&buyer, "application/pdf", PNG).await;
    assert_eq!(res.status(), 415, "{}", res.text().await.unwrap());

    let complaint = json_of(
        m.post(
            "/api/v1/complaints",
            &buyer,
            json!({"order_id": order, "reason": "mismatch", "text": "截图为证", "evidence": [shot]}),
        )
        .await,
        201,
    )
    .await;
    let complaint = complaint["complaint"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/complaints/{complaint}/evidence/{shot}");
    // The provider reads the buyer's screenshot through the complaint; a stranger cannot.
    let res = m.get(&path, &p.isv).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
    assert_problem(m.get(&path, &other).await, 404, "not_found").await;
    assert_problem(
        m.get(&format!("/api/v1/evidence/{shot}"), &p.isv).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        m.get(&format!("/api/v1/evidence/{shot}"), &buyer)
            .await
            .status(),
        200
    );
    // Nobody cites another's file.
    let res = m
        .post(
            &format!("/api/v1/complaints/{complaint}/messages"),
            &p.isv,
            json!({"text": "我也有这张图", "evidence": [shot]}),
        )
        .await;
    assert_problem(res, 422, "evidence_not_found").await;

    // A case reply with the provider's own proof, read by compliance through the case.
    let proof = json_of(m.upload_evidence(&p.isv, "application/pdf", PDF).await, 201).await;
    let proof = proof["id"].as_str().unwrap().to_owned();
    let case = id(&open_case(&m, &g, &p, "ALI-H1", "2026-07-01").await);
    ok(m.post(
        &format!("/api/v1/cases/{case}/reply"),
        &p.isv,
        json!({"text": "已整改，见附件", "evidence": [proof]}),
    )
    .await)
    .await;
    let res = m
        .get(
            &format!("/api/v1/cases/{case}/evidence/{proof}"),
            &g.compliance,
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), PDF);
    // Not cited on that case: not served through it.
    assert_problem(
        m.get(
            &format!("/api/v1/cases/{case}/evidence/{shot}"),
            &g.compliance,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    m.stop().await;
}
