//! Contact details that lead buyers off the platform (ALI-R art.18, TC 4.6, JD art.14):
//! phone numbers, QQ and WeChat ids, e-mail addresses.

use super::{FindingKind, Hit, Message, OperatorDomains, Severity};
use crate::listing::text::{Boundary, find_all, keep_longest, pattern};

/// Words that introduce a QQ number. **[design assumption]**: not in the rulebook.
const QQ_WORDS: &[&str] = &["qq", "扣扣", "企鹅号", "企鹅"];
/// Words that introduce a WeChat id, with the usual evasions. **[design assumption]**.
const WECHAT_WORDS: &[&str] = &[
    "微信", "威信", "薇信", "徽信", "v信", "weixin", "wechat", "vx", "wx",
];
/// Words that introduce a phone number, so a bare 7–8 digit local number also counts.
const PHONE_WORDS: &[&str] = &[
    "电话", "手机", "热线", "座机", "致电", "拨打", "tel", "phone", "mobile",
];
/// What may stand between such a word and the number: "QQ号码：", "微信号: ", "电话是".
const LABELS: &[&str] = &["号码", "群号", "号", "群", "账号", "帐号", "id", "是", "为"];

#[derive(Clone, Copy)]
enum Contact {
    Mobile,
    Landline,
    Hotline,
    Qq,
    Wechat,
    Email,
}

impl Contact {
    fn term(self) -> &'static str {
        match self {
            Contact::Mobile => "mobile_phone",
            Contact::Landline => "landline",
            Contact::Hotline => "hotline",
            Contact::Qq => "qq",
            Contact::Wechat => "wechat",
            Contact::Email => "email",
        }
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            Contact::Mobile => ("手机号码", "mobile phone number"),
            Contact::Landline => ("固定电话", "landline number"),
            Contact::Hotline => ("服务热线", "hotline number"),
            Contact::Qq => ("QQ号", "QQ number"),
            Contact::Wechat => ("微信号", "WeChat id"),
            Contact::Email => ("电子邮箱", "e-mail address"),
        }
    }
}

pub(super) fn off_platform_contacts(text: &[char], domains: &OperatorDomains) -> Vec<Hit> {
    let mut found = Vec::new();
    for (words, contact) in [
        (QQ_WORDS, Contact::Qq),
        (WECHAT_WORDS, Contact::Wechat),
        (PHONE_WORDS, Contact::Landline),
    ] {
        for word in words {
            for (start, end) in find_all(text, &pattern(word), Boundary::START) {
                if let Some((end, c)) = after_word(text, end, contact) {
                    found.push((start, end, c));
                }
            }
        }
    }
    found.extend(phone_numbers(text));
    found.extend(emails(text, domains));
    // A number after "微信" is one WeChat finding, not also a phone finding.
    keep_longest(found)
        .into_iter()
        .map(|(start, end, contact)| {
            let (zh, en) = contact.names();
            Hit {
                kind: FindingKind::OffPlatformContact,
                start,
                end,
                severity: Severity::Serious,
                term: contact.term().to_string(),
                violation: None,
                message: Message {
                    zh_cn: format!("含有{zh}，可能引导用户在云市场之外联系或交易"),
                    en: format!(
                        "Contains a {en}, which may lead buyers to contact or trade off the marketplace"
                    ),
                },
            }
        })
        .collect()
}

/// The id or number after a contact word, if there is one: "QQ号：12345678", "vx abc_123",
/// "电话 8888 6666". A word alone ("支持微信支付") is no contact detail.
fn after_word(text: &[char], mut i: usize, contact: Contact) -> Option<(usize, Contact)> {
    i = skip_spaces(text, i);
    for label in LABELS {
        let label: Vec<char> = label.chars().collect();
        if text.get(i..i + label.len()) == Some(&label[..]) {
            i = skip_spaces(text, i + label.len());
            break;
        }
    }
    let colon = text.get(i) == Some(&':');
    if colon {
        i = skip_spaces(text, i + 1);
    }
    match contact {
        Contact::Qq => (text.get(i) != Some(&'0'))
            .then(|| digits(text, i, 5, 11))
            .flatten()
            .map(|end| (end, Contact::Qq)),
        Contact::Wechat => digits(text, i, 5, 15)
            .or_else(|| wechat_id(text, i, colon))
            .map(|end| (end, Contact::Wechat)),
        _ => {
            let end = digits(text, i, 7, 15)?;
            let number: String = text[i..end].iter().filter(|c| c.is_ascii_digit()).collect();
            let kind = phone_kind(&number).unwrap_or(Contact::Landline);
            Some((end, kind))
        }
    }
}

fn skip_spaces(text: &[char], mut i: usize) -> usize {
    while text.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    i
}

/// `min..=max` digits from `i` (an opening `(` or `+` allowed first), up to two of ` -()`
/// between them, not followed by another digit; the end of the last digit.
fn digits(text: &[char], i: usize, min: usize, max: usize) -> Option<usize> {
    let mut j = i + usize::from(text.get(i).is_some_and(|c| matches!(c, '(' | '+')));
    let (mut count, mut end) = (0, i);
    while let Some(&c) = text.get(j) {
        if c.is_ascii_digit() {
            count += 1;
            j += 1;
            end = j;
            continue;
        }
        let gap = text[j..].iter().take_while(|c| is_separator(**c)).count();
        if count == 0 || gap > 2 || !text.get(j + gap).is_some_and(char::is_ascii_digit) {
            break;
        }
        j += gap;
    }
    (count >= min && count <= max).then_some(end)
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '(' | ')')
}

/// A WeChat id: a letter, then 5–19 letters, digits, `_` or `-`. Without a colon before it,
/// it must hold a digit or `_`, so "WeChat integration" stays prose.
fn wechat_id(text: &[char], i: usize, colon: bool) -> Option<usize> {
    if !text.get(i)?.is_ascii_alphabetic() {
        return None;
    }
    let id_char = |c: &char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
    let len = text[i..].iter().take_while(|c| id_char(c)).count();
    let id = &text[i..i + len];
    let marked = id.iter().any(|c| c.is_ascii_digit() || *c == '_');
    ((6..=20).contains(&len) && (colon || marked)).then_some(i + len)
}

/// Mainland mobile (1[3-9] + 9 digits, optionally after 86 / 0086), landline (0 + area code +
/// local number, 10–12 digits) or 400/800 hotline (10 digits).
fn phone_kind(d: &str) -> Option<Contact> {
    let national = d
        .strip_prefix("0086")
        .or_else(|| d.strip_prefix("86"))
        .filter(|rest| rest.len() == 11)
        .unwrap_or(d);
    let b = national.as_bytes();
    if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
        return Some(Contact::Mobile);
    }
    if b.len() == 10 && (national.starts_with("400") || national.starts_with("800")) {
        return Some(Contact::Hotline);
    }
    if (10..=12).contains(&b.len()) && b[0] == b'0' && b[1] != b'0' {
        return Some(Contact::Landline);
    }
    None
}

/// Phone numbers written without a leading word: runs of digit groups joined by up to two of
/// ` -()+`, e.g. "138 0013 8000", "(010) 8888-6666", "+86 13800138000". Groups are tried
/// left to right so two numbers side by side are two findings.
fn phone_numbers(text: &[char]) -> Vec<(usize, usize, Contact)> {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i].is_ascii_digit() {
            let start = i;
            while text.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            groups.push((start, i));
        } else {
            i += 1;
        }
    }
    let joined = |a: (usize, usize), b: (usize, usize)| {
        let gap = &text[a.1..b.0];
        (1..=2).contains(&gap.len()) && gap.iter().all(|c| is_separator(*c))
    };
    let starts_number = |g: (usize, usize)| {
        g.0 == 0 || {
            let before = text[g.0 - 1];
            !(before.is_ascii_alphabetic() || before == '.' || before == '_')
        }
    };
    let mut found = Vec::new();
    let mut g = 0;
    while g < groups.len() {
        let mut best = None;
        if starts_number(groups[g]) {
            let mut number = String::new();
            for h in g..groups.len() {
                if h > g && !joined(groups[h - 1], groups[h]) {
                    break;
                }
                number.extend(&text[groups[h].0..groups[h].1]);
                if number.len() > 15 {
                    break;
                }
                let ends_word = text
                    .get(groups[h].1)
                    .is_none_or(|c| !(c.is_ascii_alphabetic() || *c == '_'));
                if let Some(kind) = phone_kind(&number).filter(|_| ends_word) {
                    best = Some((h, kind));
                }
            }
        }
        match best {
            Some((h, kind)) => {
                let start = groups[g].0;
                let opener = start > 0 && matches!(text[start - 1], '+' | '(');
                found.push((start - usize::from(opener), groups[h].1, kind));
                g = h + 1;
            }
            None => g += 1,
        }
    }
    found
}

/// `local@domain.tld`, except on the operator's own domains.
fn emails(text: &[char], domains: &OperatorDomains) -> Vec<(usize, usize, Contact)> {
    let local = |c: &char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-');
    let host = |c: &char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-');
    let mut found = Vec::new();
    for (at, _) in text.iter().enumerate().filter(|(_, c)| **c == '@') {
        let start = at - text[..at].iter().rev().take_while(|c| local(c)).count();
        let mut end = at + 1 + text[at + 1..].iter().take_while(|c| host(c)).count();
        while end > at + 1 && matches!(text[end - 1], '.' | '-') {
            end -= 1;
        }
        let domain: String = text[at + 1..end].iter().collect();
        let tld_ok = domain.rsplit_once('.').is_some_and(|(name, tld)| {
            !name.is_empty() && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())
        });
        if start < at && tld_ok && !domains.allows(&domain) {
            found.push((start, end, Contact::Email));
        }
    }
    found
}
