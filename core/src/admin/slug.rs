//! Random slugs for `POST /_api/v1/links/{domain}`: 8 characters of `0-9a-z`
//! without `i l o u`, which are easy to misread or spell words with. The 32
//! letters take 5 bits each, so 5 random bytes give 8 unbiased characters.

/// The 32 characters of random slugs.
pub const RANDOM_SLUG_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Length of a random slug.
pub const RANDOM_SLUG_LEN: usize = 8;
/// Random bytes one slug takes (8 × 5 bits).
pub const RANDOM_SLUG_BYTES: usize = 5;

/// The slug spelled by 40 random bits.
pub fn random_slug(random: [u8; RANDOM_SLUG_BYTES]) -> String {
    let bits = random
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    (0..RANDOM_SLUG_LEN)
        .rev()
        .map(|i| char::from(RANDOM_SLUG_ALPHABET[((bits >> (5 * i)) & 31) as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::is_valid_slug;

    #[test]
    fn the_alphabet_is_0_9_a_z_without_i_l_o_u() {
        let expected: Vec<u8> = (b'0'..=b'9')
            .chain(b'a'..=b'z')
            .filter(|c| !b"ilou".contains(c))
            .collect();
        assert_eq!(RANDOM_SLUG_ALPHABET.as_slice(), expected.as_slice());
    }

    #[test]
    fn every_5_bit_group_is_one_character() {
        assert_eq!(random_slug([0; 5]), "00000000");
        assert_eq!(random_slug([0xff; 5]), "zzzzzzzz");
        // 00001 00010 00011 00100 00101 00110 00111 01000
        assert_eq!(
            random_slug([
                0b0000_1000,
                0b1000_0110,
                0b0100_0010,
                0b1001_1000,
                0b1110_1000
            ]),
            "12345678"
        );
    }

    #[test]
    fn random_slugs_are_valid_slugs_and_use_every_character() {
        let mut seen = std::collections::BTreeSet::new();
        for n in 0u64..200 {
            let b = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_be_bytes();
            let slug = random_slug([b[0], b[1], b[2], b[3], b[4]]);
            assert_eq!(slug.len(), RANDOM_SLUG_LEN);
            assert!(is_valid_slug(&slug), "{slug}");
            seen.extend(slug.bytes());
        }
        assert_eq!(seen.len(), 32);
    }
}
