//! The properties the fuzz targets check on qr-edge's pure core, shared with the
//! native regression test (`core/tests/fuzz_regressions.rs`, which replays
//! `fuzz/regressions/` and `fuzz/seeds/`). Each function takes the fuzzer's raw
//! bytes and panics when a property does not hold; a panic is a finding.

use qr_edge_core::clock::Timestamp;
use qr_edge_core::decide::{decide, RuleRef};
use qr_edge_core::destination::HostPattern;
use qr_edge_core::path::{
    is_dns_name, is_valid_slug, method_class, normalize_host, route, Route, MAX_SLUG_LEN,
};
use qr_edge_core::record::{
    parse_record, DestinationPolicy, ForwardQuery, LinkRecord, LinkStatus, Rule, SplitEntry,
    Strictness, When,
};
use qr_edge_core::targeting::{choose, holds, sticky_point, ScanFacts};
use qr_edge_core::visitor::{
    preferred_language, Continent, DeviceHints, Geo, RequestFacts, ScanClass, Visitor,
};
use qr_edge_core::vocabulary::Named;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const SHORT_DOMAIN: &str = "go.example.com";

/// `path::route` and `path::normalize_host` on any text: total, and what they
/// accept is exactly what the store keys may hold.
pub fn path_route(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let routed = route(&text);
    match &routed {
        Route::Link { slug, view } => {
            assert!(
                is_valid_slug(slug),
                "route gave an invalid slug {slug:?} for {text:?}"
            );
            assert!(
                text.to_ascii_lowercase().contains(slug.as_str()),
                "slug {slug:?} not in {text:?}"
            );
            assert!(
                !text.contains('%'),
                "a slug route needs no percent-encoding: {text:?}"
            );
            assert!(
                text.len() <= MAX_SLUG_LEN + 6,
                "over-long path {text:?} routed"
            );
            // Slugs are case-insensitive: the upper-case path routes the same.
            let upper = route(&text.to_ascii_uppercase());
            assert_eq!(
                upper,
                Route::Link {
                    slug: slug.clone(),
                    view: *view
                },
                "case changed the route of {text:?}"
            );
        }
        Route::Admin => assert!(
            text.starts_with("/_api/v1"),
            "{text:?} routed to the admin API"
        ),
        Route::Dashboard(_) => assert!(
            text.starts_with("/_admin"),
            "{text:?} routed to the dashboard"
        ),
        Route::AppLink(file) => assert_eq!(
            text,
            file.path(),
            "only the exact app-link path routes to its file"
        ),
        Route::Home | Route::Health | Route::Robots | Route::NotFound => {}
    }
    let _ = method_class(&text);
    if let Ok(host) = normalize_host(Some(&text)) {
        assert!(
            is_dns_name(&host),
            "normalize_host({text:?}) = {host:?}, no DNS name"
        );
        assert_eq!(host, host.to_ascii_lowercase(), "host not lower case");
        assert!(
            url::Host::parse(&host).is_ok(),
            "the runtime could not parse host {host:?}"
        );
        assert_eq!(
            normalize_host(Some(&host)).as_deref(),
            Ok(host.as_str()),
            "normalize_host is not idempotent"
        );
    }
}

/// `record::parse_record` in both strictnesses and `validate`: the admin API
/// is stricter than readers, a valid record survives the cache's JSON round
/// trip unchanged, and every destination obeys the policy it was checked against.
pub fn record_parse(data: &[u8]) {
    let any = DestinationPolicy::open(SHORT_DOMAIN);
    let patterns = [
        HostPattern::parse("example.com").expect("pattern"),
        HostPattern::parse("*.example.org").expect("pattern"),
    ];
    let allow_list = DestinationPolicy {
        allowed_hosts: Some(&patterns),
        ..DestinationPolicy::open(SHORT_DOMAIN)
    };

    let reader = parse_record(data, Strictness::Reader, &any);
    if let Ok(admin) = parse_record(data, Strictness::Admin, &any) {
        assert_eq!(
            reader.as_ref(),
            Ok(&admin),
            "the admin API accepted what a reader refuses"
        );
    }
    let Ok(record) = reader else { return };
    record
        .validate(Strictness::Reader, &any)
        .expect("a parsed record validates again");
    assert_cache_round_trip(&record, &any);
    for url in destinations(&record) {
        let host = destination_host(url);
        assert_ne!(host, SHORT_DOMAIN, "{url} loops to the short domain");
    }
    if let Ok(allowed) = parse_record(data, Strictness::Reader, &allow_list) {
        assert_eq!(allowed, record);
        for url in destinations(&allowed) {
            let host = destination_host(url);
            assert!(
                host == "example.com" || host.ends_with(".example.org"),
                "{url} passed an allow-list without its host"
            );
        }
    }
}

/// `visitor::preferred_language` on any header: a 1–8 letter lower-case
/// primary subtag that the header holds, or nothing.
pub fn accept_language(data: &[u8]) {
    let header = String::from_utf8_lossy(data);
    if let Some(tag) = preferred_language(&header) {
        assert!((1..=8).contains(&tag.len()), "tag {tag:?} from {header:?}");
        assert!(
            tag.bytes().all(|b| b.is_ascii_lowercase()),
            "tag {tag:?} from {header:?}"
        );
        assert!(
            header.to_ascii_lowercase().contains(tag.as_str()),
            "tag {tag:?} not in {header:?}"
        );
    }
}

/// `targeting::choose` and `decide::decide` on records and visitors built from
/// the bytes: the first rule that holds wins, else the split, else the default;
/// unknown conditions never hold; the split is sticky; a cached copy of the
/// record decides the same.
pub fn rule_eval(data: &[u8]) {
    let mut input = Bytes(data);
    let record = input.record();
    let visitor = input.visitor();
    // The scan class agrees with the compatible `bot` flag and names its evidence.
    assert!(
        !visitor.bot || visitor.class != ScanClass::Human,
        "a bot classed human: {visitor:?}"
    );
    assert_eq!(
        visitor.class == ScanClass::Human,
        visitor.class_reason.is_none(),
        "a reason for every class but human: {visitor:?}"
    );
    let now = input.time();
    let query = input
        .pick(&["", "a=1", "a=1&b=x", "utm=1&a=%31", "a", "&&=", "b=x&a=2"])
        .to_owned();
    let scan = ScanFacts {
        slug: "s",
        now,
        query: &query,
        visitor: &visitor,
    };

    let (url, rule) = choose(&record, &scan);
    let held: Vec<bool> = record.rules.iter().map(|r| holds(&r.when, &scan)).collect();
    for (checked, did_hold) in record.rules.iter().zip(&held) {
        assert!(
            !did_hold || checked.when.unknown.is_empty(),
            "a rule with an unknown condition held"
        );
    }
    let total: u64 = record.split.iter().map(|e| u64::from(e.weight)).sum();
    match rule {
        RuleRef::Rule(i) => {
            assert!(
                held[i] && !held[..i].contains(&true),
                "rule {i} chosen, held: {held:?}"
            );
            assert_eq!(url, record.rules[i].url);
        }
        RuleRef::Split(i) => {
            assert!(!held.contains(&true), "split chosen though a rule held");
            assert!(
                record.split[i].weight > 0,
                "split arm {i} of weight 0 chosen"
            );
            assert_eq!(url, record.split[i].url);
        }
        RuleRef::Default => {
            assert!(
                !held.contains(&true) && total == 0,
                "default chosen, held {held:?}, split weight {total}"
            );
            assert_eq!(url, record.url);
        }
        RuleRef::Expired | RuleRef::None => panic!("choose gave {rule:?}"),
    }
    assert_eq!(
        choose(&record, &scan),
        (url, rule),
        "choose is not deterministic"
    );

    // Sticky: the split point depends on address, user agent and slug only.
    let mut elsewhere = visitor.clone();
    elsewhere.geo = Geo::default();
    elsewhere.language = Some("zz".into());
    let moved = ScanFacts {
        slug: "s",
        now: now.wrapping_add(1),
        query: "moved=1",
        visitor: &elsewhere,
    };
    assert_eq!(
        sticky_point(&scan),
        sticky_point(&moved),
        "the split point moved with the visitor's place"
    );

    let decision = decide(&record, &scan);
    assert!(
        [301, 302, 303, 307, 308, 410].contains(&decision.status),
        "status {}",
        decision.status
    );

    // The cache keeps the record as JSON and reads it back before deciding.
    let any = DestinationPolicy::open(SHORT_DOMAIN);
    if record.validate(Strictness::Reader, &any).is_ok() {
        let cached = assert_cache_round_trip(&record, &any);
        assert_eq!(
            choose(&cached, &scan),
            (url, rule),
            "the cached record decides differently"
        );
        assert_eq!(decide(&cached, &scan), decision);
    }
}

/// The record as `src/lookup.rs` caches it (its JSON) and reads it back: unchanged.
fn assert_cache_round_trip(record: &LinkRecord, policy: &DestinationPolicy<'_>) -> LinkRecord {
    let json = serde_json::to_vec(record).expect("a record serialises");
    let cached = parse_record(&json, Strictness::Reader, policy).unwrap_or_else(|e| {
        panic!(
            "the cached copy is refused ({e}): {}",
            String::from_utf8_lossy(&json)
        )
    });
    assert_eq!(
        &cached,
        record,
        "the cache round trip changed the record: {}",
        String::from_utf8_lossy(&json)
    );
    cached
}

fn destinations(record: &LinkRecord) -> Vec<&str> {
    let mut urls = vec![record.url.as_str()];
    urls.extend(record.expired_url.as_deref());
    urls.extend(record.rules.iter().map(|r| r.url.as_str()));
    urls.extend(record.split.iter().map(|s| s.url.as_str()));
    urls
}

/// The host a destination leads to, as the validator compares it.
fn destination_host(destination: &str) -> String {
    let parsed = url::Url::parse(destination)
        .unwrap_or_else(|e| panic!("{destination} passed validation: {e}"));
    assert!(
        matches!(parsed.scheme(), "http" | "https"),
        "{destination} passed validation"
    );
    assert!(
        destination.len() <= 2048 && !destination.bytes().any(|b| b <= b' ' || b == 0x7f),
        "{destination:?}"
    );
    let host = parsed
        .host_str()
        .unwrap_or_else(|| panic!("{destination} has no host"))
        .to_ascii_lowercase();
    host.strip_suffix('.').map(str::to_owned).unwrap_or(host)
}

/// Reads the fuzzer's bytes as choices; past the end every choice is 0.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let Some((first, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        *first
    }

    fn pick<'v>(&mut self, values: &[&'v str]) -> &'v str {
        values[usize::from(self.byte()) % values.len()]
    }

    fn text(&mut self) -> String {
        let len = usize::from(self.byte() % 24).min(self.0.len());
        let (text, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8_lossy(text).into_owned()
    }

    /// Absent, or a list of up to three names of a closed vocabulary.
    fn names<T: Named>(&mut self) -> Option<Vec<T>> {
        let shape = self.byte();
        if shape.is_multiple_of(3) {
            return None;
        }
        Some(
            (0..shape % 4)
                .map(|_| T::NAMES[usize::from(self.byte()) % T::NAMES.len()].1)
                .collect(),
        )
    }

    /// Absent, or a list of up to three values, mostly from `values`, sometimes free text.
    fn list(&mut self, values: &[&str]) -> Option<Vec<String>> {
        let shape = self.byte();
        if shape.is_multiple_of(3) {
            return None;
        }
        Some(
            (0..shape % 4)
                .map(|_| {
                    if self.byte().is_multiple_of(8) {
                        self.text()
                    } else {
                        self.pick(values).to_owned()
                    }
                })
                .collect(),
        )
    }

    fn time_of(&mut self, texts: &[&str]) -> Timestamp {
        Timestamp::parse(self.pick(texts)).expect("an RFC 3339 time")
    }

    fn time(&mut self) -> i64 {
        let mut raw = [0u8; 8];
        raw.iter_mut().for_each(|b| *b = self.byte());
        // Mostly near the record times below, sometimes anywhere.
        let offset = i64::from_le_bytes(raw);
        if raw[7].is_multiple_of(4) {
            offset
        } else {
            1_772_323_200_000 + offset % 100_000_000_000
        }
    }

    fn when(&mut self) -> When {
        // Names and times are parsed as a record is read: a generated
        // record holds only what parsing can produce.
        const TIMES: [&str; 3] = [
            "2026-03-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
            "2027-06-01T12:00:00.500+02:00",
        ];
        let mut when = When {
            country: self.list(&["US", "DE", "AT", "de", "us", "FR", "JP", "ZZ", ""]),
            continent: self.names(),
            region: self.list(&["US-CA", "DE-BE", "us-ca", "AT-9", "JP-13", "X"]),
            os: self.names(),
            device: self.names(),
            language: self.list(&["en", "fr", "de", "EN", "pt", ""]),
            after: (self.byte().is_multiple_of(3)).then(|| self.time_of(&TIMES)),
            before: (self.byte().is_multiple_of(3)).then(|| self.time_of(&TIMES)),
            query: None,
            unknown: BTreeMap::new(),
        };
        if self.byte().is_multiple_of(3) {
            let pairs = (0..self.byte() % 3).map(|_| {
                (
                    self.pick(&["a", "b", "utm", ""]).to_owned(),
                    self.pick(&["1", "x", "", "2"]).to_owned(),
                )
            });
            when.query = Some(pairs.collect());
        }
        if self.byte().is_multiple_of(6) {
            when.unknown.insert(
                self.pick(&["weekday", "asn", "x"]).to_owned(),
                serde_json::json!(["mon"]),
            );
        }
        when
    }

    fn record(&mut self) -> LinkRecord {
        let mut record = LinkRecord::to("https://example.com/default");
        record.status = if self.byte().is_multiple_of(8) {
            LinkStatus::Disabled
        } else {
            LinkStatus::Active
        };
        record.code = [301, 302, 303, 307, 308][usize::from(self.byte()) % 5];
        record.forward_query = match self.byte() % 3 {
            0 => ForwardQuery::Every(true),
            1 => ForwardQuery::Every(false),
            _ => ForwardQuery::Named(vec!["utm_*".into(), "k".into()]),
        };
        if self.byte().is_multiple_of(4) {
            record.valid_from = Timestamp::parse("2026-01-01T00:00:00Z");
            record.valid_until = Timestamp::parse("2026-06-01T00:00:00Z");
            record.expired_url =
                (self.byte().is_multiple_of(2)).then(|| "https://example.com/ended".into());
        }
        record.rules = (0..self.byte() % 5)
            .map(|i| Rule {
                when: self.when(),
                url: format!("https://example.com/rule{i}"),
            })
            .collect();
        record.split = (0..self.byte() % 4)
            .map(|i| {
                let weight = match self.byte() % 4 {
                    0 => 0,
                    1 => 1_000_000,
                    _ => u32::from(self.byte()),
                };
                SplitEntry {
                    url: format!("https://example.com/arm{i}"),
                    weight,
                }
            })
            .collect();
        record
    }

    fn visitor(&mut self) -> Visitor {
        let ip = match self.byte() % 3 {
            0 => None,
            1 => Some(IpAddr::V4(Ipv4Addr::new(
                self.byte(),
                self.byte(),
                self.byte(),
                self.byte(),
            ))),
            _ => Some(IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0,
                0,
                0,
                0,
                0,
                u16::from(self.byte()),
            ))),
        };
        let user_agent = match self.byte() % 4 {
            0 => None,
            1 => Some(self.text()),
            _ => Some(
                self.pick(&[
                    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Safari/604.1",
                    "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/124.0.0.0 Mobile Safari/537.36",
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0 Safari/537.36",
                    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) Chrome/124.0.0.0 Safari/537.36",
                ])
                .to_owned(),
            ),
        };
        let accept_language = match self.byte() % 3 {
            0 => None,
            1 => Some(self.text()),
            _ => Some(
                self.pick(&[
                    "en-US,en;q=0.9",
                    "fr-CH, fr;q=0.9",
                    "de;q=0, en;q=0.1",
                    "*",
                    "pt-BR",
                ])
                .to_owned(),
            ),
        };
        let geo = Geo {
            country: (!self.byte().is_multiple_of(4))
                .then(|| self.pick(&["US", "DE", "AT", "FR", "JP"]).to_owned()),
            region: (!self.byte().is_multiple_of(4))
                .then(|| self.pick(&["US-CA", "DE-BE", "AT-9"]).to_owned()),
            city: None,
            continent: (!self.byte().is_multiple_of(4)).then(|| {
                [Continent::Na, Continent::Eu, Continent::As][usize::from(self.byte()) % 3]
            }),
            asn: None,
        };
        let flags = self.byte();
        let hints = (flags & 1 == 1).then_some(DeviceHints {
            is_mobile: flags & 2 != 0,
            is_tablet: flags & 4 != 0,
            is_desktop: flags & 8 != 0,
            is_bot: flags & 16 != 0,
        });
        Visitor::classify(
            ip,
            user_agent.as_deref(),
            accept_language.as_deref(),
            RequestFacts {
                is_head: flags & 32 != 0,
                sec_purpose: (flags & 64 != 0).then_some("prefetch;prerender"),
                purpose: (flags & 128 != 0).then_some("prefetch"),
                x_moz: None,
            },
            geo,
            hints,
        )
    }
}
