//! Time as the contract writes it: RFC 3339 in records and rules, RFC 3339 UTC
//! with milliseconds in scan events. Internally a scan time is Unix milliseconds.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds since the Unix epoch, UTC.
pub type UnixMillis = i64;

/// What a record's timestamps must look like, for error messages.
pub const TIMESTAMP_EXPECTED: &str = "must be an RFC 3339 timestamp such as 2026-03-01T00:00:00Z";

/// An instant of a record (`valid_from`, a rule's `after`): parsed once when
/// the record is read, written back exactly as its author wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    millis: UnixMillis,
    text: String,
}

impl Timestamp {
    /// Parses RFC 3339 text (any offset).
    pub fn parse(text: &str) -> Option<Timestamp> {
        Some(Timestamp {
            millis: parse_rfc3339(text)?,
            text: text.to_owned(),
        })
    }

    /// The instant, Unix milliseconds.
    pub fn millis(&self) -> UnixMillis {
        self.millis
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).ok_or_else(|| serde::de::Error::custom(TIMESTAMP_EXPECTED))
    }
}

/// Parses an RFC 3339 timestamp (any offset) into Unix milliseconds.
pub fn parse_rfc3339(text: &str) -> Option<UnixMillis> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Formats Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`, the scan event's `ts`.
pub fn format_millis(millis: UnixMillis) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utc_and_offsets_to_the_same_instant() {
        let utc = parse_rfc3339("2026-03-01T00:00:00Z").unwrap();
        let cet = parse_rfc3339("2026-03-01T01:00:00+01:00").unwrap();
        assert_eq!(utc, cet);
        assert_eq!(utc, 1_772_323_200_000);
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for bad in ["", "2026-03-01", "yesterday", "2026-13-01T00:00:00Z"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_keep_their_text_and_refuse_bad_values() {
        let t: Timestamp = serde_json::from_str("\"2026-03-01T01:00:00+01:00\"").unwrap();
        assert_eq!(t.millis(), 1_772_323_200_000);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-03-01T01:00:00+01:00\""
        );
        let e = serde_json::from_str::<Timestamp>("\"soon\"").unwrap_err();
        assert!(e.to_string().starts_with(TIMESTAMP_EXPECTED), "{e}");
    }

    #[test]
    fn formats_with_milliseconds_in_utc() {
        assert_eq!(format_millis(1_772_323_200_123), "2026-03-01T00:00:00.123Z");
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
    }
}
