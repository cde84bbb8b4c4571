//! Money input is exact and bounded (issue 17 item 1): one grammar for amounts on the wire,
//! the deployment's `max_amount` on every money field of a request, a compensation bounded by
//! the order it cites — and whatever is refused, the books, the audit and the period proof
//! keep answering.

use serde_json::{Value, json};

use crate::cases::{admit, on_both, staff};
use crate::helpers::{ADMIN_TOKEN, Market, assert_problem, json_of, ok};

async fn audit_passes(m: &Market, step: &str) {
    let report = ok(m.get("/api/v1/admin/audit", ADMIN_TOKEN).await).await;
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert!(failed.is_empty(), "after {step}: {failed:?}");
    m.books(step).await;
}

async fn a_compensation_beyond_the_limit_or_its_order_is_refused_and_the_books_keep_answering(
    m: &Market,
) {
    let g = staff(m).await;
    let finance = m
        .staff(
            "finance@yunshi.example",
            json!({"type": "operator_staff", "roles": ["finance"]}),
        )
        .await;
    let p = admit(m, &g.reviewer, "owner@yunfan.example", "云帆科技").await;
    m.register("buyer@example.com", "买家", "personal").await;
    let buyer = m.login("buyer@example.com").await;
    let (order, _) = m.buy(&buyer, &p.product, "buy-1").await;
    let path = format!(
        "/api/v1/admin/providers/{}/deposit/compensations",
        p.provider
    );
    let compensate = |key: &'static str, amount: &'static str| {
        let body = json!({"amount": amount, "reason": "代服务商赔付买家", "reference": order});
        m.post_key(&path, &finance, key, body)
    };

    // The figure from the attack: i64::MAX fen. Refused before any rule, naming the limit.
    let p1 = assert_problem(
        compensate("c-1", "92233720368547758.07").await,
        422,
        "amount_above_limit",
    )
    .await;
    let detail = p1["detail"].as_str().unwrap();
    assert!(
        detail.contains("1000000000.00") && detail.contains("amount"),
        "{detail}"
    );
    assert_problem(
        compensate("c-2", "-92233720368547758.08").await,
        422,
        "amount_above_limit",
    )
    .await;
    assert_problem(
        compensate("c-3", "1000000000.01").await,
        422,
        "amount_above_limit",
    )
    .await;
    // Within the deployment's limit, but more than the cited order's buyer paid (1000.00).
    assert_problem(
        compensate("c-4", "100000000.01").await,
        422,
        "compensation_above_obligation",
    )
    .await;
    assert_problem(
        compensate("c-5", "1000.01").await,
        422,
        "compensation_above_obligation",
    )
    .await;
    // Not an amount in the wire grammar.
    for (key, bad) in [
        ("c-6", "1,000.00"),
        ("c-7", "¥1.00"),
        ("c-8", " 1.00"),
        ("c-9", "1."),
        ("c-10", "00001.00"),
        ("c-11", "1e3"),
        ("c-12", "99999999999999999999"),
    ] {
        assert_problem(compensate(key, bad).await, 422, "invalid_request").await;
    }
    // A reference that is no paid order of this provider.
    let body = json!({"amount": "1.00", "reason": "赔付", "reference": "order-1"});
    let res = m.post_key(&path, &finance, "c-13", body).await;
    assert_problem(res, 422, "compensation_without_order").await;

    // The whole payment is the most it may take; the deposit still answers.
    let d = json_of(compensate("c-14", "1000.00").await, 201).await;
    assert_eq!(d["deductions"][0]["amount"], "1000.00", "{d}");
    let deposit = ok(m
        .get(
            &format!("/api/v1/providers/{}/deposit", p.provider),
            &finance,
        )
        .await)
    .await;
    assert_eq!(deposit["status"], "top_up_due", "{deposit}");
    audit_passes(m, "refused compensations").await;
    let proof = m
        .get("/api/v1/admin/settlement/periods/2026-07-01", &finance)
        .await;
    assert_eq!(proof.status(), 200, "the period proof answers");
}

on_both!(
    a_compensation_beyond_the_limit_or_its_order_is_refused_and_the_books_keep_answering,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    a_compensation_beyond_the_limit_or_its_order_is_refused_on_sqlite,
    a_compensation_beyond_the_limit_or_its_order_is_refused_on_postgres
);

/// Amounts no request may carry: beyond the default `max_amount` (1000000000.00) in the wire
/// grammar, or outside the grammar.
const BEYOND_THE_LIMIT: &[&str] = &[
    "92233720368547758.07",
    "-92233720368547758.08",
    "1000000000.01",
    "-1000000000.01",
    "999999999999.99",
    "10000000000",
];
const NOT_AN_AMOUNT: &[&str] = &[
    "99999999999999999999",
    "1,000.00",
    "¥1.00",
    " 1.00",
    "1.",
    "00001.00",
    "1e3",
    "0.001",
    "NaN",
    "",
];

/// Where in a request body an amount goes: the JSON path to a `Money` and the tags (one-value
/// enums) of the objects on the way, so that a tagged variant reads as itself.
fn money_bodies(doc: &Value, schema: &Value, depth: usize) -> Vec<Value> {
    let resolve = |s: &Value| -> Value {
        match s["$ref"].as_str() {
            Some(r) => {
                doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")].clone()
            }
            None => s.clone(),
        }
    };
    if depth > 8 {
        return Vec::new();
    }
    if schema["$ref"] == "#/components/schemas/Money" {
        return vec![json!("$AMOUNT")];
    }
    let schema = resolve(schema);
    let mut out = Vec::new();
    for key in ["oneOf", "anyOf", "allOf"] {
        for variant in schema[key].as_array().into_iter().flatten() {
            out.extend(money_bodies(doc, variant, depth + 1));
        }
    }
    if let Some(items) = schema.get("items") {
        out.extend(
            money_bodies(doc, items, depth + 1)
                .into_iter()
                .map(|b| json!([b])),
        );
    }
    if let Some(props) = schema["properties"].as_object() {
        let tags: serde_json::Map<String, Value> = props
            .iter()
            .filter_map(|(name, p)| {
                let p = resolve(p);
                let values = p["enum"].as_array()?;
                (values.len() == 1).then(|| (name.clone(), values[0].clone()))
            })
            .collect();
        for (name, p) in props {
            for inner in money_bodies(doc, p, depth + 1) {
                let mut body = tags.clone();
                body.insert(name.clone(), inner);
                out.push(Value::Object(body));
            }
        }
    }
    if let Some(extra) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        out.extend(
            money_bodies(doc, extra, depth + 1)
                .into_iter()
                .map(|b| json!({"key": b})),
        );
    }
    out
}

fn with_amount(body: &Value, amount: &str) -> Value {
    match body {
        Value::String(s) if s == "$AMOUNT" => json!(amount),
        Value::Array(a) => Value::Array(a.iter().map(|v| with_amount(v, amount)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), with_amount(v, amount)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every operation of the OpenAPI document whose request body carries an amount, driven with
/// extreme amounts: each is refused with a problem (422 `amount_above_limit` beyond the limit,
/// 422 `invalid_request` outside the grammar), never accepted and never a 5xx — and then the
/// books, the audit and the period proof answer.
async fn every_money_taking_endpoint_refuses_extreme_amounts_and_the_books_hold(m: &Market) {
    let doc = ok(m.public_get("/api/v1/openapi.json").await).await;
    let any_id = "01930000-0000-7000-8000-0000000000aa";
    let mut driven = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema")
            else {
                continue;
            };
            let bodies = money_bodies(&doc, schema, 0);
            if bodies.is_empty() {
                continue;
            }
            let url = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { any_id } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for body in &bodies {
                for (i, amount) in BEYOND_THE_LIMIT.iter().chain(NOT_AN_AMOUNT).enumerate() {
                    let res = m
                        .call(
                            method.clone(),
                            &url,
                            Some(ADMIN_TOKEN),
                            Some(&format!("extreme-{i}")),
                            Some(with_amount(body, amount)),
                        )
                        .await;
                    let code = if BEYOND_THE_LIMIT.contains(amount) {
                        "amount_above_limit"
                    } else {
                        "invalid_request"
                    };
                    let status = res.status();
                    let problem: Value = res.json().await.unwrap_or(Value::Null);
                    assert!(
                        status == 422 && problem["code"] == code,
                        "{method} {path} with {amount:?} in {body}: {status} {problem}"
                    );
                }
            }
            driven.push(format!("{method} {path}"));
        }
    }
    // The document names the money-taking operations this test drives: at least these.
    for known in [
        "POST /api/v1/admin/providers/{id}/deposit/compensations",
        "POST /api/v1/providers/{id}/deposit/top-ups",
        "POST /api/v1/products",
        "POST /api/v1/orders/{id}/direct-refunds",
    ] {
        assert!(
            driven.iter().any(|d| d == known),
            "{known} not driven: {driven:?}"
        );
    }
    audit_passes(m, "extreme amounts at every money-taking endpoint").await;
    let proof = m
        .get("/api/v1/admin/settlement/periods/2026-07-01", ADMIN_TOKEN)
        .await;
    assert_eq!(proof.status(), 200, "the period proof answers");
}

on_both!(
    every_money_taking_endpoint_refuses_extreme_amounts_and_the_books_hold,
    "ali-2020",
    "2026-07-01T09:00:00+08:00",
    every_money_taking_endpoint_refuses_extreme_amounts_on_sqlite,
    every_money_taking_endpoint_refuses_extreme_amounts_on_postgres
);
