//! Cookies behind TLS (`secure_cookies = true`, for a deployment served over https by a
//! proxy): every cookie the console sets leaves as `__Host-<name>` with `Secure`, so the
//! browser sends it only over https, only to this host, and no sibling host or plain-http
//! page can plant one; of the cookies a request brings, only those so prefixed are read.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

const PREFIX: &str = "__Host-";

/// The middleware: on when `on` is true, otherwise it passes everything as it is.
pub async fn apply(State(on): State<bool>, mut req: Request, next: Next) -> Response {
    if !on {
        return next.run(req).await;
    }
    read_prefixed_only(req.headers_mut());
    let mut res = next.run(req).await;
    set_prefixed_and_secure(res.headers_mut());
    res
}

/// The request's `Cookie` headers with only the `__Host-` cookies, their prefix taken off.
fn read_prefixed_only(headers: &mut HeaderMap) {
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(PREFIX).map(str::to_owned))
        .collect();
    headers.remove(header::COOKIE);
    if let Ok(v) = HeaderValue::from_str(&kept.join("; "))
        && !kept.is_empty()
    {
        headers.insert(header::COOKIE, v);
    }
}

/// Every `Set-Cookie` renamed `__Host-<name>` and marked `Secure` (all the console's cookies
/// already have `Path=/` and no `Domain`, as the prefix requires).
fn set_prefixed_and_secure(headers: &mut HeaderMap) {
    let rewritten: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| HeaderValue::from_str(&format!("{PREFIX}{v}; Secure")).ok())
        .collect();
    if rewritten.is_empty() {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for v in rewritten {
        headers.append(header::SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_tls_cookies_are_set_host_prefixed_and_secure() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("yunshi_session=abc; Path=/; HttpOnly; SameSite=Lax"),
        );
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("yunshi_lang=en; Path=/"),
        );
        set_prefixed_and_secure(&mut headers);
        let set: Vec<&str> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            set,
            [
                "__Host-yunshi_session=abc; Path=/; HttpOnly; SameSite=Lax; Secure",
                "__Host-yunshi_lang=en; Path=/; Secure"
            ]
        );
    }

    #[test]
    fn behind_tls_only_host_prefixed_cookies_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static(
                "yunshi_session=planted; __Host-yunshi_session=real; __Host-yunshi_lang=en",
            ),
        );
        read_prefixed_only(&mut headers);
        assert_eq!(
            headers[header::COOKIE],
            "yunshi_session=real; yunshi_lang=en"
        );
        let mut none = HeaderMap::new();
        none.insert(
            header::COOKIE,
            HeaderValue::from_static("yunshi_session=planted"),
        );
        read_prefixed_only(&mut none);
        assert!(none.get(header::COOKIE).is_none());
    }
}
