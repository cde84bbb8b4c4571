//! The marketplace's people and what they do, as calls to the public API: operator staff,
//! providers going through onboarding to listed products, buyers buying and refunding,
//! complaints, violation cases and deposit top-ups. Each step is tagged by what it is (the
//! fault plan keys on the tag) and checked against the answer the API promises.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use super::draw::{Draw, Topic};
use super::node::{ADMIN, Node};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01";

/// The operator's staff.
pub struct Staff {
    pub reviewer: String,
    pub compliance: String,
    pub finance: String,
    pub service: String,
}

/// A provider that made it through onboarding.
#[derive(Debug, Clone)]
pub struct Provider {
    pub index: u64,
    pub id: String,
    pub token: String,
    pub products: Vec<Product>,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: String,
    /// A monthly subscription.
    pub renewable: bool,
}

/// How an application ended.
pub enum Onboarded {
    Admitted(Provider),
    Rejected,
}

/// What one provider's onboarding went through.
#[derive(Debug, Default, Clone, Copy)]
pub struct OnboardingTrail {
    pub more_material: bool,
    pub flagged_products: u32,
    pub listed_products: u32,
}

/// A stable tag for one call: the kind of flow, its numbers, the step.
pub fn tag(draw: &Draw, labels: &[u64]) -> u64 {
    draw.bits(Topic::Fault, labels)
}

fn str_at(v: &Value, pointer: &str) -> Result<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no {pointer} in {v}"))
}

/// Parses "123.45" into fen.
pub fn fen(amount: &str) -> Result<i64> {
    let (yuan, cents) = amount.split_once('.').unwrap_or((amount, "00"));
    let negative = yuan.starts_with('-');
    let yuan: i64 = yuan.trim_start_matches('-').parse()?;
    let cents: i64 = format!("{cents:0<2}")[..2].parse()?;
    let v = yuan * 100 + cents;
    Ok(if negative { -v } else { v })
}

/// The API as one actor sees it.
pub struct Api<'n> {
    pub node: &'n Node,
    pub draw: Draw,
    /// Where the providers' SaaS delivery endpoints are.
    pub hooks: String,
    /// With `serve --demo`, the password of the demo's logins (see [`demo_login`]).
    pub demo_password: Option<String>,
}

/// The demo's operator staff: (role, e-mail).
pub const DEMO_STAFF: &[(&str, &str)] = &[
    ("admin", "admin@operator.sim"),
    ("reviewer", "reviewer@operator.sim"),
    ("compliance", "compliance@operator.sim"),
    ("finance", "finance@operator.sim"),
    ("customer_service", "cs@operator.sim"),
];

pub fn provider_staff_email(i: u64) -> String {
    format!("ops@p{i}.sim")
}

pub fn buyer_email(b: u64) -> String {
    format!("buyer{b}@buyers.sim")
}

/// The first buyers get a demo password (hashing one costs tens of milliseconds).
pub fn demo_buyer(b: u64) -> bool {
    b < 40
}

/// Whether a user made by the simulation gets the demo password: the operator staff, every
/// provider's staff login and the first buyers.
fn demo_login(email: &str) -> bool {
    email.ends_with("@operator.sim")
        || (email.starts_with("ops@p") && email.ends_with(".sim"))
        || email
            .strip_prefix("buyer")
            .and_then(|rest| rest.strip_suffix("@buyers.sim"))
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(demo_buyer)
}

impl Api<'_> {
    /// A JSON call that must answer `expect`.
    #[allow(clippy::too_many_arguments)]
    pub async fn send(
        &self,
        tag: u64,
        method: Method,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Value,
        expect: StatusCode,
    ) -> Result<Value> {
        let body =
            (method != Method::GET).then(|| (Bytes::from(body.to_string()), "application/json"));
        let answer = self
            .node
            .call(tag, method.clone(), path, token, key, body)
            .await?;
        if answer.status != expect {
            bail!(
                "{method} {path}: expected {expect}, got {}: {}",
                answer.status,
                answer.body
            );
        }
        Ok(answer.body)
    }

    pub async fn post(&self, tag: u64, path: &str, token: &str, body: Value) -> Result<Value> {
        self.send(tag, Method::POST, path, token, None, body, StatusCode::OK)
            .await
    }

    pub async fn created(&self, tag: u64, path: &str, token: &str, body: Value) -> Result<Value> {
        self.send(
            tag,
            Method::POST,
            path,
            token,
            None,
            body,
            StatusCode::CREATED,
        )
        .await
    }

    pub async fn get(&self, path: &str, token: &str) -> Result<Value> {
        self.send(
            0,
            Method::GET,
            path,
            token,
            None,
            Value::Null,
            StatusCode::OK,
        )
        .await
    }

    /// A user made by the operator administrator, and a token that does not expire.
    pub async fn user(&self, tag: u64, email: &str, name: &str, kind: Value) -> Result<String> {
        let mut user = json!({"email": email, "display_name": name, "kind": kind});
        if let Some(password) = self.demo_password.as_ref().filter(|_| demo_login(email)) {
            user["password"] = json!(password);
        }
        let made = self
            .created(tag, "/api/v1/admin/users", ADMIN, user)
            .await?;
        let id = str_at(&made, "/user/id")?;
        let token = self
            .created(
                tag ^ 1,
                &format!("/api/v1/admin/users/{id}/tokens"),
                ADMIN,
                json!({"label": "simulation"}),
            )
            .await?;
        str_at(&token, "/token")
    }

    pub async fn staff(&self) -> Result<Staff> {
        let op = |role: &str| json!({"type": "operator_staff", "roles": [role]});
        let staff = Staff {
            reviewer: self
                .user(11, "reviewer@operator.sim", "审核员", op("reviewer"))
                .await?,
            compliance: self
                .user(13, "compliance@operator.sim", "合规专员", op("compliance"))
                .await?,
            finance: self
                .user(15, "finance@operator.sim", "财务", op("finance"))
                .await?,
            service: self
                .user(17, "cs@operator.sim", "客服", op("customer_service"))
                .await?,
        };
        if self.demo_password.is_some() {
            self.user(19, "admin@operator.sim", "运营管理员", op("admin"))
                .await?;
        }
        Ok(staff)
    }

    async fn upload(&self, tag: u64, app: &str, token: &str, kind: &str, salt: &str) -> Result<()> {
        let (content_type, bytes) = if kind == "legal_representative_id" {
            ("image/png", PNG)
        } else {
            ("application/pdf", PDF)
        };
        let bytes = [bytes, salt.as_bytes()].concat();
        let path = format!("/api/v1/onboarding/applications/{app}/materials?kind={kind}");
        let answer = self
            .node
            .call(
                tag,
                Method::POST,
                &path,
                token,
                None,
                Some((Bytes::from(bytes), content_type)),
            )
            .await?;
        if answer.status != StatusCode::CREATED {
            bail!("uploading {kind}: {} {}", answer.status, answer.body);
        }
        Ok(())
    }

    /// Provider `i` applies; some are asked for more material, some rejected; the admitted
    /// pay the deposit, register a receiving account and list one to three products (some
    /// flagged by the automatic checks, fixed and listed after rejection).
    pub async fn onboard(
        &self,
        staff: &Staff,
        agreement: &Value,
        i: u64,
    ) -> Result<(Onboarded, OnboardingTrail)> {
        let d = self.draw;
        let t = |step: u64| tag(&d, &[1, i, step]);
        let mut trail = OnboardingTrail::default();
        let name = format!("模拟云服务{i}有限公司");
        let kind = json!({"type": "member", "member_kind": "enterprise"});
        let token = self
            .user(t(1), &format!("owner@p{i}.sim"), &name, kind)
            .await?;
        let app = self
            .created(
                t(2),
                "/api/v1/onboarding/applications",
                &token,
                json!({"store_name": format!("模拟云服务{i}官方店")}),
            )
            .await?;
        let app_id = str_at(&app, "/application/id")?;
        let provider = str_at(&app, "/application/provider")?;
        let missing: Vec<String> = serde_json::from_value(app["missing_materials"].clone())?;
        for (n, kind) in missing.iter().enumerate() {
            self.upload(t(10 + n as u64), &app_id, &token, kind, &format!("p{i}"))
                .await?;
        }
        let step = |s: &str| format!("/api/v1/onboarding/applications/{app_id}/{s}");
        let review = |s: &str| format!("/api/v1/admin/onboarding/applications/{app_id}/{s}");
        self.post(t(3), &step("submit"), &token, json!({})).await?;
        self.post(t(4), &review("review"), &staff.reviewer, json!({}))
            .await?;
        if d.chance(Topic::MoreMaterial, &[i], 80) {
            trail.more_material = true;
            let more =
                json!({"kinds": ["business_licence"], "note": "营业执照副本不清晰，请重新上传"});
            self.post(t(5), &review("more-material"), &staff.reviewer, more)
                .await?;
            self.upload(
                t(6),
                &app_id,
                &token,
                "business_licence",
                &format!("p{i} again"),
            )
            .await?;
            self.post(t(7), &step("resubmit"), &token, json!({}))
                .await?;
            self.post(t(8), &review("review"), &staff.reviewer, json!({}))
                .await?;
        }
        if d.chance(Topic::Rejected, &[i], 50) {
            let reason = json!({"reason": "营业执照与认证主体不一致"});
            self.post(t(9), &review("reject"), &staff.reviewer, reason)
                .await?;
            return Ok((Onboarded::Rejected, trail));
        }
        // Every rulebook requires a verification of some kind before approval.
        let verified = json!({"decision": "verified"});
        self.post(t(20), &review("verification"), &staff.reviewer, verified)
            .await?;
        self.post(
            t(21),
            &review("approve"),
            &staff.reviewer,
            json!({"partner_member": true}),
        )
        .await?;
        let accepted = self
            .post(
                t(22),
                &step("agreement"),
                &token,
                json!({"agreement_id": agreement["id"]}),
            )
            .await?;
        let deposit = str_at(&accepted, "/deposit_outstanding")?;
        let paid = self
            .send(
                t(23),
                Method::POST,
                &step("deposit-payments"),
                &token,
                Some(&format!("deposit-{i}")),
                json!({"amount": deposit}),
                StatusCode::CREATED,
            )
            .await?;
        let store = str_at(&paid, "/store/store/id")?;
        // From here on the provider's own staff act for it.
        let kind = json!({"type": "provider_staff", "provider_id": provider, "role": "owner"});
        let token = self
            .user(t(26), &provider_staff_email(i), &name, kind)
            .await?;

        let payee = format!("/api/v1/providers/{provider}/payee-account");
        let number = format!("62258801{:08}", i * 7 + 1);
        let account = json!({"holder": name, "channel": "bank", "bank": "招商银行",
                             "branch": "杭州分行", "account_number": number});
        self.send(
            t(24),
            Method::POST,
            &payee,
            &token,
            None,
            account,
            StatusCode::ACCEPTED,
        )
        .await?;
        self.post(
            t(25),
            &format!("/api/v1/admin/providers/{provider}/payee-account/decision"),
            &staff.finance,
            json!({"approve": true, "account": number}),
        )
        .await?;

        // One provider in twenty has a SaaS endpoint that is down: its deliveries fail.
        let endpoint = if d.chance(Topic::EndpointDown, &[i], 50) {
            "down"
        } else {
            "ok"
        };
        self.send(
            t(27),
            Method::PUT,
            "/api/v1/webhooks/endpoint",
            &token,
            None,
            json!({"url": format!("{}/{endpoint}", self.hooks)}),
            StatusCode::OK,
        )
        .await?;

        let mut products = Vec::new();
        for n in 0..=d.below(Topic::Products, &[i], 3) {
            let (product, flagged) = self.list(staff, &token, &store, i, n).await?;
            trail.flagged_products += u32::from(flagged);
            trail.listed_products += 1;
            products.push(product);
        }
        Ok((
            Onboarded::Admitted(Provider {
                index: i,
                id: provider,
                token,
                products,
            }),
            trail,
        ))
    }

    /// Lists product `n` of provider `i`: an image sold once, or a monthly SaaS subscription.
    /// Some titles carry an absolute claim the checks flag: rejected, fixed, approved.
    async fn list(
        &self,
        staff: &Staff,
        token: &str,
        store: &str,
        i: u64,
        n: u64,
    ) -> Result<(Product, bool)> {
        let d = self.draw;
        let t = |step: u64| tag(&d, &[2, i, n, step]);
        let saas = d.chance(Topic::Category, &[i, n], 350);
        let price_fen = 100 * (50 + d.below(Topic::Price, &[i, n], 40) as i64 * 50);
        let price = format!("{}.{:02}", price_fen / 100, price_fen % 100);
        let flagged = d.chance(Topic::Flagged, &[i, n], 100);
        let title = format!("企业级数据备份方案{i}-{n}");
        let description = if flagged {
            "本方案是市场上最优的数据备份方案，支持增量备份。"
        } else {
            "稳定可靠的数据备份方案，支持增量备份。"
        };
        let (category, pricing) = if saas {
            ("saas", "monthly")
        } else {
            ("image", "one_off")
        };
        let content = |description: &str| {
            json!({
                "title": title,
                "images": ["upload:cover"],
                "attributes": [{"name": "部署方式", "value": "镜像部署"}],
                "description": description,
                "terms": "购买即表示同意本产品服务协议。",
                "delisting_strategy": "下架后已购用户可继续使用至服务期满，数据可随时导出。",
                "open_source": [],
                "own_product_page": format!("https://www.p{i}.sim/backup"),
                "refund_terms": "担保期外不予退款。"
            })
        };
        let created = self
            .created(
                t(1),
                "/api/v1/products",
                token,
                json!({
                    "store": store, "category": category, "sales_mode": "self_sold",
                    "pricing": pricing, "price": price, "refund_policy": "no_refund",
                    "content": content(description)
                }),
            )
            .await?;
        let id = str_at(&created, "/id")?;
        let submitted = self
            .post(
                t(2),
                &format!("/api/v1/products/{id}/submit"),
                token,
                json!({}),
            )
            .await?;
        if flagged {
            let finding = &submitted["pending"]["submission"]["findings"][0]["id"];
            let reject = json!({"findings": [finding], "note": "请删除绝对化用语"});
            self.post(
                t(3),
                &format!("/api/v1/review/listings/{id}/reject"),
                &staff.reviewer,
                reject,
            )
            .await?;
            self.send(
                t(4),
                Method::PUT,
                &format!("/api/v1/products/{id}/draft"),
                token,
                None,
                json!({"pricing": pricing, "price": price, "refund_policy": "no_refund",
                       "content": content("稳定可靠的数据备份方案，支持增量备份。")}),
                StatusCode::OK,
            )
            .await?;
            self.post(
                t(5),
                &format!("/api/v1/products/{id}/submit"),
                token,
                json!({}),
            )
            .await?;
        }
        let listed = self
            .post(
                t(6),
                &format!("/api/v1/review/listings/{id}/approve"),
                &staff.reviewer,
                json!({"acknowledged": []}),
            )
            .await?;
        if listed["status"] != "listed" {
            bail!("product {id} not listed: {listed}");
        }
        Ok((
            Product {
                id,
                renewable: saas,
            },
            flagged,
        ))
    }

    /// Buyer `b`'s token, made on first use.
    pub async fn buyer(&self, b: u64) -> Result<String> {
        let kind = json!({"type": "member", "member_kind": "personal"});
        self.user(
            tag(&self.draw, &[3, b]),
            &buyer_email(b),
            &format!("买家{b}"),
            kind,
        )
        .await
    }

    /// A POST the API may refuse for a business reason (404, 409, 422: the store is closed,
    /// the window has ended, it was done already): the answer, or None when refused.
    pub async fn attempt(
        &self,
        tag: u64,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Value,
        expect: StatusCode,
    ) -> Result<Option<Value>> {
        let body = Some((Bytes::from(body.to_string()), "application/json"));
        let answer = self
            .node
            .call(tag, Method::POST, path, token, key, body)
            .await?;
        match answer.status {
            s if s == expect => Ok(Some(answer.body)),
            StatusCode::NOT_FOUND | StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
                Ok(None)
            }
            other => bail!(
                "POST {path}: expected {expect}, got {other}: {}",
                answer.body
            ),
        }
    }

    /// Places an order at `path` (a product, or a renewal) and pays it; the paid order, or
    /// None when it can no longer be bought (its store frozen or closed, the product gone).
    async fn place_and_pay(
        &self,
        labels: [u64; 3],
        path: &str,
        body: Value,
        buyer: &str,
    ) -> Result<Option<Value>> {
        let d = self.draw;
        let [flow, day, j] = labels;
        let Some(placed) = self
            .attempt(
                tag(&d, &[flow, day, j, 1]),
                path,
                buyer,
                None,
                body,
                StatusCode::CREATED,
            )
            .await?
        else {
            return Ok(None);
        };
        let id = str_at(&placed, "/order/id")?;
        let paid = self
            .send(
                tag(&d, &[flow, day, j, 2]),
                Method::POST,
                &format!("/api/v1/orders/{id}/payments"),
                buyer,
                Some(&format!("pay-{flow}-{day}-{j}")),
                json!({}),
                StatusCode::OK,
            )
            .await?;
        if paid["order"]["status"] != "held" && paid["order"]["status"] != "released" {
            bail!("order {id} not paid: {paid}");
        }
        Ok(Some(paid))
    }

    /// Buys product `product`: the order's id and total, or None when it is no longer on sale.
    pub async fn buy(
        &self,
        buyer: &str,
        product: &str,
        day: u64,
        j: u64,
    ) -> Result<Option<(String, i64)>> {
        let body = json!({"product_id": product});
        match self
            .place_and_pay([4, day, j], "/api/v1/orders", body, buyer)
            .await?
        {
            Some(paid) => Ok(Some((
                str_at(&paid, "/order/id")?,
                fen(&str_at(&paid, "/order/total")?)?,
            ))),
            None => Ok(None),
        }
    }

    /// The buyer renews a subscription for the next period and pays: the price paid, or
    /// None when it can no longer be renewed.
    pub async fn renew(&self, buyer: &str, order: &str, day: u64, k: u64) -> Result<Option<i64>> {
        let path = format!("/api/v1/orders/{order}/renewals");
        match self
            .place_and_pay([11, day, k], &path, json!({}), buyer)
            .await?
        {
            Some(paid) => Ok(Some(fen(&str_at(&paid, "/order/total")?)?)),
            None => Ok(None),
        }
    }

    /// The buyer asks for a refund; inside the window the provider accepts and the refund is
    /// paid (the fen refunded), outside it the declared policy refuses (None).
    pub async fn refund(
        &self,
        buyer: &str,
        seller: &str,
        order: &str,
        labels: [u64; 2],
    ) -> Result<Option<i64>> {
        let d = self.draw;
        let [day, k] = labels;
        let t = |step: u64| tag(&d, &[5, day, k, step]);
        let asked = self
            .attempt(
                t(1),
                &format!("/api/v1/orders/{order}/refunds"),
                buyer,
                Some(&format!("refund-{day}-{k}")),
                json!({"note": "不需要了"}),
                StatusCode::OK,
            )
            .await?;
        if asked.is_none() {
            return Ok(None);
        }
        let refunded = self
            .send(
                t(2),
                Method::POST,
                &format!("/api/v1/orders/{order}/refunds/current/acceptance"),
                seller,
                Some(&format!("accept-{day}-{k}")),
                json!({}),
                StatusCode::OK,
            )
            .await?;
        Ok(Some(fen(&str_at(&refunded, "/refunded")?)?))
    }

    /// A complaint on an order; the provider answers within the window or not at all.
    /// Returns the complaint's id.
    pub async fn complain(
        &self,
        buyer: &str,
        seller: &str,
        order: &str,
        labels: [u64; 2],
        answer: bool,
    ) -> Result<String> {
        let d = self.draw;
        let [day, k] = labels;
        let opened = self
            .created(
                tag(&d, &[6, day, k, 1]),
                "/api/v1/complaints",
                buyer,
                json!({"order_id": order, "reason": "not_delivered", "text": "镜像无法启动，客服不回复"}),
            )
            .await?;
        let id = str_at(&opened, "/complaint/id")?;
        if answer {
            self.post(
                tag(&d, &[6, day, k, 2]),
                &format!("/api/v1/complaints/{id}/messages"),
                seller,
                json!({"text": "您好，已安排工程师排查"}),
            )
            .await?;
        }
        Ok(id)
    }

    /// Customer service closes a complaint (dismissed: the provider handled it); one already
    /// closed stays as it is.
    pub async fn close_complaint(&self, staff: &Staff, id: &str, day: u64, k: u64) -> Result<()> {
        self.attempt(
            tag(&self.draw, &[6, day, k, 3]),
            &format!("/api/v1/admin/complaints/{id}/decision"),
            &staff.service,
            Some(&format!("dismiss-{day}-{k}")),
            json!({"decision": "dismiss", "note": "服务商已处理"}),
            StatusCode::OK,
        )
        .await?;
        Ok(())
    }

    /// Compliance opens a case with `code` and establishes it; the provider accepts the
    /// penalty at once or lets the windows run out. Whether it was opened (a provider gone
    /// can no longer be charged).
    pub async fn case(
        &self,
        staff: &Staff,
        p: &Provider,
        code: &str,
        act_on: &str,
        labels: [u64; 2],
    ) -> Result<bool> {
        let d = self.draw;
        let [day, k] = labels;
        let t = |step: u64| tag(&d, &[7, day, k, step]);
        let body = json!({"provider_id": p.id, "code": code, "act_on": act_on,
                          "source": "spot_check", "summary": format!("抽查发现 {code}")});
        let Some(opened) = self
            .attempt(
                t(1),
                "/api/v1/admin/cases",
                &staff.compliance,
                None,
                body,
                StatusCode::CREATED,
            )
            .await?
        else {
            return Ok(false);
        };
        let case = str_at(&opened, "/case/id")?;
        self.post(
            t(2),
            &format!("/api/v1/admin/cases/{case}/finding"),
            &staff.compliance,
            json!({"established": true, "reason": "事实清楚，证据确凿"}),
        )
        .await?;
        if d.chance(Topic::CaseAccepted, &[day, k], 600) {
            self.post(
                t(3),
                &format!("/api/v1/cases/{case}/accept"),
                &p.token,
                json!({}),
            )
            .await?;
        }
        Ok(true)
    }

    /// The buyer asks for an invoice; the provider issues it at once, or (when `issue` is
    /// false) lets the deadline pass. Whether it was requested (not for an order refunded).
    pub async fn invoice(
        &self,
        buyer: &str,
        seller: &str,
        order: &str,
        labels: [u64; 2],
        issue: bool,
    ) -> Result<bool> {
        let d = self.draw;
        let [day, k] = labels;
        let t = |step: u64| tag(&d, &[12, day, k, step]);
        let body = json!({"title": "模拟买家", "title_kind": "personal", "invoice_type": "ordinary",
                          "delivery": {"method": "email", "email": "buyer@buyers.sim"}});
        let Some(requested) = self
            .attempt(
                t(1),
                &format!("/api/v1/orders/{order}/invoice"),
                buyer,
                Some(&format!("invoice-{day}-{k}")),
                body,
                StatusCode::CREATED,
            )
            .await?
        else {
            return Ok(false);
        };
        if issue {
            let id = str_at(&requested, "/invoice/id")?;
            self.post(
                t(2),
                &format!("/api/v1/invoices/{id}/issue"),
                seller,
                json!({"number": format!("{day:04}{k:06}")}),
            )
            .await?;
        }
        Ok(true)
    }

    /// The provider asks to leave the marketplace; whether the exit began.
    pub async fn exit(&self, p: &Provider, day: u64) -> Result<bool> {
        let exited = self
            .attempt(
                tag(&self.draw, &[13, day, p.index]),
                &format!("/api/v1/providers/{}/exit", p.id),
                &p.token,
                Some(&format!("exit-{}", p.index)),
                json!({"reason": "业务调整"}),
                StatusCode::OK,
            )
            .await?;
        Ok(exited.is_some())
    }

    /// Signs the next agreement term; rulebooks whose terms do not end refuse it.
    pub async fn renew_agreement(&self, p: &Provider, agreement: &Value, day: u64) -> Result<()> {
        self.attempt(
            tag(&self.draw, &[10, day, p.index]),
            &format!("/api/v1/providers/{}/agreement-renewals", p.id),
            &p.token,
            None,
            json!({"agreement_id": agreement["id"]}),
            StatusCode::OK,
        )
        .await?;
        Ok(())
    }

    /// Tops the deposit up to what is required; returns the fen paid.
    pub async fn top_up(&self, p: &Provider, day: u64) -> Result<i64> {
        let view = self
            .get(&format!("/api/v1/providers/{}/deposit", p.id), &p.token)
            .await?;
        let shortfall = fen(&str_at(&view, "/shortfall")?)?;
        if shortfall <= 0 || view["status"] == "closed" {
            return Ok(0);
        }
        let amount = str_at(&view, "/shortfall")?;
        self.send(
            tag(&self.draw, &[8, day, p.index]),
            Method::POST,
            &format!("/api/v1/providers/{}/deposit/top-ups", p.id),
            &p.token,
            Some(&format!("top-up-{day}-{}", p.index)),
            json!({"amount": amount}),
            StatusCode::CREATED,
        )
        .await?;
        Ok(shortfall)
    }

    /// Whether the provider can still sell (not frozen, expelled or gone).
    pub async fn standing(&self, p: &Provider) -> Result<Value> {
        self.get(&format!("/api/v1/providers/{}/standing", p.id), &p.token)
            .await
    }

    /// Moves the simulated clock to `to`, firing what falls due; returns the deadlines fired
    /// by kind. Never faulted: a failed deadline would stay pending and fire on a later day.
    pub async fn clock_to(&self, to: &str) -> Result<BTreeMap<String, u64>> {
        let moved = self
            .post(
                super::node::UNFAULTED,
                "/api/v1/admin/clock",
                ADMIN,
                json!({"to": to}),
            )
            .await?;
        if moved["failed"] != json!([]) {
            bail!(
                "deadlines failed moving the clock to {to}: {}",
                moved["failed"]
            );
        }
        Ok(serde_json::from_value(moved["fired"].clone())?)
    }
}

/// Whether a provider's standing shows its store frozen.
pub fn store_frozen(standing: &Value) -> bool {
    standing["stores"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|st| st["state"]["state"] == "frozen")
}
