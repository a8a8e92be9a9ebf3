//! Conditional requests (RFC 9110 §13.1): the entity tags an `If-Match` or
//! `If-None-Match` header lists, and strong and weak comparison against the
//! current `ETag`. Shared by the admin API and the QR images.

/// The entity tags a condition lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagSet {
    /// `*`: any current version.
    Any,
    /// Opaque tags, quotes kept; `W/` kept so that `If-Match` never matches a weak tag.
    Tags(Vec<String>),
}

impl TagSet {
    /// Parses one header value (a list of tags, or `*`).
    pub fn parse(value: &str) -> TagSet {
        if value.trim() == "*" {
            return TagSet::Any;
        }
        TagSet::Tags(
            value
                .split(',')
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect(),
        )
    }

    /// Strong comparison (`If-Match`): a weak tag never matches.
    pub fn matches_strong(&self, current: &str) -> bool {
        match self {
            TagSet::Any => true,
            TagSet::Tags(tags) => tags.iter().any(|t| t == current),
        }
    }

    /// Weak comparison (`If-None-Match`): `W/"1"` matches `"1"`.
    pub fn matches_weak(&self, current: &str) -> bool {
        match self {
            TagSet::Any => true,
            TagSet::Tags(tags) => tags
                .iter()
                .any(|t| t.strip_prefix("W/").unwrap_or(t) == current),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TagSet;

    const TAG: &str = r#""0b7e9606f207f22ed3b7915d13bffd13""#;

    fn weak(header: &str) -> bool {
        TagSet::parse(header).matches_weak(TAG)
    }

    #[test]
    fn strong_and_weak_forms_of_the_tag_match_weakly() {
        assert!(weak(TAG));
        assert!(weak(r#"W/"0b7e9606f207f22ed3b7915d13bffd13""#));
        assert!(weak(r#""a", W/"b" ,"0b7e9606f207f22ed3b7915d13bffd13""#));
        assert!(weak("*"));
        assert!(weak(" * "));
    }

    #[test]
    fn other_tags_and_malformed_values_do_not_match() {
        assert!(!weak(r#""a", W/"b""#));
        assert!(!weak("0b7e9606f207f22ed3b7915d13bffd13"), "unquoted");
        assert!(
            !weak(r#"w/"0b7e9606f207f22ed3b7915d13bffd13""#),
            "W/ is case-sensitive"
        );
        assert!(!weak(r#""0b7e9606f207f22ed3b7915d13bffd1"#), "unterminated");
        assert!(!weak(""));
    }

    #[test]
    fn strong_comparison_never_matches_a_weak_tag() {
        assert!(TagSet::parse(TAG).matches_strong(TAG));
        assert!(!TagSet::parse(r#"W/"0b7e9606f207f22ed3b7915d13bffd13""#).matches_strong(TAG));
        assert!(TagSet::parse("*").matches_strong(TAG));
    }
}
