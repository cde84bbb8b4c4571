//! Text folding and hand-written matching over chars (no regex crate in the core).
//!
//! Folding is one char to one char, so an offset in folded text is the offset in the
//! original: findings point at what the provider actually wrote.

/// Folds one char for matching: full-width ASCII forms (U+FF01–U+FF5E) to ASCII, the
/// ideographic space to a space, and lower case where that is a single char.
pub fn fold_char(c: char) -> char {
    let c = match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// The folded form of a text, char for char: what catalogue search compares (a stored,
/// folded column must be made with this function to agree with [`super::search`]).
pub fn fold(text: &str) -> String {
    text.chars().map(fold_char).collect()
}

/// Folded chars of a text, indexable by char offset.
pub(crate) fn folded_chars(text: &str) -> Vec<char> {
    text.chars().map(fold_char).collect()
}

/// Chars a provider may slip between the letters of a word to dodge a check ("阿 里 云",
/// "阿·里·云", "J.D."): skipped inside a match, never at its start.
pub(crate) fn is_filler(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}'
                ..='\u{200D}'
                    | '\u{2060}'
                    | '\u{FEFF}'
                    | '·'
                    | '・'
                    | '\u{FF65}'
                    | '•'
                    | '‧'
                    | '-'
                    | '_'
                    | '*'
                    | '.'
        )
}

/// A word list entry made ready for matching: folded, fillers removed.
pub(crate) fn pattern(word: &str) -> Vec<char> {
    word.chars()
        .map(fold_char)
        .filter(|c| !is_filler(*c))
        .collect()
}

/// Where a Latin pattern must sit on a word boundary, so "Ali" does not fire inside
/// "quality" nor "JD" inside "JDK". CJK has no word boundaries and needs none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Boundary {
    pub start: bool,
    pub end: bool,
}

impl Boundary {
    pub const BOTH: Boundary = Boundary {
        start: true,
        end: true,
    };
    pub const START: Boundary = Boundary {
        start: true,
        end: false,
    };
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Every match of `pat` in `text` (both folded), as char ranges `start..end`; fillers
/// between matched chars are skipped. Matches may overlap; see [`keep_longest`].
pub(crate) fn find_all(text: &[char], pat: &[char], boundary: Boundary) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let (Some(&first), Some(&last)) = (pat.first(), pat.last()) else {
        return found;
    };
    for start in 0..text.len() {
        if text[start] != first {
            continue;
        }
        if boundary.start
            && is_word_char(first)
            && start > 0
            && text.get(start - 1).is_some_and(|c| is_word_char(*c))
        {
            continue;
        }
        let Some(end) = match_at(text, start, pat) else {
            continue;
        };
        if boundary.end && is_word_char(last) && text.get(end).is_some_and(|c| is_word_char(*c)) {
            continue;
        }
        found.push((start, end));
    }
    found
}

/// The end of a match of `pat` beginning exactly at `start`, skipping fillers inside.
pub(crate) fn match_at(text: &[char], start: usize, pat: &[char]) -> Option<usize> {
    let (mut i, mut k) = (start, 0);
    while k < pat.len() {
        let c = *text.get(i)?;
        if c == pat[k] {
            k += 1;
        } else if k == 0 || !is_filler(c) {
            return None;
        }
        i += 1;
    }
    Some(i)
}

/// Keeps the longest of overlapping matches, earliest first: "阿里云" wins over the "阿里" inside
/// it, so one brand use is one finding.
pub(crate) fn keep_longest<T>(mut matches: Vec<(usize, usize, T)>) -> Vec<(usize, usize, T)> {
    matches.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut kept: Vec<(usize, usize, T)> = Vec::with_capacity(matches.len());
    for m in matches {
        if kept.last().is_some_and(|k| m.0 < k.1) {
            continue;
        }
        kept.push(m);
    }
    kept
}

/// The original text of chars `start..end`.
pub(crate) fn slice_chars(text: &str, start: usize, end: usize) -> String {
    text.chars()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str, word: &str) -> Vec<(usize, usize)> {
        find_all(&folded_chars(text), &pattern(word), Boundary::BOTH)
    }

    #[test]
    fn folding_maps_full_width_and_case_one_char_to_one() {
        assert_eq!(fold("Ａｌｉｂａｂａ　ＡＬＩ"), "alibaba ali");
        assert_eq!(fold("阿里云").chars().count(), 3);
    }

    #[test]
    fn fillers_inside_a_word_are_skipped_but_not_around_it() {
        assert_eq!(find("用 阿 里 云 吧", "阿里云"), vec![(2, 7)]);
        assert_eq!(find("A L I Y U N", "aliyun"), vec![(0, 11)]);
        assert_eq!(find("J.D.", "JD"), vec![(0, 3)]);
    }

    #[test]
    fn latin_words_respect_word_boundaries() {
        assert!(find("quality", "Ali").is_empty());
        assert!(find("JDK 17", "JD").is_empty());
        assert_eq!(find("on Ali Cloud", "Ali"), vec![(3, 6)]);
        assert_eq!(find("用Aliyun部署", "aliyun"), vec![(1, 7)]);
    }

    #[test]
    fn the_longest_overlapping_match_wins() {
        let kept = keep_longest(vec![(0, 2, "阿里"), (0, 3, "阿里云"), (5, 7, "阿里")]);
        assert_eq!(kept, vec![(0, 3, "阿里云"), (5, 7, "阿里")]);
    }
}
