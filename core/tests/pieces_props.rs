//! Property tests of piece codes (docs/links.md, "Piece codes"): whatever a
//! destination with `{piece}` looks like, once the validator has accepted it,
//! no piece the record allows can change where it leads: every answer passes
//! the destination policy (the allow-list included) and keeps the host of the
//! base slug's answer.

use proptest::prelude::*;
use qr_edge_core::destination::{validate_destination, DestinationPolicy, HostPattern};
use qr_edge_core::pieces::piece_code;
use qr_edge_core::record::{parse_record, Strictness};

/// Destinations with `{piece}` put anywhere: a valid URL with the
/// placeholder inserted once or twice at any position (every position of
/// scheme, user-info, host, port, path, query and fragment), or URL-ish text
/// built from the delimiters a URL parser treats specially.
fn url_text() -> impl Strategy<Value = String> {
    let templates = prop_oneof![
        Just("https://example.com/x?y=1#z"),
        Just("https://a.example.com:8443/p/q"),
        Just("http://www.example.com"),
        Just("https://u:p@example.com/"),
        Just("https://example.com?q#f"),
        Just("https:example.com\\x"),
        Just("https://0x7f.1/"),
    ];
    let inserted = (
        templates,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(template, first, second, twice)| {
            let mut url = template.to_owned();
            url.insert_str(first.index(url.len() + 1), "{piece}");
            if twice {
                url.insert_str(second.index(url.len() + 1), "{piece}");
            }
            url
        });
    let part = prop_oneof![
        Just("{piece}"),
        Just("example.com"),
        Just("www."),
        Just("evil.test"),
        Just("."),
        Just(":"),
        Just("@"),
        Just("/"),
        Just("\\"),
        Just("?"),
        Just("#"),
        Just("%"),
        Just("%2f"),
        Just("443"),
        Just("0x"),
        Just("["),
        Just("]"),
        Just("a"),
        Just("="),
    ];
    let built = (
        prop_oneof![Just("https://"), Just("http://"), Just("https:"), Just("")],
        proptest::collection::vec(part, 1..9),
    )
        .prop_map(|(scheme, parts)| format!("{scheme}{}", parts.concat()));
    prop_oneof![3 => inserted, 1 => built]
}

fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok()?.host_str().map(str::to_owned)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn no_allowed_piece_moves_an_accepted_destination(
        url in url_text(),
        max_length in 1u32..=32,
        pieces in proptest::collection::vec("[a-z0-9]{1,32}", 1..6),
    ) {
        let patterns = [
            HostPattern::parse("example.com").unwrap(),
            HostPattern::parse("*.example.com").unwrap(),
        ];
        let policy = DestinationPolicy {
            allowed_hosts: Some(&patterns),
            ..DestinationPolicy::open("go.example.com")
        };
        let body = serde_json::json!({ "url": url, "pieces": { "max_length": max_length } }).to_string();
        for strictness in [Strictness::Admin, Strictness::Reader] {
            let Ok(record) = parse_record(body.as_bytes(), strictness, &policy) else { continue };
            let base = record.for_piece("");
            prop_assert!(validate_destination("url", &base.url, &policy).is_ok(), "{url}");
            let host = host_of(&base.url);
            for piece in pieces.iter().filter(|p| p.len() <= max_length as usize) {
                let answered = record.for_piece(piece);
                prop_assert!(
                    validate_destination("url", &answered.url, &policy).is_ok(),
                    "{url} with piece {piece}: {}", answered.url
                );
                prop_assert_eq!(host_of(&answered.url), host.clone(), "{} with piece {}", url, piece);
            }
        }
    }

    #[test]
    fn a_piece_code_splits_back_into_its_parts(
        base in "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?",
        piece in "[a-z0-9]{1,40}",
    ) {
        let slug = format!("{base}-{piece}");
        let code = piece_code(&slug);
        if piece.len() <= 32 && !base.ends_with('-') {
            let code = code.expect("a piece code");
            prop_assert_eq!((code.base, code.piece), (base.as_str(), piece.as_str()));
        } else {
            prop_assert!(code.is_none(), "{slug}");
        }
    }
}

#[test]
fn the_generated_urls_reach_accepted_placeholders() {
    // The property above is not vacuous: such URLs are accepted.
    let any = DestinationPolicy::open("go.example.com");
    for url in [
        "https://example.com/{piece}",
        "https://www.example.com?{piece}#{piece}",
    ] {
        let body = serde_json::json!({ "url": url, "pieces": { "max_length": 4 } }).to_string();
        assert!(
            parse_record(body.as_bytes(), Strictness::Admin, &any).is_ok(),
            "{url}"
        );
    }
}
