//! Owns the non-image checks of `qr_edge_core::qr`: query parsing and its
//! errors, the minimum symbol version against the ISO/IEC 18004 capacity
//! table, `ETag`s, content types, and the never-panics properties.

use proptest::prelude::*;
use qr_edge_core::qr::{
    content_type, etag, render, short_url_text, symbol_version, Ecc, ImageFormat, ParamError,
    QrError, QrOptions,
};

// ---------------------------------------------------------------- from_query

#[test]
fn empty_query_gives_the_documented_defaults() {
    let d = QrOptions::from_query("").expect("empty is fine");
    assert_eq!(d, QrOptions::default());
    assert_eq!(
        d,
        QrOptions {
            ecc: Ecc::M,
            margin: 4,
            size: 512,
            fg: [0, 0, 0],
            bg: [255, 255, 255]
        }
    );
}

#[test]
fn every_parameter_is_parsed() {
    let o = QrOptions::from_query("ecc=q&margin=0&size=64&fg=000080&bg=FFFFe0").expect("valid");
    assert_eq!(
        o,
        QrOptions {
            ecc: Ecc::Q,
            margin: 0,
            size: 64,
            fg: [0, 0, 0x80],
            bg: [0xff, 0xff, 0xe0]
        }
    );
    let o = QrOptions::from_query("ecc=H&margin=16&size=4096").expect("valid");
    assert_eq!((o.ecc, o.margin, o.size), (Ecc::H, 16, 4096));
    assert_eq!(QrOptions::from_query("ecc=l").map(|o| o.ecc), Ok(Ecc::L));
}

#[test]
fn values_are_percent_decoded_and_unknown_parameters_ignored() {
    let o = QrOptions::from_query("?utm_source=flyer&fg=%30%30%30%30%38%30&size=1%300&x=1&x=2&&=")
        .expect("valid");
    assert_eq!(o.fg, [0, 0, 0x80]);
    assert_eq!(o.size, 100);
}

#[test]
fn contrast_rule_accepts_dark_on_light_down_to_3_to_1() {
    // #949494 on white is 3.04:1, #969696 is 2.96:1.
    assert!(QrOptions::from_query("fg=949494").is_ok());
    assert!(QrOptions::from_query("fg=006400&bg=ffffe0").is_ok());
    assert!(QrOptions::from_query("fg=000080").is_ok());
    let e = QrOptions::from_query("fg=969696").expect_err("too pale");
    assert_eq!(e.param, "fg");
    assert!(e.problem.contains("3:1"), "{e}");
}

fn param_of(query: &str) -> &'static str {
    match QrOptions::from_query(query) {
        Ok(o) => panic!("{query:?} was accepted as {o:?}"),
        Err(e) => {
            assert!(!e.problem.is_empty());
            assert_eq!(e.to_string(), format!("{}: {}", e.param, e.problem));
            e.param
        }
    }
}

#[test]
fn bad_ecc_is_named() {
    for q in [
        "ecc=X",
        "ecc=LL",
        "ecc=",
        "ecc",
        "ecc=L&ecc=L",
        "ecc=L&ecc=M",
        "ecc=%4D%4D",
        "ecc=+M",
        "ecc=0",
    ] {
        assert_eq!(param_of(q), "ecc", "{q}");
    }
}

#[test]
fn bad_margin_is_named() {
    for q in [
        "margin=17",
        "margin=-1",
        "margin=4.0",
        "margin=+4",
        "margin=%204",
        "margin=",
        "margin",
        "margin=1&margin=1",
        "margin=99999999999999999999",
        "margin=four",
    ] {
        assert_eq!(param_of(q), "margin", "{q}");
    }
}

#[test]
fn bad_size_is_named() {
    for q in [
        "size=63",
        "size=4097",
        "size=0",
        "size=512px",
        "size=1e3",
        "size=",
        "size=512&size=512",
        "size=-512",
        "size=0x200",
        "size=99999999999999999999",
    ] {
        assert_eq!(param_of(q), "size", "{q}");
    }
}

#[test]
fn bad_colours_are_named() {
    for p in ["fg", "bg"] {
        for v in [
            "#000000",
            "%23000000",
            "00000",
            "0000000",
            "gggggg",
            "",
            "00 000",
            "\u{ff10}\u{ff10}",
            "000000&{p}=000000",
        ] {
            let q = format!("{p}={}", v.replace("{p}", p));
            assert_eq!(param_of(&q), p, "{q}");
        }
    }
}

#[test]
fn low_contrast_and_reversed_colours_are_refused_as_fg() {
    for q in [
        "fg=999999",
        "fg=ffff00",
        "fg=123456&bg=123456",
        "bg=000000",
        "fg=ffffff&bg=000000",
        "fg=ffffff&bg=000080",
        "fg=000000&bg=333333",
    ] {
        assert_eq!(param_of(q), "fg", "{q}");
    }
    let e = QrOptions::from_query("fg=ffffff&bg=000000").expect_err("reversed");
    assert!(e.problem.contains("darker than bg"), "{e}");
}

#[test]
fn param_error_is_a_std_error() {
    let e: Box<dyn std::error::Error> = Box::new(ParamError {
        param: "size",
        problem: "too big".into(),
    });
    assert_eq!(e.to_string(), "size: too big");
}

// ------------------------------------------------------------ symbol version

/// ISO/IEC 18004:2015 Table 7, alphanumeric-mode capacity (characters) of
/// versions 1-10 at L, M, Q, H.
const ALNUM_CAPACITY: [[usize; 4]; 10] = [
    [25, 20, 16, 10],
    [47, 38, 29, 20],
    [77, 61, 47, 35],
    [114, 90, 67, 50],
    [154, 122, 87, 64],
    [195, 154, 108, 84],
    [224, 178, 125, 93],
    [279, 221, 157, 122],
    [335, 262, 189, 143],
    [395, 311, 221, 174],
];
/// The same table, version 40.
const ALNUM_CAPACITY_40: [usize; 4] = [4296, 3391, 2420, 1852];
const LEVELS: [Ecc; 4] = [Ecc::L, Ecc::M, Ecc::Q, Ecc::H];

/// An upper-case short URL of exactly `len` characters.
fn url_of_len(len: usize) -> String {
    let prefix = "HTTPS://GO.EXAMPLE.COM/";
    let slug: String = "Q7X-2MK9"
        .chars()
        .cycle()
        .take(len - prefix.len())
        .collect();
    format!("{prefix}{slug}")
}

fn expected_version(len: usize, level: usize) -> u8 {
    let v = ALNUM_CAPACITY
        .iter()
        .position(|caps| caps[level] >= len)
        .expect("within the first 10 versions");
    v as u8 + 1
}

#[test]
fn version_is_the_minimum_for_the_url_length_in_alphanumeric_mode() {
    // The example: a 25-character URL at M (version 1 holds 20) is version 2.
    assert_eq!(symbol_version(&url_of_len(25), Ecc::M), Ok(2));
    assert_eq!(symbol_version(&url_of_len(25), Ecc::L), Ok(1));
    // Byte mode would need version 3 at L for 47 characters (version 2 holds 32 bytes).
    assert_eq!(symbol_version(&url_of_len(47), Ecc::L), Ok(2));

    for (level, &ecc) in LEVELS.iter().enumerate() {
        for caps in ALNUM_CAPACITY {
            for len in [caps[level], caps[level] + 1] {
                if len < 24 || len > ALNUM_CAPACITY[9][level] {
                    continue;
                }
                assert_eq!(
                    symbol_version(&url_of_len(len), ecc),
                    Ok(expected_version(len, level)),
                    "{len} chars at {ecc:?}"
                );
            }
        }
    }
}

#[test]
fn text_beyond_version_40_is_a_typed_error() {
    for (level, &ecc) in LEVELS.iter().enumerate() {
        let cap = ALNUM_CAPACITY_40[level];
        assert_eq!(symbol_version(&url_of_len(cap), ecc), Ok(40), "{ecc:?}");
        let too_long = url_of_len(cap + 1);
        let e = symbol_version(&too_long, ecc).expect_err("too long");
        assert_eq!(e, QrError::TooLong { len: cap + 1, ecc });
        assert!(e.to_string().contains("do not fit"), "{e}");
        for format in [ImageFormat::Svg, ImageFormat::Png] {
            let opts = QrOptions {
                ecc,
                ..QrOptions::default()
            };
            assert_eq!(render(&too_long, format, &opts), Err(e.clone()));
        }
    }
    let huge = "x".repeat(1 << 20);
    assert!(render(&huge, ImageFormat::Png, &QrOptions::default()).is_err());
}

#[test]
fn short_url_text_is_upper_case_https() {
    assert_eq!(
        short_url_text("go.example.com", "spring-26"),
        "HTTPS://GO.EXAMPLE.COM/SPRING-26"
    );
}

// ------------------------------------------------------- etag, content type

#[test]
fn content_types() {
    assert_eq!(content_type(ImageFormat::Svg), "image/svg+xml");
    assert_eq!(content_type(ImageFormat::Png), "image/png");
}

#[test]
fn etag_is_strong_stable_and_covers_every_input() {
    let text = short_url_text("go.example.com", "spring26");
    let d = QrOptions::default();
    let base = etag(&text, ImageFormat::Png, &d);
    assert_eq!(base.len(), 34);
    assert!(base.starts_with('"') && base.ends_with('"') && !base.starts_with("W/"));
    assert!(base[1..33]
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(base, etag(&text, ImageFormat::Png, &d));

    let variants = [
        etag(&text, ImageFormat::Svg, &d),
        etag("HTTPS://GO.EXAMPLE.COM/SPRING27", ImageFormat::Png, &d),
        etag(&text, ImageFormat::Png, &QrOptions { ecc: Ecc::H, ..d }),
        etag(&text, ImageFormat::Png, &QrOptions { margin: 2, ..d }),
        etag(&text, ImageFormat::Png, &QrOptions { size: 1024, ..d }),
        etag(&text, ImageFormat::Png, &QrOptions { fg: [0, 0, 1], ..d }),
        etag(
            &text,
            ImageFormat::Png,
            &QrOptions {
                bg: [255, 255, 254],
                ..d
            },
        ),
    ];
    for (i, v) in variants.iter().enumerate() {
        assert_ne!(v, &base, "variant {i}");
    }
    // SVG bytes do not depend on `size`, and neither does their tag.
    assert_eq!(
        etag(&text, ImageFormat::Svg, &d),
        etag(&text, ImageFormat::Svg, &QrOptions { size: 64, ..d })
    );
}

#[test]
fn out_of_contract_options_are_clamped_not_panics() {
    let text = short_url_text("go.example.com", "spring26");
    for (margin, size) in [(255, 0), (0, u32::MAX), (200, 5000)] {
        let o = QrOptions {
            margin,
            size,
            ..QrOptions::default()
        };
        let png = render(&text, ImageFormat::Png, &o).expect("renders");
        let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        assert!((25..=4096).contains(&width), "{width}");
        assert!(render(&text, ImageFormat::Svg, &o).is_ok());
    }
}

// ---------------------------------------------------------------- properties

fn query_strategy() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("ecc".to_string()),
        Just("margin".to_string()),
        Just("size".to_string()),
        Just("fg".to_string()),
        Just("bg".to_string()),
        "[a-z%=&+]{0,4}",
    ];
    let value = prop_oneof!["[0-9a-fA-FLMQH]{0,8}", "[0-9]{1,4}", ".{0,12}"];
    prop::collection::vec((key, value), 0..6).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn ecc_strategy() -> impl Strategy<Value = Ecc> {
    prop_oneof![Just(Ecc::L), Just(Ecc::M), Just(Ecc::Q), Just(Ecc::H)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn from_query_never_panics(raw in ".*", structured in query_strategy()) {
        for q in [&raw, &structured] {
            if let Ok(o) = QrOptions::from_query(q) {
                prop_assert!(o.margin <= 16);
                prop_assert!((64..=4096).contains(&o.size));
            }
        }
    }

    #[test]
    fn render_never_panics(
        text in "[\\x00-\\x7f]{0,300}",
        ecc in ecc_strategy(),
        margin in 0u8..=16,
        size in 64u32..=600,
        fg in any::<[u8; 3]>(),
        bg in any::<[u8; 3]>(),
    ) {
        let o = QrOptions { ecc, margin, size, fg, bg };
        // 300 bytes fit even byte mode at 40-H (1273 bytes), so this is always Ok.
        let png = render(&text, ImageFormat::Png, &o);
        prop_assert!(png.as_ref().is_ok_and(|p| p.starts_with(b"\x89PNG\r\n\x1a\n")));
        let svg = render(&text, ImageFormat::Svg, &o);
        prop_assert!(svg.as_ref().is_ok_and(|s| s.starts_with(b"<svg ")));
        prop_assert_eq!(etag(&text, ImageFormat::Png, &o).len(), 34);
    }
}
