//! `yunshi serve --demo`: the first start seeds a living marketplace and prints its URLs and
//! logins; each printed login opens its role's console; a second start reuses the data.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

const PASSWORD: &str = "yunshi-demo-2026";

struct Demo {
    child: Child,
    base: String,
    /// (role, e-mail) as printed.
    logins: Vec<(String, String)>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the demo and reads its announcement (the seeding may take a while in debug).
fn start(dir: &std::path::Path) -> Demo {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_yunshi"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut logins = Vec::new();
    let mut base = String::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(300))
            .expect("the demo announces itself");
        if let Some(rest) = line.split("Yunshi demo marketplace — ").nth(1) {
            base = rest.trim().trim_end_matches('/').to_owned();
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(email) = words.last().filter(|w| w.contains('@')) {
            let url = words.iter().find(|w| w.starts_with("http")).unwrap();
            logins.push((url.to_string(), (*email).to_owned()));
        }
        if line.contains(PASSWORD) {
            break;
        }
    }
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    Demo {
        child,
        base,
        logins,
    }
}

async fn log_in_and_open(client: &reqwest::Client, base: &str, email: &str, page: &str) -> String {
    let session = log_in(client, base, email, page).await;
    let res = client
        .get(format!("{base}{page}"))
        .header(COOKIE, session)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{email} opens {page}");
    res.text().await.unwrap()
}

/// Logs `email` in, to be sent on to `next`, and returns its session cookie (`name=value`).
async fn log_in(client: &reqwest::Client, base: &str, email: &str, next: &str) -> String {
    let login = client.get(format!("{base}/login")).send().await.unwrap();
    let html = login.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = &html[at..at + 32];
    let res = client
        .post(format!("{base}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("csrf", csrf),
            ("email", email),
            ("password", PASSWORD),
            ("next", next),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{email} logs in");
    assert_eq!(res.headers()[LOCATION], next);
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// The console links of `html` under one of `sections`, without a query (a query may be an
/// act, such as revealing an account) and with one page per shape (ids taken out).
fn page_links(html: &str, sections: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for part in html.split("href=\"").skip(1) {
        let Some(link) = part.split('"').next() else {
            continue;
        };
        if link.contains('?') || !sections.iter().any(|s| link.starts_with(s)) {
            continue;
        }
        out.push(link.to_owned());
    }
    out
}

/// A page's path with every id-like segment (a UUID, an order number) as `{id}`.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.len() >= 8 && seg.chars().any(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Opens every page a role reaches from its navigation — each list and one record of each
/// kind it links to — in zh-CN and en. Each answers 200 with no error banner (a read that
/// failed would show one instead of an empty list), or 403 for a desk the role may not use.
async fn every_page_shows_its_data_or_says_why(
    client: &reqwest::Client,
    base: &str,
    session: &str,
    start: &[&str],
    sections: &[&str],
) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    let mut queue: Vec<String> = start.iter().map(|s| s.to_string()).collect();
    let mut opened = 0;
    while let Some(page) = queue.pop() {
        if !seen.insert(shape(&page)) {
            continue;
        }
        for lang in ["zh-CN", "en"] {
            let res = client
                .get(format!("{base}{page}"))
                .header(COOKIE, format!("{session}; yunshi_lang={lang}"))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let html = res.text().await.unwrap();
            opened += 1;
            match status {
                200 => {
                    let error = html
                        .split("banner-error")
                        .nth(1)
                        .map(|rest| rest.chars().take(300).collect::<String>());
                    assert!(error.is_none(), "{page} ({lang}) shows an error: {error:?}");
                    if lang == "en" {
                        queue.extend(page_links(&html, sections));
                    }
                }
                403 => {}
                other => panic!("{page} ({lang}) answered {other}"),
            }
        }
    }
    opened
}

#[tokio::test]
async fn the_demo_seeds_a_marketplace_and_every_printed_login_opens_its_console() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let demo = start(dir.path());
    assert!(demo.logins.len() >= 7, "{:?}", demo.logins);
    let catalogue = client
        .get(format!("{}/", demo.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        catalogue.contains("/products/"),
        "the catalogue lists products"
    );
    for (url, email) in &demo.logins {
        let page = url.strip_prefix(&demo.base).unwrap();
        let html = log_in_and_open(&client, &demo.base, email, page).await;
        assert!(!html.contains("banner-error"), "{page} as {email}");
    }
    // Every page of every role: its data, or a page that says why not.
    let operator_pages = [
        "/operator",
        "/operator/onboarding",
        "/operator/listings",
        "/operator/complaints",
        "/operator/cases",
        "/operator/deposits",
        "/operator/settlement",
        "/operator/notices",
        "/operator/rulebook",
        "/operator/staff",
        "/operator/clock",
    ];
    let provider_pages = [
        "/provider",
        "/provider/products",
        "/provider/orders",
        "/provider/complaints",
        "/provider/standing",
        "/provider/deposit",
        "/provider/statements",
        "/provider/invoices",
        "/provider/webhooks",
    ];
    for (url, email) in &demo.logins {
        let landing = url.strip_prefix(&demo.base).unwrap();
        let (start, sections): (&[&str], &[&str]) = if landing.starts_with("/operator") {
            (&operator_pages, &["/operator"])
        } else if landing.starts_with("/provider") {
            (&provider_pages, &["/provider"])
        } else {
            (&["/orders", "/"], &["/orders", "/products/"])
        };
        let session = log_in(&client, &demo.base, email, start[0]).await;
        let opened =
            every_page_shows_its_data_or_says_why(&client, &demo.base, &session, start, sections)
                .await;
        assert!(opened >= 2 * start.len(), "{email} opened {opened} pages");
    }
    // The buyer's orders and the provider's centre are not empty.
    let buyer = demo
        .logins
        .iter()
        .find(|(u, _)| u.ends_with("/orders"))
        .unwrap();
    let orders = log_in_and_open(&client, &demo.base, &buyer.1, "/orders").await;
    assert!(orders.contains("/orders/0"), "the demo buyer has orders");
    let admin = &demo.logins[0];
    let cases = log_in_and_open(&client, &demo.base, &admin.1, "/operator/cases").await;
    assert!(cases.contains("ALI-"), "the demo has violation cases");
    assert!(
        cases.contains("name=\"established:bool\"") && !cases.contains("checked"),
        "a finding is chosen on the case desk, nothing pre-ticked"
    );
    drop(demo);

    // A second start reuses the seeded data at once.
    let began = std::time::Instant::now();
    let again = start(dir.path());
    assert!(began.elapsed() < Duration::from_secs(30));
    assert_eq!(again.logins.len(), 7);
}
