//! Link files in the admin import format (docs/admin-api.md): one
//! `{"domain","slug",…record}` JSON object per line, split only at `\n` as the
//! service splits them (a JSON string may hold U+2028 and other line breaks),
//! numbered as the file's lines so every message names the line to fix.

use qr_edge_core::admin::{import_lines, split_import_line, ImportLine};
use qr_edge_core::record::{record_from_value, DestinationPolicy, LinkRecord, Strictness};
use std::io::Read;
use std::path::Path;

/// The bytes of FILE, or of stdin for `-`.
pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("stdin: {e}"))?;
        Ok(bytes)
    } else {
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The non-blank lines with their 1-based line numbers in the file (core's
/// own splitting, so numbers agree with the service's).
pub fn numbered(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    import_lines(bytes)
}

/// One line split into domain, slug (both lower-cased and checked by core)
/// and the record's JSON; the error names the line.
/// The record keeps the line's field order (core's split may reorder it), so
/// a record written to a file reads as its author wrote it.
pub fn split(number: usize, line: &[u8]) -> Result<ImportLine, String> {
    let mut split = split_import_line(line).map_err(|e| format!("line {number}: {e}"))?;
    if let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_slice(line) {
        fields.shift_remove("domain");
        fields.shift_remove("slug");
        split.record = serde_json::Value::Object(fields);
    }
    Ok(split)
}

/// A line split and its record read as the edge reads stored records
/// (`Strictness::Reader`: unknown fields are ignored, everything else checked).
pub fn parse(number: usize, line: &[u8]) -> Result<(ImportLine, LinkRecord), String> {
    let split = split(number, line)?;
    let record = record_of(number, &split)?;
    Ok((split, record))
}

/// The record of a split line, read as the edge reads stored records.
pub fn record_of(number: usize, split: &ImportLine) -> Result<LinkRecord, String> {
    let policy = DestinationPolicy::open(&split.domain);
    let record = record_from_value(split.record.clone(), Strictness::Reader, &policy)
        .map_err(|e| format!("line {number} ({}/{}): {e}", split.domain, split.slug))?;
    Ok(record)
}
