//! Optimistic concurrency (RFC 9110 §13): a link's `ETag` is its KV
//! generation, and `If-Match` / `If-None-Match` are checked against it.

use super::AdminError;
use crate::conditional::TagSet;

/// The `ETag` of a stored link: its KV generation, quoted.
pub fn etag(generation: u64) -> String {
    format!("\"{generation}\"")
}

/// The conditions of one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Preconditions {
    if_match: Option<TagSet>,
    if_none_match: Option<TagSet>,
}

impl Preconditions {
    /// From the `If-Match` and `If-None-Match` header values.
    pub fn from_headers(if_match: Option<&str>, if_none_match: Option<&str>) -> Preconditions {
        Preconditions {
            if_match: if_match.map(TagSet::parse),
            if_none_match: if_none_match.map(TagSet::parse),
        }
    }

    /// Whether the request is conditional at all.
    pub fn is_conditional(&self) -> bool {
        self.if_match.is_some() || self.if_none_match.is_some()
    }

    /// Checks a write (`PUT`, `DELETE`) against the current generation (`None`: no link).
    pub fn check_write(&self, current: Option<u64>) -> Result<(), AdminError> {
        let current_tag = current.map(etag);
        if let Some(tags) = &self.if_match {
            match &current_tag {
                None => {
                    return Err(AdminError::PreconditionFailed(
                        "If-Match: the link does not exist".into(),
                    ))
                }
                Some(tag) if !tags.matches_strong(tag) => {
                    return Err(AdminError::PreconditionFailed(format!(
                        "If-Match: the link has changed; its ETag is now {tag}"
                    )))
                }
                Some(_) => {}
            }
        }
        if let (Some(tags), Some(tag)) = (&self.if_none_match, &current_tag) {
            if tags.matches_weak(tag) {
                return Err(AdminError::PreconditionFailed(match tags {
                    TagSet::Any => "If-None-Match: * but the link already exists".into(),
                    TagSet::Tags(_) => format!("If-None-Match: the link's ETag is {tag}"),
                }));
            }
        }
        Ok(())
    }

    /// Whether a `GET` may answer 304 Not Modified.
    pub fn not_modified(&self, current: u64) -> bool {
        self.if_none_match
            .as_ref()
            .is_some_and(|tags| tags.matches_weak(&etag(current)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pre(if_match: Option<&str>, if_none_match: Option<&str>) -> Preconditions {
        Preconditions::from_headers(if_match, if_none_match)
    }

    #[test]
    fn etags_are_quoted_generations() {
        assert_eq!(etag(1_700_000_000_123), "\"1700000000123\"");
    }

    #[test]
    fn unconditional_writes_always_pass() {
        assert!(!pre(None, None).is_conditional());
        assert!(pre(None, None).check_write(None).is_ok());
        assert!(pre(None, None).check_write(Some(7)).is_ok());
    }

    #[test]
    fn if_match_needs_the_current_generation() {
        assert!(pre(Some("\"7\""), None).check_write(Some(7)).is_ok());
        assert!(pre(Some("\"6\", \"7\""), None).check_write(Some(7)).is_ok());
        assert_eq!(
            pre(Some("\"6\""), None)
                .check_write(Some(7))
                .unwrap_err()
                .status(),
            412
        );
        assert_eq!(
            pre(Some("W/\"7\""), None)
                .check_write(Some(7))
                .unwrap_err()
                .status(),
            412
        );
        assert_eq!(
            pre(Some("\"7\""), None)
                .check_write(None)
                .unwrap_err()
                .status(),
            412
        );
        assert!(pre(Some("*"), None).check_write(Some(1)).is_ok());
        assert_eq!(
            pre(Some("*"), None).check_write(None).unwrap_err().status(),
            412
        );
    }

    #[test]
    fn if_none_match_star_only_creates() {
        assert!(pre(None, Some("*")).check_write(None).is_ok());
        assert_eq!(
            pre(None, Some("*"))
                .check_write(Some(1))
                .unwrap_err()
                .status(),
            412
        );
        assert!(pre(None, Some("\"1\"")).check_write(Some(2)).is_ok());
        assert_eq!(
            pre(None, Some("W/\"2\""))
                .check_write(Some(2))
                .unwrap_err()
                .status(),
            412
        );
    }

    #[test]
    fn reads_are_not_modified_when_the_tag_matches() {
        assert!(pre(None, Some("\"5\"")).not_modified(5));
        assert!(pre(None, Some("W/\"5\"")).not_modified(5));
        assert!(!pre(None, Some("\"4\"")).not_modified(5));
        assert!(!pre(None, None).not_modified(5));
    }
}
