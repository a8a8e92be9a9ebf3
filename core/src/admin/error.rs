//! Every way an admin request can fail, with its HTTP status and the field it
//! names. The edge shell turns these into RFC 9457 problem documents in one place.

use crate::record::RecordError;
use std::fmt;

/// An admin request refused or failed. Each variant knows its status, its
/// problem title and the offending field, if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    /// Missing or wrong bearer token (401, `WWW-Authenticate: Bearer`).
    Unauthorized,
    /// No such admin route (404).
    UnknownRoute,
    /// A known route with another method (405 with `Allow`).
    MethodNotAllowed {
        /// The `Allow` header value.
        allow: &'static str,
    },
    /// The link does not exist (404).
    LinkNotFound,
    /// The domain in the path or an import line is not a host this service serves (400, `domain`).
    InvalidDomain(String),
    /// The slug in the path or an import line is not a valid slug (400, `slug`).
    InvalidSlug(String),
    /// A query parameter is malformed or unknown (400, the parameter's name).
    InvalidParameter {
        /// The parameter.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A field of a JSON body other than a record is malformed or unknown (400, the field's name).
    InvalidField {
        /// The field.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The body is not JSON (400).
    MalformedJson(String),
    /// The record breaks the contract (400, the record field's path).
    InvalidRecord(RecordError),
    /// The body's media type is not the one the route takes (415).
    UnsupportedMediaType {
        /// The media type expected.
        expected: &'static str,
    },
    /// The body is over 1 MiB, or an import has more lines than
    /// [`crate::admin::MAX_IMPORT_LINES`] (413).
    TooLarge(String),
    /// `If-Match` / `If-None-Match` does not hold (412).
    PreconditionFailed(String),
    /// Concurrent writers kept changing the link; the write was not made (409).
    Conflict(String),
    /// The domain has no `destination_hosts` allow-list, so no write is taken (409, `destination_hosts`).
    NoAllowList,
    /// The stored value is not a valid record (409, the record field's path).
    StoredRecordInvalid(RecordError),
    /// The `links` KV store is missing or failed, or randomness failed (503).
    Unavailable(String),
}

impl AdminError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            AdminError::Unauthorized => 401,
            AdminError::UnknownRoute | AdminError::LinkNotFound => 404,
            AdminError::MethodNotAllowed { .. } => 405,
            AdminError::InvalidDomain(_)
            | AdminError::InvalidSlug(_)
            | AdminError::InvalidParameter { .. }
            | AdminError::InvalidField { .. }
            | AdminError::MalformedJson(_)
            | AdminError::InvalidRecord(_) => 400,
            AdminError::UnsupportedMediaType { .. } => 415,
            AdminError::TooLarge(_) => 413,
            AdminError::PreconditionFailed(_) => 412,
            AdminError::Conflict(_)
            | AdminError::NoAllowList
            | AdminError::StoredRecordInvalid(_) => 409,
            AdminError::Unavailable(_) => 503,
        }
    }

    /// The problem document's `title`: the same for every instance of a kind.
    pub fn title(&self) -> &'static str {
        match self {
            AdminError::Unauthorized => "Missing or wrong bearer token",
            AdminError::UnknownRoute => "No such admin route",
            AdminError::MethodNotAllowed { .. } => "Method not allowed",
            AdminError::LinkNotFound => "No such link",
            AdminError::InvalidDomain(_) => "Invalid domain",
            AdminError::InvalidSlug(_) => "Invalid slug",
            AdminError::InvalidParameter { .. } => "Invalid query parameter",
            AdminError::InvalidField { .. } => "Invalid field",
            AdminError::MalformedJson(_) => "Malformed JSON",
            AdminError::InvalidRecord(_) => "Invalid link record",
            AdminError::UnsupportedMediaType { .. } => "Unsupported media type",
            AdminError::TooLarge(_) => "Request body too large",
            AdminError::PreconditionFailed(_) => "Precondition failed",
            AdminError::Conflict(_) => "Concurrent change",
            AdminError::NoAllowList => "No destination allow-list",
            AdminError::StoredRecordInvalid(_) => "Stored value is not a valid record",
            AdminError::Unavailable(_) => "Service unavailable",
        }
    }

    /// The offending field or parameter (the problem document's `field`).
    pub fn field(&self) -> Option<&str> {
        match self {
            AdminError::InvalidDomain(_) => Some("domain"),
            AdminError::InvalidSlug(_) => Some("slug"),
            AdminError::InvalidParameter { name, .. } | AdminError::InvalidField { name, .. } => {
                Some(name)
            }
            AdminError::NoAllowList => Some(crate::settings::fields::DESTINATION_HOSTS),
            AdminError::InvalidRecord(e) | AdminError::StoredRecordInvalid(e) => Some(&e.field),
            _ => None,
        }
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminError::Unauthorized => f.write_str("send Authorization: Bearer <admin_token>"),
            AdminError::UnknownRoute => {
                f.write_str("no such route under /_api/v1; see /_api/v1/openapi.json")
            }
            AdminError::MethodNotAllowed { allow } => write!(f, "this route takes {allow}"),
            AdminError::LinkNotFound => f.write_str("no link with this domain and slug"),
            AdminError::InvalidDomain(problem) => write!(f, "domain: {problem}"),
            AdminError::InvalidSlug(problem) => write!(f, "slug: {problem}"),
            AdminError::InvalidParameter { name, problem }
            | AdminError::InvalidField { name, problem } => write!(f, "{name}: {problem}"),
            AdminError::MalformedJson(problem) => {
                write!(f, "the body is not valid JSON: {problem}")
            }
            AdminError::InvalidRecord(e) => write!(f, "{e}"),
            AdminError::UnsupportedMediaType { expected } => {
                write!(f, "send Content-Type: {expected}")
            }
            AdminError::TooLarge(problem) => f.write_str(problem),
            AdminError::PreconditionFailed(problem) => f.write_str(problem),
            AdminError::Conflict(problem) => f.write_str(problem),
            AdminError::NoAllowList => f.write_str(
                "destination_hosts is not set for this domain: set an allow-list in the settings (\"*\" allows any host) before writing links",
            ),
            AdminError::StoredRecordInvalid(e) => write!(f, "{e}; replace it with PUT"),
            AdminError::Unavailable(problem) => f.write_str(problem),
        }
    }
}

impl std::error::Error for AdminError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_errors_name_their_field() {
        let e = AdminError::InvalidRecord(RecordError {
            field: "rules[0].url".into(),
            problem: "bad".into(),
        });
        assert_eq!((e.status(), e.field()), (400, Some("rules[0].url")));
        assert_eq!(e.to_string(), "rules[0].url: bad");
    }

    #[test]
    fn statuses_follow_the_contract() {
        assert_eq!(AdminError::Unauthorized.status(), 401);
        assert_eq!(AdminError::TooLarge("x".into()).status(), 413);
        assert_eq!(
            AdminError::UnsupportedMediaType {
                expected: "application/json"
            }
            .status(),
            415
        );
        assert_eq!(AdminError::PreconditionFailed("x".into()).status(), 412);
        assert_eq!(
            (
                AdminError::NoAllowList.status(),
                AdminError::NoAllowList.field()
            ),
            (409, Some("destination_hosts"))
        );
        assert_eq!(
            AdminError::InvalidDomain("x".into()).field(),
            Some("domain")
        );
        assert_eq!(AdminError::InvalidSlug("x".into()).field(), Some("slug"));
        let limit = AdminError::InvalidParameter {
            name: "limit".into(),
            problem: "x".into(),
        };
        assert_eq!((limit.status(), limit.field()), (400, Some("limit")));
    }
}
