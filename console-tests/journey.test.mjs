// The console's whole journey in a real browser (Debian's chromium through playwright-core),
// once in each language, each against its own fresh server: a provider applies and is
// admitted, lists a product that passes review; a buyer finds it, checks out with the
// keyboard alone, gets a refund on one order and complains about another; the operator
// moves the simulated clock past the month's cut-off and the provider finds December's
// statement. Every step asserts what the page shows. No request may leave the server's
// host and no response may be a 5xx. Screenshots of each main page go to
// $YUNSHI_SCREENSHOTS/<lang>/ (artifacts/screenshots by default; CI keeps artifacts/).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const binary = process.env.YUNSHI_BIN ?? join(root, "target", "debug", "yunshi");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const screenshots = process.env.YUNSHI_SCREENSHOTS ?? join(root, "artifacts", "screenshots");
const ADMIN_TOKEN = "console-journey-admin-token-0123456789";
const PASSWORD = "journey-password-2026";

// The texts the journey looks for, per language (they come from the console's catalogue).
const T = {
  "zh-CN": {
    apply: "申请入驻", upload: "上传", submitApp: "提交审核", startReview: "开始审核",
    verify: "核验通过", approve: "通过", agreement: "同意并签署", payDeposit: "缴纳保证金",
    createDraft: "保存草稿", submitProduct: "提交上架审核", noFindings: "未发现问题",
    buy: "立即购买", pay: "确认支付", held: "担保中", refundBtn: "申请退款",
    refundRequested: "已申请", acceptRefund: "同意退款", refunded: "已退款",
    holdReasons: "暂扣原因", openComplaint: "未结投诉", noPayee: "未登记收款账户",
    status: "状态", refundedSoFar: "已退款金额", refundState: "退款", missing: "尚缺材料", done: "操作成功",
    sales: "销售额", refunds: "退款", fee: "平台服务费", net: "应结净额", heldFigure: "暂扣", payout: "打款", saleLine: "销售",
    complain: "投诉服务商", reply: "回复", rate: "评价", settlementItems: "结算事项", orderLines: "订单明细", payeeReview: "收款账户审核", advance: "拨动时钟", statements: "结算单",
    newStaff: "添加员工", tokenLogin: "使用令牌登录", signup: "注册并登录", lang: "English",
    logout: "退出登录", loginTitle: "登录云市", complaintOpen: "待服务商响应",
  },
  en: {
    apply: "Apply to sell", upload: "Upload", submitApp: "Submit for review", startReview: "Start review",
    verify: "Mark verified", approve: "Approve", agreement: "Accept and sign", payDeposit: "Pay the deposit",
    createDraft: "Save draft", submitProduct: "Submit for listing review", noFindings: "No findings",
    buy: "Buy now", pay: "Pay now", held: "In escrow", refundBtn: "Ask for a refund",
    refundRequested: "Requested", acceptRefund: "Accept the refund", refunded: "Refunded",
    holdReasons: "Held because of", openComplaint: "an open complaint", noPayee: "no approved receiving account",
    status: "Status", refundedSoFar: "Refunded so far", refundState: "Refund", missing: "Still missing", done: "Done",
    sales: "Sales", refunds: "Refunds", fee: "Platform fee", net: "Net", heldFigure: "Held", payout: "Payout", saleLine: "Sale",
    complain: "Complain about the provider", reply: "Reply", rate: "Rate", settlementItems: "Settlement items", orderLines: "Order lines", payeeReview: "Receiving-account review", advance: "Advance the clock", statements: "Statements",
    newStaff: "Add a staff member", tokenLogin: "Log in with the token", signup: "Sign up and log in", lang: "中文",
    logout: "Log out", loginTitle: "Log in to Yunshi", complaintOpen: "Awaiting the provider",
  },
};

// A tiny valid PDF and PNG for the onboarding materials.
const PDF = Buffer.from("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");
const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082",
  "hex",
);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), "yunshi-console-"));
  const port = await freePort();
  const child = spawn(
    binary,
    ["serve", "--data-dir", dir, "--listen", `127.0.0.1:${port}`, "--clock", "simulated",
     "--start", "2026-12-07T09:00:00+08:00"],
    { env: { ...process.env, YUNSHI_ADMIN_TOKEN: ADMIN_TOKEN, RUST_LOG: "warn" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    // The child prints its instance id; /healthz must answer with it (not another process).
    const printed = /· instance ([0-9a-f]{32})/.exec(log)?.[1];
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok && printed) {
        const { instance } = await r.json();
        if (instance !== printed) {
          child.kill("SIGKILL");
          throw new Error(`${base} answers as instance ${instance}, the child printed ${printed}`);
        }
        return { base, child, dir, log: () => log };
      }
    } catch (e) {
      if (e.message.includes("answers as instance")) throw e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`the server did not start:\n${log}`);
}

/** A browser context that records requests to other hosts and 5xx answers. */
async function watchedContext(browser, base, lang, offHost, serverErrors) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(10000);
  if (lang === "en") {
    await context.addCookies([{ name: "yunshi_lang", value: "en", url: base }]);
  }
  const host = new URL(base).host;
  context.on("request", (req) => {
    const url = new URL(req.url());
    if (url.protocol.startsWith("http") && url.host !== host) offHost.push(req.url());
  });
  context.on("response", (res) => {
    if (res.status() >= 500) serverErrors.push(`${res.status()} ${res.url()}`);
  });
  return context;
}

async function shot(page, lang, name) {
  const dir = join(screenshots, lang);
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** Clicks the submit button with this text inside the form whose id starts with `formPrefix`. */
async function submit(page, text, formPrefix) {
  const form = formPrefix ? page.locator(`form[id^="${formPrefix}"]`) : page.locator("form");
  // A button in a table row is named with its row ("Approve · 云帆旗舰店"): match the start.
  const name = text instanceof RegExp ? text : new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}( · |$)`);
  await form.getByRole("button", { name }).first().click();
  await page.waitForLoadState("load");
}

async function expectText(page, text) {
  await page.getByText(text, { exact: false }).first().waitFor({ state: "visible", timeout: 10000 });
}

async function noErrorBanner(page, step) {
  const errors = await page.locator(".banner-error, .form-error, .field-error").allInnerTexts();
  assert.deepEqual(errors, [], `${step}: the page shows an error`);
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const exactly = (s) => new RegExp(`^\\s*${escapeRe(s)}\\s*$`);

/** `locator`, asserting that it finds exactly one element (waiting a while for the first). */
async function one(locator, what) {
  await locator.first().waitFor({ state: "attached", timeout: 10000 }).catch(() => {});
  const n = await locator.count();
  assert.equal(n, 1, `${what}: expected exactly one element on the page, found ${n}`);
  return locator;
}

/** The text of the value of the details row (dl.details) whose label is exactly `label`. */
async function detail(page, label) {
  const dd = page
    .locator("dl.details > dt")
    .filter({ hasText: exactly(label) })
    .locator("xpath=following-sibling::dd[1]");
  return (await (await one(dd, `the "${label}" detail`)).innerText()).trim();
}

/** The headline figure (dl.stats) whose label is exactly `label`. */
async function stat(page, label) {
  const dd = page
    .locator("dl.stats > div")
    .filter({ has: page.locator("dt", { hasText: exactly(label) }) })
    .locator("dd");
  return (await (await one(dd, `the "${label}" figure`)).innerText()).trim();
}

/** The rows of table `#id` (its empty-table row left out), each keyed by column header. */
async function tableRows(page, id) {
  await one(page.locator(`#${id} table`), `table #${id}`);
  const columns = (await page.locator(`#${id} thead th`).allInnerTexts()).map((c) => c.trim());
  const rows = await page
    .locator(`#${id} tbody tr:not(:has(td.empty))`)
    .evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.innerText.trim())));
  return rows.map((cells) => Object.fromEntries(columns.map((c, i) => [c, cells[i]])));
}

/** Picks `keys` of `row` (to compare a row's figures exactly). */
const pick = (row, keys) => Object.fromEntries(keys.map((k) => [k, row?.[k]]));

async function signup(page, base, name, email, kind, t) {
  await page.goto(`${base}/signup`);
  await page.fill("#signup-display_name", name);
  await page.fill("#signup-email", email);
  await page.fill("#signup-password", PASSWORD);
  await page.selectOption("#signup-kind", kind);
  await submit(page, t.signup);
  await noErrorBanner(page, `sign-up of ${email}`);
  await expectText(page, name);
}

async function journey(lang) {
  const t = T[lang];
  const server = await startServer();
  const browser = await chromium.launch({
    executablePath: browserPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const offHost = [];
  const serverErrors = [];
  const { base } = server;
  try {
    const ctx = () => watchedContext(browser, base, lang, offHost, serverErrors);
    const operator = await (await ctx()).newPage();
    const provider = await (await ctx()).newPage();
    const buyer = await (await ctx()).newPage();

    // The operator administrator signs in with the bootstrap token and adds a reviewer.
    await operator.goto(`${base}/login`);
    assert.equal(await operator.getAttribute("html", "lang"), lang);
    await expectText(operator, t.loginTitle);
    await operator.fill("#token-login-token", ADMIN_TOKEN);
    await submit(operator, t.tokenLogin);
    assert.match(operator.url(), /\/operator$/);
    await shot(operator, lang, "01-operator-dashboard");
    await operator.goto(`${base}/operator/staff`);
    await operator.fill("#new-staff-display_name", "审核员 Reviewer");
    await operator.fill("#new-staff-email", `reviewer-${lang}@operator.test`);
    await operator.fill("#new-staff-password", PASSWORD);
    await operator.selectOption("#new-staff-kind-roles-list", "reviewer");
    await submit(operator, t.newStaff);
    await noErrorBanner(operator, "adding a reviewer");
    await operator.locator(".banner-ok").waitFor();
    const reviewer = await (await ctx()).newPage();
    await reviewer.goto(`${base}/login`);
    await reviewer.fill("#login-email", `reviewer-${lang}@operator.test`);
    await reviewer.fill("#login-password", PASSWORD);
    await submit(reviewer, lang === "en" ? "Log in" : "登录", "login");
    assert.match(reviewer.url(), /\/operator\/onboarding$/, "a reviewer starts at the onboarding queue");

    // A provider signs up as an enterprise, applies, uploads what is missing and submits.
    const store = `云帆旗舰店 ${lang}`;
    await signup(provider, base, `杭州云帆科技 ${lang}`, `owner-${lang}@yunfan.test`, "enterprise", t);
    await provider.goto(`${base}/provider`);
    await provider.fill("#apply-store_name", store);
    await submit(provider, t.apply);
    await noErrorBanner(provider, "applying");
    // An enterprise applicant starts with materials missing; each upload lists one more
    // material and leaves one fewer missing, until none is.
    const stillMissing = async () =>
      (await provider.locator("main p").allInnerTexts()).find((p) => p.startsWith(t.missing));
    const missingCount = (line) => line.slice(line.indexOf(":") + 1).split("、").length;
    let still = await stillMissing();
    assert.ok(still, "the application lists the materials still missing");
    let uploads = 0;
    while (still) {
      assert.ok(uploads < 8, `still missing after ${uploads} uploads: ${still}`);
      await one(provider.locator("#upload-kind"), "the material kind to upload");
      await one(provider.locator("#upload-file"), "the file to upload");
      const kinds = await provider.locator("#upload-kind option").evaluateAll((os) => os.map((o) => o.value));
      const kind = kinds[0];
      await provider.selectOption("#upload-kind", kind);
      const png = kind === "legal_representative_id" || kind === "personal_id";
      await provider.setInputFiles("#upload-file", {
        name: png ? "id.png" : "material.pdf",
        mimeType: png ? "image/png" : "application/pdf",
        buffer: Buffer.concat([png ? PNG : PDF, Buffer.from(`${lang}-${kind}`)]),
      });
      await submit(provider, t.upload);
      await noErrorBanner(provider, `uploading ${kind}`);
      uploads += 1;
      const listed = await tableRows(provider, "materials");
      assert.equal(listed.length, uploads, `after uploading ${kind}, the materials listed`);
      const before = missingCount(still);
      still = await stillMissing();
      assert.equal(still ? missingCount(still) : 0, before - 1, `uploading ${kind} leaves one fewer missing`);
    }
    await shot(provider, lang, "02-provider-onboarding");
    await submit(provider, t.submitApp);
    await noErrorBanner(provider, "submitting the application");

    // The reviewer starts the review, verifies and approves.
    await reviewer.goto(`${base}/operator/onboarding`);
    await expectText(reviewer, store);
    await submit(reviewer, t.startReview, "review-");
    await noErrorBanner(reviewer, "starting the review");
    await shot(reviewer, lang, "03-operator-onboarding-review");
    // Every rulebook wants the applicant verified before approval: the step is there.
    await one(reviewer.locator('form[id^="verify-"]'), "the verification form");
    await submit(reviewer, t.verify, "verify-");
    await noErrorBanner(reviewer, "recording the verification");
    assert.equal((await (await one(reviewer.locator(".banner-ok"), "the verification's confirmation")).innerText()).trim(), t.done);
    await reviewer.locator('form[id^="approve-"] input[type="checkbox"]').first().check();
    await submit(reviewer, t.approve, "approve-");
    await noErrorBanner(reviewer, "approving the application");

    // The provider signs the agreement and pays the deposit: the store opens.
    await provider.goto(`${base}/provider`);
    await submit(provider, t.agreement, "agreement");
    await noErrorBanner(provider, "signing the agreement");
    await submit(provider, t.payDeposit, "deposit");
    await noErrorBanner(provider, "paying the deposit");
    await expectText(provider, store);

    // Operator finance finds the provider's receiving account from its application.
    await operator.goto(`${base}/operator/onboarding`);
    await operator.getByRole("link", { name: store }).click();
    await operator.waitForLoadState("load");
    await expectText(operator, t.payeeReview);
    await noErrorBanner(operator, "looking at the receiving account");

    // A product: the draft's automatic checks are shown before it is submitted.
    const title = `云数据备份 Backup Pro ${lang}`;
    await provider.goto(`${base}/provider/products`);
    await provider.fill("#new-product-content-title", title);
    await provider.selectOption("#new-product-category", "image");
    await provider.fill("#new-product-price", "1000.00");
    await provider.fill("#new-product-content-description", "定时备份云服务器上的数据库与文件，支持增量备份。");
    await provider.fill("#new-product-content-terms", "购买即表示同意本产品服务协议。");
    await provider.fill("#new-product-content-refund_terms", "担保期外不予退款。");
    await provider.fill("#new-product-content-delisting_strategy", "下架后已购用户可继续使用至服务期满。");
    await provider.fill("#new-product-content-attributes-pairs", "部署方式=镜像部署\n操作系统=Linux");
    await provider.fill("#new-product-content-own_product_page", "https://www.yunfan.example/backup");
    await submit(provider, t.createDraft);
    await noErrorBanner(provider, "creating the product");
    await expectText(provider, t.noFindings);
    await shot(provider, lang, "04-provider-product-checks");
    await submit(provider, t.submitProduct, "submit-product");
    await noErrorBanner(provider, "submitting the product");

    // The reviewer lists it.
    await reviewer.goto(`${base}/operator/listings`);
    await expectText(reviewer, title);
    await shot(reviewer, lang, "05-operator-listing-review");
    // A row's buttons say which row they act on.
    await reviewer.getByRole("button", { name: `${t.approve} · ${title}`, exact: true }).waitFor();
    await submit(reviewer, t.approve, "approve-");
    await noErrorBanner(reviewer, "approving the listing");

    // A buyer finds it in the catalogue and buys it twice, the second time by keyboard only.
    await signup(buyer, base, `买家小王 ${lang}`, `wang-${lang}@buyer.test`, "personal", t);
    await buyer.goto(`${base}/?q=${encodeURIComponent("Backup Pro")}`);
    await buyer.getByRole("link", { name: title }).click();
    await buyer.waitForLoadState("load");
    await shot(buyer, lang, "06-buyer-product");
    const productId = buyer.url().split("/").pop();
    await submit(buyer, t.buy, "buy");
    await noErrorBanner(buyer, "placing the first order");
    await submit(buyer, t.pay, "pay");
    await noErrorBanner(buyer, "paying the first order");
    assert.equal(await detail(buyer, t.status), t.held, "the first order, paid");
    assert.equal(await detail(buyer, t.refundedSoFar), "¥0.00", "the first order, paid");
    const firstOrder = buyer.url();

    await buyer.goto(`${base}/?q=${encodeURIComponent("Backup Pro")}`);
    await buyer.getByRole("link", { name: title }).click();
    await buyer.waitForLoadState("load");
    await tabTo(buyer, "#buy-quantity-int");
    const outline = await buyer.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, "none", "the focused field shows its focus");
    await buyer.keyboard.press("Enter");
    await buyer.waitForURL(/\/orders\/[^/]+\/pay$/);
    await shot(buyer, lang, "07-buyer-checkout");
    await tabTo(buyer, "#pay button");
    await buyer.keyboard.press("Enter");
    await buyer.waitForURL(/\/orders\/[^/]+$/);
    await noErrorBanner(buyer, "paying by keyboard");
    assert.equal(await detail(buyer, t.status), t.held, "the second order, paid");
    await buyer.locator("time.countdown").first().waitFor();
    const secondOrder = buyer.url();
    await shot(buyer, lang, "08-buyer-order");

    // A refund on the first order, accepted by the provider.
    await buyer.goto(firstOrder);
    await buyer.fill("#refund-note", "镜像不适合我们的环境");
    await submit(buyer, t.refundBtn, "refund");
    await noErrorBanner(buyer, "asking for a refund");
    assert.equal(await detail(buyer, t.refundState), t.refundRequested, "the refund, asked for");
    assert.equal(await detail(buyer, t.status), t.held, "the order while its refund is asked for");
    await provider.goto(`${base}/provider/orders`);
    await shot(provider, lang, "09-provider-orders");
    await submit(provider, new RegExp(t.acceptRefund), "accept-");
    await noErrorBanner(provider, "accepting the refund");
    // The order page says so by the order's and the refund's status and the amount: the
    // whole ¥1,000.00 back (not by the "Refunded so far" label every order page shows).
    await buyer.goto(firstOrder);
    assert.equal(await detail(buyer, t.status), t.refunded, "the order's status after the refund");
    assert.equal(await detail(buyer, t.refundState), t.refunded, "the refund's status");
    assert.equal(await detail(buyer, t.refundedSoFar), "¥1,000.00", "the amount refunded");
    await shot(buyer, lang, "09b-buyer-refunded");

    // A complaint about the second order; the provider sees its countdown and replies.
    await buyer.goto(secondOrder);
    await buyer.selectOption("#complain-reason", "service_quality");
    await buyer.fill("#complain-text", "备份任务多次失败，客服未回复");
    await submit(buyer, t.complain, "complain");
    await noErrorBanner(buyer, "complaining");
    await provider.goto(`${base}/provider/complaints`);
    await expectText(provider, "备份任务多次失败");
    await provider.locator("time.countdown").first().waitFor();
    await shot(provider, lang, "10-provider-complaints");
    await provider.locator('form[id^="reply-"] input[name="text"]').first().fill("已安排工程师排查");
    await submit(provider, t.reply, "reply-");
    await noErrorBanner(provider, "replying to the complaint");

    // The buyer rates the second order; the review shows on the product's page.
    await buyer.goto(secondOrder);
    await buyer.selectOption("#rate-score-int", "4");
    await buyer.fill("#rate-text", "备份速度快，界面清楚");
    await submit(buyer, t.rate, "rate");
    await noErrorBanner(buyer, "rating");
    await buyer.goto(`${base}/products/${productId}`);
    await expectText(buyer, "备份速度快，界面清楚");

    // The operator moves the clock past December's cut-off: the month is settled.
    await operator.goto(`${base}/operator/clock`);
    await operator.fill("#advance-by", "");
    await operator.fill("#advance-to", "2027-01-03T09:00:00+08:00");
    await submit(operator, t.advance);
    await noErrorBanner(operator, "advancing the clock");
    await expectText(operator, "2027-01-03");
    // The page says what the advance did.
    assert.match(operator.url(), /\/operator\/clock\?from=.*&fired=\d+$/);
    assert.ok(Number(new URL(operator.url()).searchParams.get("fired")) > 0, "deadlines fired");
    await operator.goto(`${base}/operator/complaints`);
    await shot(operator, lang, "11-operator-complaints");
    const secondId = secondOrder.split("/").pop();
    await operator.goto(`${base}/operator/settlement?period=2026-12-01&order=${secondId}`);
    await expectText(operator, t.settlementItems);
    await shot(operator, lang, "12-operator-settlement");
    await operator.goto(`${base}/operator`);
    await shot(operator, lang, "13-operator-dashboard-after");

    // Sessions live on wall time: four simulated weeks later the provider is still signed in.
    await provider.goto(`${base}/provider/statements`);
    assert.match(provider.url(), /\/provider\/statements$/);
    await shot(provider, lang, "14-provider-statements");
    // December: the second order's ¥1,000.00 sale, released from escrow; the refunded first
    // order never left escrow. The commission is ali-2020's default 10%: ¥100.00. The buyer's
    // complaint about that order is still open and finance approved no receiving account, so
    // the ¥900.00 net is held and nothing paid.
    const figures = [t.sales, t.refunds, t.fee, t.heldFigure, t.payout];
    const december = (await tableRows(provider, "statements")).filter((r) => r[Object.keys(r)[0]].startsWith("2026-12-01"));
    assert.equal(december.length, 1, "one December statement");
    assert.deepEqual(pick(december[0], figures), {
      [t.sales]: "¥1,000.00", [t.refunds]: "¥0.00", [t.fee]: "¥100.00", [t.heldFigure]: "¥900.00", [t.payout]: "¥0.00",
    }, "December's statement in the list");
    assert.deepEqual(await tableRows(provider, "payouts"), [], "no payout while held");
    await provider.getByRole("link", { name: /^2026-12-01/ }).click();
    await provider.waitForLoadState("load");
    await shot(provider, lang, "14b-provider-statement");
    const stats = {};
    for (const f of [t.sales, t.refunds, t.fee, t.net, t.heldFigure, t.payout]) stats[f] = await stat(provider, f);
    assert.deepEqual(stats, {
      [t.sales]: "¥1,000.00", [t.refunds]: "¥0.00", [t.fee]: "¥100.00", [t.net]: "¥900.00",
      [t.heldFigure]: "¥900.00", [t.payout]: "¥0.00",
    }, "December's statement's figures");
    const heldBecause = (await provider.locator("main > p").allInnerTexts()).filter((p) => p.startsWith(t.holdReasons));
    assert.deepEqual(heldBecause, [`${t.holdReasons}: ${t.openComplaint}、${t.noPayee}`], "why it is held");
    const lines = await tableRows(provider, "lines");
    assert.equal(lines.length, 1, `one order line: ${JSON.stringify(lines)}`);
    assert.deepEqual(Object.values(lines[0]).slice(1), [t.saleLine, "¥1,000.00", "¥100.00", "¥900.00"], "the sale's line");
    const csvHref = await (await one(provider.locator("main p.links a", { hasText: "CSV" }), "the CSV download")).getAttribute("href");
    const csv = await provider.request.get(`${base}${csvHref}`);
    assert.equal(csv.status(), 200, await csv.text());
    const rows = (await csv.text()).replace(/^\uFEFF/, "").trim().split(/\r?\n/).map((l) => l.split(","));
    const row = (first) => rows.filter((r) => r[0] === first);
    assert.deepEqual(row("订单 order").map((r) => r.slice(3)), [["销售 sale", "1000.00", "100.00", "900.00"]], "the CSV's order line");
    assert.deepEqual(row("合计 total").map((r) => r.slice(4)), [["1000.00", "100.00", "900.00"]], "the CSV's totals: sales, fee, net");
    assert.deepEqual(row("暂停结算 held").map((r) => r[6]), ["-900.00"], `the CSV's hold:\n${await csv.text()}`);
    assert.deepEqual(row("本期打款 payout").map((r) => r[6]), ["0.00"], `the CSV's payout:\n${await csv.text()}`);

    // The other pages a user reaches from the navigation render without errors.
    for (const [page, paths] of [
      [provider, ["/provider/standing", "/provider/deposit", "/provider/invoices", "/provider/webhooks"]],
      [operator, ["/operator/cases", "/operator/deposits", "/operator/notices", "/operator/rulebook", "/operator/listings", "/operator/onboarding"]],
      [buyer, ["/"]],
    ]) {
      for (const path of paths) {
        const res = await page.goto(`${base}${path}`);
        assert.equal(res.status(), 200, `${path} answers 200`);
        await shot(page, lang, `page${path.replaceAll("/", "-") || "-home"}`);
      }
    }

    // At a phone's width the pages still fit: wide tables scroll inside their box.
    await buyer.setViewportSize({ width: 390, height: 844 });
    for (const path of ["/", "/signup", `/products/${productId}`]) {
      await buyer.goto(`${base}${path}`);
      const overflow = await buyer.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} overflows a phone's width by ${overflow}px`);
    }
    await shot(buyer, lang, "15-phone-catalogue");

    // Logging out ends the console session.
    await submit(operator, t.logout);
    await operator.goto(`${base}/operator`);
    assert.match(operator.url(), /\/login/);
  } catch (e) {
    throw new Error(`${e.message}\n--- server log ---\n${server.log().slice(-4000)}`);
  } finally {
    await browser.close();
    server.child.kill("SIGTERM");
    rmSync(server.dir, { recursive: true, force: true });
  }
  assert.deepEqual(offHost, [], "no page asks another host");
  assert.deepEqual(serverErrors, [], "no 5xx on the journey");
}

/** Presses Tab until `selector` has the focus (the keyboard-only path). */
async function tabTo(page, selector) {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press("Tab");
    const there = await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector);
    if (there) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

test("the console journey in zh-CN", { timeout: 240_000 }, () => journey("zh-CN"));
test("the console journey in en", { timeout: 240_000 }, () => journey("en"));
