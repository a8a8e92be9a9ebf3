//! Property tests of targeting (docs/links.md): the weighted split follows its
//! weights over many synthetic visitors and is sticky per client IP, user agent
//! and slug; rules are conjunctions of disjunctions, first match wins, an empty
//! `when` always holds; and classifying arbitrary request text never panics.

use proptest::prelude::*;
use qr_edge_core::clock::{Timestamp, UnixMillis};
use qr_edge_core::decide::RuleRef;
use qr_edge_core::record::{
    parse_record, DestinationPolicy, LinkRecord, Rule, SplitEntry, Strictness, When,
};
use qr_edge_core::targeting::{choose, holds, split_index, sticky_point, ScanFacts};
use qr_edge_core::visitor::{
    preferred_language, Continent, DeviceClass, DeviceHints, Geo, Os, RequestFacts, ScanClass,
    Visitor,
};
use qr_edge_core::vocabulary::Named;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

const NOW: UnixMillis = 1_772_323_200_000; // 2026-03-01T00:00:00Z

/// Synthetic visitors for the distribution tests.
const VISITORS: usize = 20_000;

/// The user agents the black-box tests send (one list, in the tests crate).
#[allow(dead_code)]
#[path = "../../tests/src/agents.rs"]
mod agents;

/// Real user agents; visitors differ by address and agent.
const AGENTS: [&str; 5] = [
    agents::IPHONE,
    agents::PIXEL,
    agents::WINDOWS,
    agents::MAC,
    agents::IPAD,
];

fn visitor(ip: IpAddr, user_agent: &str) -> Visitor {
    Visitor::classify(
        Some(ip),
        Some(user_agent),
        Some("de-DE,de;q=0.9"),
        RequestFacts::default(),
        Geo::default(),
        None,
    )
}

/// Visitor `i` of the synthetic population: consecutive addresses of a
/// carrier-grade NAT range, each with one of the agents.
fn synthetic(i: usize) -> Visitor {
    let ip = Ipv4Addr::from(0x6440_0000u32 + i as u32); // 100.64.0.0/10
    visitor(IpAddr::V4(ip), AGENTS[i % AGENTS.len()])
}

fn facts<'a>(slug: &'a str, visitor: &'a Visitor) -> ScanFacts<'a> {
    ScanFacts {
        slug,
        now: NOW,
        query: "",
        visitor,
    }
}

/// The sticky points of the synthetic population for slug `spring26`, computed once.
fn population_points() -> &'static [u64] {
    static POINTS: OnceLock<Vec<u64>> = OnceLock::new();
    POINTS.get_or_init(|| {
        (0..VISITORS)
            .map(|i| {
                let v = synthetic(i);
                sticky_point(&facts("spring26", &v))
            })
            .collect()
    })
}

/// Each arm's share of the population.
fn shares(weights: &[u32], points: &[u64]) -> Vec<f64> {
    let mut counts = vec![0usize; weights.len()];
    for &point in points {
        let arm = split_index(weights.iter().copied(), point)
            .expect("a split with a positive weight always chooses");
        counts[arm] += 1;
    }
    counts
        .into_iter()
        .map(|c| c as f64 / points.len() as f64)
        .collect()
}

fn assert_shares_follow(weights: &[u32], points: &[u64], tolerance: f64) {
    let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
    for (arm, (share, &weight)) in shares(weights, points).iter().zip(weights).enumerate() {
        let expected = f64::from(weight) / total;
        assert!(
            (share - expected).abs() <= tolerance,
            "weights {weights:?}: arm {arm} got {share:.4}, expected {expected:.4} ± {tolerance}"
        );
        if weight == 0 {
            assert_eq!(
                *share, 0.0,
                "weights {weights:?}: arm {arm} has weight 0 but was chosen"
            );
        }
    }
}

#[test]
fn sticky_points_are_uniform_over_many_visitors() {
    // Kolmogorov–Smirnov distance of the population's points from the uniform
    // distribution; 0.015 is far beyond chance for 20,000 hashed visitors.
    let mut unit: Vec<f64> = population_points()
        .iter()
        .map(|&p| p as f64 / 2f64.powi(64))
        .collect();
    unit.sort_by(f64::total_cmp);
    let n = unit.len() as f64;
    let distance = unit
        .iter()
        .enumerate()
        .map(|(i, &x)| (x - i as f64 / n).abs().max(((i + 1) as f64 / n - x).abs()))
        .fold(0.0, f64::max);
    assert!(distance < 0.015, "KS distance {distance}");
}

#[test]
fn split_shares_follow_the_weights_over_twenty_thousand_visitors() {
    let points = population_points();
    for weights in [
        &[1, 1][..],
        &[70, 30],
        &[50, 50],
        &[90, 10],
        &[99, 1],
        &[1, 2, 3, 4],
        &[25, 25, 25, 25],
        &[1, 0, 1],
        &[0, 5, 0, 5],
        &[1_000_000, 500_000, 1],
        &[100, 0],
    ] {
        assert_shares_follow(weights, points, 0.02);
    }
}

#[test]
fn split_shares_follow_the_weights_through_choose() {
    // The same population through the record-level entry point, with the
    // visitors built afresh: what the edge runs.
    let record = split_record(&[(70, "a"), (30, "b")]);
    let mut b = 0usize;
    for i in 0..VISITORS {
        let v = synthetic(i);
        match choose(&record, &facts("spring26", &v)) {
            ("https://example.com/a", RuleRef::Split(0)) => {}
            ("https://example.com/b", RuleRef::Split(1)) => b += 1,
            other => panic!("unexpected choice {other:?}"),
        }
    }
    let share = b as f64 / VISITORS as f64;
    assert!((share - 0.30).abs() < 0.02, "share of b {share}");
}

#[test]
fn a_100_0_split_always_chooses_the_first_arm() {
    for &point in population_points() {
        assert_eq!(split_index([100, 0].into_iter(), point), Some(0));
    }
    assert_eq!(split_index([0, 100].into_iter(), 0), Some(1));
    assert_eq!(split_index([0, 100].into_iter(), u64::MAX), Some(1));
}

#[test]
fn a_different_slug_splits_the_same_visitors_independently() {
    // Same visitors, two slugs, two 50/50 splits: if the slug were not part of the
    // key, every visitor would land on the same arm for both (agreement 100%).
    let same = (0..4_000)
        .filter(|&i| {
            let v = synthetic(i);
            let a = split_index([1, 1].into_iter(), sticky_point(&facts("spring26", &v)));
            let b = split_index([1, 1].into_iter(), sticky_point(&facts("summer26", &v)));
            a == b
        })
        .count();
    let agreement = same as f64 / 4_000.0;
    assert!((agreement - 0.5).abs() < 0.04, "agreement {agreement}");
}

fn split_record(arms: &[(u32, &str)]) -> LinkRecord {
    let mut record = LinkRecord::to("https://example.com/default");
    record.split = arms
        .iter()
        .map(|&(weight, name)| SplitEntry {
            url: format!("https://example.com/{name}"),
            weight,
        })
        .collect();
    record
}

fn weights() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(0u32..=1_000, 1..8)
        .prop_filter("at least one positive weight", |w| w.iter().any(|&x| x > 0))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Evenly spaced points cover `[0, 2^64)`: each arm receives its exact share,
    /// up to one point of rounding per arm boundary.
    #[test]
    fn each_arm_owns_exactly_its_share_of_the_point_space(weights in weights()) {
        const M: u128 = 100_000;
        let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
        let mut counts = vec![0u128; weights.len()];
        for k in 0..M {
            let point = ((k << 64) / M) as u64;
            let arm = split_index(weights.iter().copied(), point).unwrap();
            counts[arm] += 1;
        }
        for (arm, (&count, &weight)) in counts.iter().zip(&weights).enumerate() {
            let exact = M * u128::from(weight) / total;
            prop_assert!(count.abs_diff(exact) <= 2, "arm {} count {} exact {}", arm, count, exact);
        }
    }

    /// Random weight vectors over the synthetic population stay within a few percent.
    #[test]
    fn random_weights_are_followed_over_the_population(weights in weights()) {
        assert_shares_follow(&weights, population_points(), 0.025);
    }

    /// Zero-weight arms are never chosen, wherever the visitor lands.
    #[test]
    fn zero_weight_arms_never_win(weights in weights(), point in any::<u64>()) {
        let arm = split_index(weights.iter().copied(), point).unwrap();
        prop_assert!(weights[arm] > 0);
    }

    /// The same client IP, user agent and slug always get the same entry, whatever
    /// else differs between the scans (time, query, language, location, method).
    #[test]
    fn the_split_is_sticky(
        ip in any::<u32>(),
        user_agent in ".{0,120}",
        slug in "[a-z0-9]{1,12}",
        later in 0i64..400 * 24 * 3_600_000,
        query in "[a-z=&]{0,20}",
        weights in weights(),
    ) {
        let ip = IpAddr::V4(Ipv4Addr::from(ip));
        let record = split_record(&weights.iter().map(|&w| (w, "arm")).collect::<Vec<_>>());
        let first = Visitor::classify(Some(ip), Some(&user_agent), None, RequestFacts::default(), Geo::default(), None);
        let again = Visitor::classify(
            Some(ip),
            Some(&user_agent),
            Some("fr"),
            RequestFacts::method(true),
            Geo { country: Some("FR".into()), ..Geo::default() },
            Some(DeviceHints { is_tablet: true, ..DeviceHints::default() }),
        );
        let a = choose(&record, &ScanFacts { slug: &slug, now: NOW, query: "", visitor: &first });
        let b = choose(&record, &ScanFacts { slug: &slug, now: NOW + later, query: &query, visitor: &again });
        prop_assert_eq!(a.1, b.1);
        prop_assert!(matches!(a.1, RuleRef::Split(_)));
    }

    /// The entry depends on the visitor alone, not on which visitors came before.
    #[test]
    fn the_entry_is_independent_of_call_order(
        visitors in prop::collection::vec((any::<u32>(), 0usize..AGENTS.len()), 1..40),
        weights in weights(),
    ) {
        let record = split_record(&weights.iter().map(|&w| (w, "arm")).collect::<Vec<_>>());
        let people: Vec<Visitor> = visitors
            .iter()
            .map(|&(ip, agent)| visitor(IpAddr::V4(Ipv4Addr::from(ip)), AGENTS[agent]))
            .collect();
        let forward: Vec<RuleRef> = people.iter().map(|v| choose(&record, &facts("s", v)).1).collect();
        let mut backward: Vec<RuleRef> = people.iter().rev().map(|v| choose(&record, &facts("s", v)).1).collect();
        backward.reverse();
        prop_assert_eq!(forward, backward);
    }
}

// ---- rules -------------------------------------------------------------

/// A visitor with every fact a condition can look at.
fn arb_visitor() -> impl Strategy<Value = Visitor> {
    let country = prop::option::of(prop::sample::select(vec!["DE", "AT", "US", "FR", "JP"]));
    let region = prop::option::of(prop::sample::select(vec![
        "DE-BE", "US-CA", "FR-IDF", "JP-13", "AT-9",
    ]));
    let continent = prop::option::of(prop::sample::select(vec!["EU", "NA", "AS"]));
    let device = prop::sample::select(vec![
        DeviceClass::Mobile,
        DeviceClass::Tablet,
        DeviceClass::Desktop,
        DeviceClass::Bot,
        DeviceClass::Unknown,
    ]);
    let os = prop::sample::select(vec![
        Os::Ios,
        Os::Android,
        Os::Windows,
        Os::Macos,
        Os::Linux,
        Os::Chromeos,
        Os::Other,
    ]);
    let language = prop::option::of(prop::sample::select(vec!["de", "fr", "en"]));
    (country, region, continent, device, os, language).prop_map(
        |(country, region, continent, device, os, language)| Visitor {
            ip: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
            user_agent: Some("ua".into()),
            geo: Geo {
                country: country.map(str::to_owned),
                region: region.map(str::to_owned),
                city: None,
                continent: continent.map(|c| Continent::parse(c).expect("a continent")),
                asn: None,
            },
            device,
            os,
            bot: device == DeviceClass::Bot,
            class: if device == DeviceClass::Bot {
                ScanClass::Bot
            } else {
                ScanClass::Human
            },
            class_reason: None,
            language: language.map(str::to_owned),
        },
    )
}

/// Absent, or 1–2 names of a closed vocabulary, as a record's reader parses them.
fn named<T: Named + std::fmt::Debug>(
    values: Vec<&'static str>,
) -> impl Strategy<Value = Option<Vec<T>>> {
    prop::option::of(prop::collection::vec(prop::sample::select(values), 1..3))
        .prop_map(|l| l.map(|l| parse_all(&l)))
}

fn parse_all<T: Named>(names: &[&str]) -> Vec<T> {
    names
        .iter()
        .map(|name| T::parse(name).expect("a name of the vocabulary"))
        .collect()
}

/// One condition of each kind, each possibly absent, with values from the same small sets.
fn arb_when() -> impl Strategy<Value = When> {
    let list = |values: Vec<&'static str>| {
        prop::option::of(prop::collection::vec(prop::sample::select(values), 1..3))
            .prop_map(|l| l.map(|l| l.into_iter().map(str::to_owned).collect::<Vec<_>>()))
    };
    let instant = prop::option::of(prop::sample::select(vec![
        "2026-02-28T23:59:59Z",
        "2026-03-01T00:00:00Z",
        "2026-03-01T00:00:00.001Z",
    ]))
    .prop_map(|t| t.map(|t| Timestamp::parse(t).expect("an RFC 3339 time")));
    let query = prop::option::of(prop::collection::btree_map(
        prop::sample::select(vec!["src", "utm"]),
        prop::sample::select(vec!["print", "web"]),
        1..3,
    ))
    .prop_map(|q| {
        q.map(|q| {
            q.into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<BTreeMap<_, _>>()
        })
    });
    (
        (
            list(vec!["DE", "at", "US"]),
            named(vec!["EU", "na"]),
            list(vec!["DE-BE", "us-ca", "JP-13"]),
        ),
        (
            named(vec!["ios", "ANDROID", "windows"]),
            named(vec!["mobile", "tablet", "desktop", "bot"]),
            list(vec!["de", "FR"]),
        ),
        (instant.clone(), instant, query),
    )
        .prop_map(
            |((country, continent, region), (os, device, language), (after, before, query))| When {
                country,
                continent,
                region,
                os,
                device,
                language,
                after,
                before,
                query,
                unknown: BTreeMap::new(),
            },
        )
}

/// `when` split into one `When` per condition it sets.
fn single_conditions(when: &When) -> Vec<When> {
    let mut parts = Vec::new();
    let empty = When::default;
    if when.country.is_some() {
        parts.push(When {
            country: when.country.clone(),
            ..empty()
        });
    }
    if when.continent.is_some() {
        parts.push(When {
            continent: when.continent.clone(),
            ..empty()
        });
    }
    if when.region.is_some() {
        parts.push(When {
            region: when.region.clone(),
            ..empty()
        });
    }
    if when.os.is_some() {
        parts.push(When {
            os: when.os.clone(),
            ..empty()
        });
    }
    if when.device.is_some() {
        parts.push(When {
            device: when.device.clone(),
            ..empty()
        });
    }
    if when.language.is_some() {
        parts.push(When {
            language: when.language.clone(),
            ..empty()
        });
    }
    if when.after.is_some() {
        parts.push(When {
            after: when.after.clone(),
            ..empty()
        });
    }
    if when.before.is_some() {
        parts.push(When {
            before: when.before.clone(),
            ..empty()
        });
    }
    if when.query.is_some() {
        parts.push(When {
            query: when.query.clone(),
            ..empty()
        });
    }
    parts
}

/// A list condition with its values taken one at a time.
fn single_values(when: &When) -> Vec<When> {
    let mut parts = Vec::new();
    fn one<T: Clone>(v: &T) -> Option<Vec<T>> {
        Some(vec![v.clone()])
    }
    let empty = When::default;
    for v in when.country.iter().flatten() {
        parts.push(When {
            country: one(v),
            ..empty()
        });
    }
    for v in when.continent.iter().flatten() {
        parts.push(When {
            continent: one(v),
            ..empty()
        });
    }
    for v in when.region.iter().flatten() {
        parts.push(When {
            region: one(v),
            ..empty()
        });
    }
    for v in when.os.iter().flatten() {
        parts.push(When {
            os: one(v),
            ..empty()
        });
    }
    for v in when.device.iter().flatten() {
        parts.push(When {
            device: one(v),
            ..empty()
        });
    }
    for v in when.language.iter().flatten() {
        parts.push(When {
            language: one(v),
            ..empty()
        });
    }
    parts
}

/// A `when` with exactly one list condition, of any kind, listing 1–3 values.
fn arb_single_list() -> impl Strategy<Value = When> {
    let kinds: Vec<(usize, Vec<&'static str>)> = vec![
        (0, vec!["DE", "at", "US", "FR"]),
        (1, vec!["EU", "na", "AS"]),
        (2, vec!["DE-BE", "us-ca", "JP-13"]),
        (3, vec!["ios", "ANDROID", "windows", "macos"]),
        (4, vec!["mobile", "tablet", "desktop", "bot"]),
        (5, vec!["de", "FR", "en"]),
    ];
    prop::sample::select(kinds).prop_flat_map(|(kind, values)| {
        prop::collection::vec(prop::sample::select(values), 1..4).prop_map(move |picked| {
            let list = Some(
                picked
                    .iter()
                    .copied()
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            );
            let mut when = When::default();
            match kind {
                0 => when.country = list,
                1 => when.continent = Some(parse_all(&picked)),
                2 => when.region = list,
                3 => when.os = Some(parse_all(&picked)),
                4 => when.device = Some(parse_all(&picked)),
                _ => when.language = list,
            }
            when
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// An empty `when` holds for every scan.
    #[test]
    fn an_empty_when_always_holds(v in arb_visitor(), now in any::<i64>(), query in ".{0,40}", slug in ".{0,20}") {
        let scan = ScanFacts { slug: &slug, now, query: &query, visitor: &v };
        prop_assert!(holds(&When::default(), &scan));
    }

    /// A rule holds exactly when each of its conditions holds on its own.
    #[test]
    fn a_rule_is_the_conjunction_of_its_conditions(
        when in arb_when(),
        v in arb_visitor(),
        query in prop::sample::select(vec!["", "src=print", "src=web&utm=print", "utm=web&src=print"]),
    ) {
        let scan = ScanFacts { slug: "s", now: NOW, query, visitor: &v };
        let each = single_conditions(&when).iter().all(|c| holds(c, &scan));
        prop_assert_eq!(holds(&when, &scan), each);
    }

    /// A list condition holds exactly when one of its values would hold alone.
    #[test]
    fn one_listed_value_suffices(when in arb_single_list(), v in arb_visitor()) {
        let scan = ScanFacts { slug: "s", now: NOW, query: "", visitor: &v };
        let any = single_values(&when).iter().any(|c| holds(c, &scan));
        prop_assert_eq!(holds(&when, &scan), any);
    }

    /// The first rule that holds decides; with none, the split or the default does.
    #[test]
    fn the_first_rule_that_holds_wins(
        whens in prop::collection::vec(arb_when(), 0..6),
        with_split in any::<bool>(),
        v in arb_visitor(),
    ) {
        let mut record = if with_split { split_record(&[(1, "a"), (1, "b")]) } else { LinkRecord::to("https://example.com/default") };
        record.rules = whens
            .iter()
            .enumerate()
            .map(|(i, when)| Rule { when: when.clone(), url: format!("https://example.com/rule{i}") })
            .collect();
        let scan = ScanFacts { slug: "s", now: NOW, query: "src=print", visitor: &v };
        let (url, rule) = choose(&record, &scan);
        match whens.iter().position(|w| holds(w, &scan)) {
            Some(i) => {
                prop_assert_eq!(rule, RuleRef::Rule(i));
                prop_assert_eq!(url, format!("https://example.com/rule{i}"));
            }
            None if with_split => prop_assert!(matches!(rule, RuleRef::Split(0 | 1))),
            None => prop_assert_eq!((url, rule), ("https://example.com/default", RuleRef::Default)),
        }
    }

    /// A rule with a condition this version does not know never holds (a reader
    /// keeps such a record, but must not widen the rule by ignoring the condition).
    #[test]
    fn unknown_conditions_never_hold(v in arb_visitor()) {
        let policy = DestinationPolicy::open("go.example.com");
        let record = parse_record(
            br#"{"url":"https://example.com/d","rules":[{"when":{"carrier":["x"]},"url":"https://example.com/r"}]}"#,
            Strictness::Reader,
            &policy,
        ).unwrap();
        prop_assert_eq!(choose(&record, &facts("s", &v)).1, RuleRef::Default);
    }
}

// ---- classification never panics ----------------------------------------

/// Headers as browsers and junk-senders write them.
fn accept_language_like() -> impl Strategy<Value = String> {
    let entry = (
        "[a-zA-Z*_-]{0,10}",
        prop::option::of("[qQ] ?= ?[0-9.]{0,6}"),
        prop::option::of("[a-z]{1,5}=[a-z0-9]{0,3}"),
    )
        .prop_map(|(range, q, other)| {
            let mut e = range;
            if let Some(o) = other {
                e += ";";
                e += &o;
            }
            if let Some(q) = q {
                e += ";";
                e += &q;
            }
            e
        });
    prop::collection::vec(entry, 0..8).prop_map(|entries| entries.join(", "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Any text at all: no panic, and the answer is a lower-case primary subtag
    /// that the header itself contains.
    #[test]
    fn accept_language_never_panics_on_arbitrary_text(header in ".{0,200}") {
        if let Some(lang) = preferred_language(&header) {
            prop_assert!((2..=8).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase()), "{}", lang);
            prop_assert!(header.to_ascii_lowercase().contains(&lang));
        }
    }

    /// Header-shaped junk: the same, and the winner is never `*` or q=0.
    #[test]
    fn accept_language_never_panics_on_header_shaped_junk(header in accept_language_like()) {
        if let Some(lang) = preferred_language(&header) {
            prop_assert!((2..=8).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase()), "{}", lang);
            prop_assert!(header.to_ascii_lowercase().contains(&lang));
        }
    }

    /// Well-formed headers: the answer is the first entry with the highest q above 0.
    #[test]
    fn accept_language_picks_the_first_highest_q(
        entries in prop::collection::vec(("[a-z]{2,3}", "(-[A-Z]{2})?", 0u16..=1000, any::<bool>()), 1..8),
    ) {
        let header = entries
            .iter()
            .map(|(primary, rest, q, explicit)| {
                if *q == 1000 && !explicit {
                    format!("{primary}{rest}")
                } else {
                    format!("{primary}{rest};q={}", format_q(*q))
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        let best = entries.iter().map(|e| e.2).max().unwrap_or(0);
        let expected = if best == 0 { None } else { entries.iter().find(|e| e.2 == best).map(|e| e.0.clone()) };
        prop_assert_eq!(preferred_language(&header), expected, "{}", header);
    }

    /// Any user agent and language header, any Fastly answer: no panic, and the
    /// invariants the scan event relies on hold.
    #[test]
    fn classify_never_panics(
        user_agent in prop::option::of(".{0,300}"),
        accept_language in prop::option::of(".{0,100}"),
        is_head in any::<bool>(),
        hints in prop::option::of((any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>())),
    ) {
        let hints = hints.map(|(is_mobile, is_tablet, is_desktop, is_bot)| DeviceHints { is_mobile, is_tablet, is_desktop, is_bot });
        let v = Visitor::classify(None, user_agent.as_deref(), accept_language.as_deref(), RequestFacts::method(is_head), Geo::default(), hints);
        prop_assert!(!is_head || v.bot, "HEAD is a bot");
        prop_assert!(v.device != DeviceClass::Bot || v.bot, "a bot device is a bot");
        prop_assert!(!hints.is_some_and(|h| h.is_bot) || v.device == DeviceClass::Bot, "Fastly's bots are bots");
        prop_assert!(!v.bot || v.class != ScanClass::Human, "a bot is never classed human");
        prop_assert_eq!(v.class == ScanClass::Human, v.class_reason.is_none(), "a reason for every class but human");
    }
}

/// A qvalue as a client writes it: `0`, `0.5`, `0.123`, `1`.
fn format_q(thousandths: u16) -> String {
    match thousandths {
        1000 => "1".into(),
        0 => "0".into(),
        t => format!("0.{t:03}").trim_end_matches('0').to_owned(),
    }
}
