//! Check digits of the identity numbers a member verifies with: the 18-digit resident
//! identity card number (GB 11643-1999, ISO 7064 MOD 11-2) and the 18-character unified
//! social credit code of an organisation (统一社会信用代码, GB 32100-2015, MOD 31). A check
//! digit catches typing mistakes; whether the number belongs to the person is the
//! reviewer's call.

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// An 18-character resident identity card number with a correct check character
/// (upper-case `X` for 10; a lower-case `x` is accepted and should be upper-cased first).
pub fn is_valid_resident_id(number: &str) -> bool {
    let bytes = number.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = bytes[..17]
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let expected = ID_CHECK[(sum % 11) as usize];
    bytes[17].to_ascii_uppercase() == expected
}

const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// An 18-character unified social credit code (upper case) with a correct check character.
pub fn is_valid_credit_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    if bytes.len() != 18 {
        return false;
    }
    let value = |b: u8| USCC_CHARS.iter().position(|&c| c == b);
    let mut sum = 0u32;
    for (b, w) in bytes[..17].iter().zip(USCC_WEIGHTS) {
        match value(*b) {
            Some(v) => sum += v as u32 * w,
            None => return false,
        }
    }
    let check = (31 - sum % 31) % 31;
    value(bytes[17]) == Some(check as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id_check_character_is_verified() {
        assert!(is_valid_resident_id("11010519491231002X"));
        assert!(is_valid_resident_id("11010519491231002x"));
        assert!(is_valid_resident_id("440524188001010014"));
        assert!(!is_valid_resident_id("110105194912310021"));
        assert!(!is_valid_resident_id("11010519491231002"));
        assert!(!is_valid_resident_id("1101051949123100２X"));
        assert!(!is_valid_resident_id("A1010519491231002X"));
    }

    #[test]
    fn credit_code_check_character_is_verified() {
        assert!(is_valid_credit_code("91350100M000100Y43"));
        assert!(is_valid_credit_code("911100007109288314"));
        assert!(!is_valid_credit_code("91350100M000100Y44"));
        assert!(!is_valid_credit_code("91350100M000100Y4"));
        assert!(!is_valid_credit_code("91350100I000100Y43"));
    }
}
