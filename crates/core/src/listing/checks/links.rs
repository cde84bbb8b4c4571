//! Links to sites that are not the operator's (ALI-R art.14(5): "无嵌入非阿里云网站的外部链接地址";
//! TC 4.1.3⑤, JD art.10(5)).

use super::{FindingKind, Hit, Message, OperatorDomains, Severity};

/// Top-level domains a bare `name.tld` must end in to count as a link. Kept short on purpose:
/// "config.json", "README.md" or "main.go" are file names, not sites.
const BARE_TLDS: &[&str] = &[
    "com", "cn", "net", "org", "io", "cc", "co", "me", "top", "xyz", "info", "biz", "vip", "club",
    "site", "online", "tech", "shop", "ltd", "tv", "hk", "tw", "app", "ai", "asia", "wang",
];

/// `text` is the folded text, `original` the same chars as written.
pub(super) fn external_links(
    text: &[char],
    original: &[char],
    domains: &OperatorDomains,
) -> Vec<Hit> {
    // "example。com" is a common dodge; the ideographic full stop reads as a dot here.
    let text: Vec<char> = text
        .iter()
        .map(|c| if *c == '。' { '.' } else { *c })
        .collect();
    let mut hits = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if !text[i].is_ascii_graphic() {
            i += 1;
            continue;
        }
        let start = i;
        while text.get(i).is_some_and(char::is_ascii_graphic) {
            i += 1;
        }
        if let Some((s, e, host)) = link_in_token(&text, original, start, i)
            && !domains.allows(&host)
        {
            hits.push(Hit {
                kind: FindingKind::ExternalLink,
                start: s,
                end: e,
                severity: Severity::Warning,
                message: Message {
                    zh_cn: format!("含有指向非运营方网站的外部链接（{host}）"),
                    en: format!("Links to a site outside the operator's domains ({host})"),
                },
                term: host,
                violation: None,
            });
        }
    }
    hits
}

/// The link inside a run of printable ASCII `start..end`: from `http(s)://`, or a bare
/// `www.…` / `name.tld`. A run holding `@` without a scheme is an e-mail address, left to the
/// contact check.
fn link_in_token(
    text: &[char],
    original: &[char],
    start: usize,
    end: usize,
) -> Option<(usize, usize, String)> {
    let token: String = text[start..end].iter().collect();
    let scheme = ["https://", "http://"]
        .iter()
        .filter_map(|s| token.find(s).map(|at| (at, s.len())))
        .min();
    let (link_start, host_start) = match scheme {
        // The token is ASCII, so byte offsets are char offsets.
        Some((at, len)) => (start + at, start + at + len),
        None if token.contains('@') => return None,
        None => {
            let lead = text[start..end]
                .iter()
                .take_while(|c| !c.is_ascii_alphanumeric())
                .count();
            (start + lead, start + lead)
        }
    };
    let host_len = text[host_start..end]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .count();
    let host: String = text[host_start..host_start + host_len].iter().collect();
    let host = host.trim_end_matches(['.', '-']).to_string();
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return None;
    }
    if scheme.is_none() {
        let www = labels.first() == Some(&"www") && labels.len() >= 3;
        let tld = labels.last().is_some_and(|t| BARE_TLDS.contains(t));
        // A www. address is a link however written; a bare name unless all capitals (ASP.NET).
        let site = www || (tld && !written_in_capitals(original, host_start, host.len()));
        if !site {
            return None;
        }
    }
    let mut link_end = host_start + host.len();
    if text
        .get(link_end)
        .is_some_and(|c| matches!(c, '/' | ':' | '?' | '#'))
    {
        link_end = end;
    }
    while link_end > host_start
        && matches!(
            text[link_end - 1],
            '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '}' | '\'' | '"'
        )
    {
        link_end -= 1;
    }
    Some((link_start, link_end, host))
}

/// "ASP.NET", "VB.NET": a bare name written all in capitals is a product name, not a site.
/// Case is read from the original text (folding keeps offsets, so they line up).
fn written_in_capitals(original: &[char], start: usize, len: usize) -> bool {
    let name = original.get(start..start + len).unwrap_or_default();
    name.iter().any(|c| c.is_uppercase()) && !name.iter().any(|c| c.is_lowercase())
}
