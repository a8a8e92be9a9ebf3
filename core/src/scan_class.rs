//! Who made a request, for the scan event's `class` and `class_reason`:
//! a person, a link preview, a bot, an uptime monitor, a mail or security
//! link scanner, or a browser's prefetch — decided from the request method,
//! the prefetch headers, the user agent and Fastly's device detection, with
//! the evidence named. Classification only describes a scan: it never changes
//! where the request is redirected.
//!
//! It runs on every scan, so it allocates nothing but the reason and reads the
//! lower-cased user agent in one pass over its alphanumeric words (looked up
//! in one sorted table, and as pairs), after a few prefix tests and before a
//! few byte searches.

use crate::vocabulary::ScanClass;

/// The request facts beside the user agent, read by the edge from the client request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestFacts<'a> {
    /// The method is `HEAD`.
    pub is_head: bool,
    /// `Sec-Purpose` (Chrome's prefetch and prerender: `prefetch`, `prefetch;prerender`).
    pub sec_purpose: Option<&'a str>,
    /// `Purpose` (Safari's and older Chrome's link prefetch).
    pub purpose: Option<&'a str>,
    /// `X-Moz` (Firefox's link prefetch).
    pub x_moz: Option<&'a str>,
}

impl RequestFacts<'_> {
    /// A plain `GET` (or `HEAD`) with no prefetch header.
    pub fn method(is_head: bool) -> Self {
        RequestFacts {
            is_head,
            ..RequestFacts::default()
        }
    }
}

/// Words (lower case, alphanumeric) that name a fetcher of a known class,
/// sorted for binary search (a test checks the order). The reason is `ua:` and the name.
const WORDS: &[(&str, ScanClass, &str)] = &[
    ("360jk", ScanClass::Monitor, "360jk"),
    ("acunetix", ScanClass::Scanner, "acunetix"),
    ("adbeat", ScanClass::Bot, "adbeat"),
    ("akkoma", ScanClass::Preview, "akkoma"),
    ("alwaysonline", ScanClass::Monitor, "alwaysonline"),
    ("amzn", ScanClass::Bot, "amzn"),
    ("appinsights", ScanClass::Monitor, "appinsights"),
    ("assetnote", ScanClass::Scanner, "assetnote"),
    ("barracuda", ScanClass::Scanner, "barracuda"),
    ("betteruptimebot", ScanClass::Monitor, "betteruptimebot"),
    ("bitsightbot", ScanClass::Scanner, "bitsightbot"),
    ("blackbox", ScanClass::Monitor, "blackbox-exporter"),
    ("bluesky", ScanClass::Preview, "bluesky"),
    ("bw", ScanClass::Bot, "builtwith"),
    ("cardyb", ScanClass::Preview, "bluesky"),
    ("catchpoint", ScanClass::Monitor, "catchpoint"),
    ("censysinspect", ScanClass::Scanner, "censysinspect"),
    ("checkly", ScanClass::Monitor, "checkly"),
    (
        "cloudflarediagnostics",
        ScanClass::Monitor,
        "cloudflare-diagnostics",
    ),
    (
        "cloudflareobservatory",
        ScanClass::Monitor,
        "cloudflare-observatory",
    ),
    ("collapsify", ScanClass::Bot, "collapsify"),
    ("convertify", ScanClass::Bot, "convertify"),
    ("cookiehubverify", ScanClass::Scanner, "cookiehub"),
    ("criticalcss", ScanClass::Bot, "criticalcss"),
    ("cron", ScanClass::Monitor, "cron"),
    ("dareboost", ScanClass::Monitor, "dareboost"),
    ("datadog", ScanClass::Monitor, "datadog"),
    ("datadome", ScanClass::Bot, "datadome"),
    ("datanyze", ScanClass::Bot, "datanyze"),
    ("daum", ScanClass::Bot, "daum"),
    ("daumoa", ScanClass::Bot, "daum"),
    ("detectify", ScanClass::Scanner, "detectify"),
    ("devin", ScanClass::Bot, "devin"),
    ("discordbot", ScanClass::Preview, "discordbot"),
    ("dlc", ScanClass::Bot, "dlc"),
    ("dmbrowser", ScanClass::Monitor, "dotcom-monitor"),
    ("embedly", ScanClass::Preview, "embedly"),
    ("externalagent", ScanClass::Preview, "meta-externalagent"),
    (
        "externalfetcher",
        ScanClass::Preview,
        "meta-externalfetcher",
    ),
    ("externalhit", ScanClass::Preview, "meta-externalhit"),
    (
        "facebookexternalhit",
        ScanClass::Preview,
        "facebookexternalhit",
    ),
    ("facebot", ScanClass::Preview, "facebot"),
    ("feeder", ScanClass::Bot, "feeder"),
    ("flipboardproxy", ScanClass::Preview, "flipboardproxy"),
    ("fluid", ScanClass::Bot, "fluid"),
    ("foregenix", ScanClass::Scanner, "foregenix"),
    ("freshpingbot", ScanClass::Monitor, "freshping"),
    ("friendica", ScanClass::Preview, "friendica"),
    ("functionize", ScanClass::Bot, "functionize"),
    ("fwdcdn", ScanClass::Bot, "ukrnet-mail-proxy"),
    ("gotosocial", ScanClass::Preview, "gotosocial"),
    ("gtmetrix", ScanClass::Monitor, "gtmetrix"),
    ("hardenize", ScanClass::Scanner, "hardenize"),
    ("headlesschrome", ScanClass::Bot, "headlesschrome"),
    ("hetrixtools", ScanClass::Monitor, "hetrixtools"),
    ("hlb", ScanClass::Monitor, "site24x7"),
    ("hotjar", ScanClass::Bot, "hotjar"),
    ("httrack", ScanClass::Bot, "httrack"),
    ("iframely", ScanClass::Preview, "iframely"),
    ("impact", ScanClass::Bot, "impact"),
    ("kaspersky", ScanClass::Scanner, "kaspersky"),
    ("leakix", ScanClass::Scanner, "leakix"),
    ("lemmy", ScanClass::Preview, "lemmy"),
    ("lighthouse", ScanClass::Monitor, "lighthouse"),
    ("linkedinbot", ScanClass::Preview, "linkedinbot"),
    ("linktiger", ScanClass::Bot, "linktiger"),
    ("luminator", ScanClass::Bot, "luminator"),
    ("manus", ScanClass::Bot, "manus"),
    ("mariner", ScanClass::Bot, "google-mariner"),
    ("marketgoo", ScanClass::Bot, "marketgoo"),
    ("masscan", ScanClass::Scanner, "masscan"),
    ("mastodon", ScanClass::Preview, "mastodon"),
    ("mattermost", ScanClass::Preview, "mattermost"),
    ("mediapartners", ScanClass::Bot, "mediapartners-google"),
    ("mimecast", ScanClass::Scanner, "mimecast"),
    ("miniature", ScanClass::Bot, "miniature"),
    ("misskey", ScanClass::Preview, "misskey"),
    ("mixnode", ScanClass::Bot, "mixnode"),
    ("monitorss", ScanClass::Bot, "monitorss"),
    ("nagios", ScanClass::Monitor, "nagios"),
    ("nessus", ScanClass::Scanner, "nessus"),
    ("netcraftsurveyagent", ScanClass::Scanner, "netcraft"),
    ("newsai", ScanClass::Bot, "newsai"),
    ("newsnow", ScanClass::Bot, "newsnow"),
    ("nikto", ScanClass::Scanner, "nikto"),
    ("nmap", ScanClass::Scanner, "nmap"),
    ("nodeping", ScanClass::Monitor, "nodeping"),
    ("nutch", ScanClass::Bot, "nutch"),
    ("ohdear", ScanClass::Monitor, "ohdear"),
    ("onebox", ScanClass::Preview, "onebox"),
    ("openvas", ScanClass::Scanner, "openvas"),
    ("pageburst", ScanClass::Bot, "pageburst"),
    ("pagerenderer", ScanClass::Preview, "google-pagerenderer"),
    ("pagespeed", ScanClass::Monitor, "pagespeed"),
    ("phantomjs", ScanClass::Bot, "phantomjs"),
    ("pingdom", ScanClass::Monitor, "pingdom"),
    ("pingdomtms", ScanClass::Monitor, "pingdom"),
    ("pinterestbot", ScanClass::Preview, "pinterestbot"),
    ("pleroma", ScanClass::Preview, "pleroma"),
    ("printfriendly", ScanClass::Bot, "printfriendly"),
    ("probelyspdr", ScanClass::Scanner, "probely"),
    ("prometheus", ScanClass::Monitor, "prometheus"),
    ("proofpoint", ScanClass::Scanner, "proofpoint"),
    ("ptst", ScanClass::Monitor, "webpagetest"),
    ("qualys", ScanClass::Scanner, "qualys"),
    ("readable", ScanClass::Bot, "readable"),
    ("redditbot", ScanClass::Preview, "redditbot"),
    ("rigor", ScanClass::Monitor, "rigor"),
    ("scope3", ScanClass::Bot, "scope3"),
    ("securityheaders", ScanClass::Scanner, "securityheaders"),
    ("shodan", ScanClass::Scanner, "shodan"),
    ("silktide", ScanClass::Monitor, "silktide"),
    ("sindup", ScanClass::Monitor, "sindup"),
    ("site24x7", ScanClass::Monitor, "site24x7"),
    ("siteimprove", ScanClass::Monitor, "siteimprove"),
    ("sitemaps", ScanClass::Bot, "sitemaps"),
    ("skypeuripreview", ScanClass::Preview, "skypeuripreview"),
    ("slackbot", ScanClass::Preview, "slackbot"),
    ("sparkler", ScanClass::Bot, "sparkler"),
    ("splash", ScanClass::Bot, "splash"),
    ("sqlmap", ScanClass::Scanner, "sqlmap"),
    ("sqwatcher", ScanClass::Monitor, "sqwatcher"),
    ("statuscake", ScanClass::Monitor, "statuscake"),
    ("sucuri", ScanClass::Scanner, "sucuri"),
    ("synapse", ScanClass::Preview, "synapse"),
    ("telegrambot", ScanClass::Preview, "telegrambot"),
    ("testlocally", ScanClass::Bot, "testlocally"),
    ("thousandeyes", ScanClass::Monitor, "thousandeyes"),
    ("trae", ScanClass::Bot, "trae"),
    ("tsm", ScanClass::Bot, "tsm"),
    ("twitterbot", ScanClass::Preview, "twitterbot"),
    ("unfurler", ScanClass::Preview, "unfurler"),
    ("updown", ScanClass::Monitor, "updown"),
    ("uptime", ScanClass::Monitor, "uptime"),
    ("uptimebot", ScanClass::Monitor, "uptimebot"),
    ("uptimerobot", ScanClass::Monitor, "uptimerobot"),
    ("uptimia", ScanClass::Monitor, "uptimia"),
    ("uptrends", ScanClass::Monitor, "uptrends"),
    ("virustotal", ScanClass::Scanner, "virustotal"),
    ("vkshare", ScanClass::Preview, "vkshare"),
    ("watchtowr", ScanClass::Scanner, "watchtowr"),
    ("webmoney", ScanClass::Bot, "webmoney"),
    ("websitepulse", ScanClass::Monitor, "websitepulse"),
    ("whatsapp", ScanClass::Preview, "whatsapp"),
    ("whatweb", ScanClass::Scanner, "whatweb"),
    ("wpscan", ScanClass::Scanner, "wpscan"),
    ("xmco", ScanClass::Scanner, "xmco"),
    ("ylt", ScanClass::Monitor, "yellowlab"),
    ("zabbix", ScanClass::Monitor, "zabbix"),
    ("zgrab", ScanClass::Scanner, "zgrab"),
];

/// Pairs of consecutive words that name a fetcher whose words alone say less
/// (`Google-Safety` is Google's, but most `google` words are crawlers').
const PAIRS: &[(&str, &str, ScanClass, &str)] = &[
    ("google", "safety", ScanClass::Scanner, "google-safety"),
    ("slack", "imgproxy", ScanClass::Preview, "slack-imgproxy"),
    ("check", "http", ScanClass::Monitor, "check_http"),
    ("health", "check", ScanClass::Monitor, "health-check"),
    ("chatgpt", "user", ScanClass::Bot, "chatgpt-user"),
    ("perplexity", "user", ScanClass::Bot, "perplexity-user"),
    ("claude", "user", ScanClass::Bot, "claude-user"),
    ("anthropic", "ai", ScanClass::Bot, "anthropic-ai"),
];

/// Prefixes (lower case) of programs' user agents; Viber's is its preview
/// fetcher (its in-app browser puts `Viber/` at the end instead).
const PREFIXES: &[(&str, ScanClass, &str)] = &[
    ("viber/", ScanClass::Preview, "viber"),
    ("http.rb/", ScanClass::Bot, "http.rb"),
    ("curl/", ScanClass::Bot, "curl"),
    ("wget/", ScanClass::Bot, "wget"),
    ("python", ScanClass::Bot, "python"),
    ("aiohttp/", ScanClass::Bot, "aiohttp"),
    ("go-http-client/", ScanClass::Bot, "go-http-client"),
    ("okhttp/", ScanClass::Bot, "okhttp"),
    ("java", ScanClass::Bot, "java"),
    ("apache-httpclient/", ScanClass::Bot, "apache-httpclient"),
    ("libwww-perl/", ScanClass::Bot, "libwww-perl"),
    ("axios/", ScanClass::Bot, "axios"),
    ("node-fetch", ScanClass::Bot, "node-fetch"),
    ("node", ScanClass::Bot, "node"),
    ("undici", ScanClass::Bot, "undici"),
    ("scrapy", ScanClass::Bot, "scrapy"),
    ("guzzlehttp/", ScanClass::Bot, "guzzlehttp"),
    ("postmanruntime/", ScanClass::Bot, "postman"),
    ("ruby", ScanClass::Bot, "ruby"),
    ("php", ScanClass::Bot, "php"),
    ("dalvik/", ScanClass::Bot, "dalvik"),
];

/// What every browser's user agent names of its engine (WebKit and Blink
/// say "like Gecko" too; Trident and MSIE are Internet Explorer's, Presto old Opera's).
/// The common one first: most user agents need one search.
const ENGINES: &[&str] = &["gecko", "trident", "msie", "presto"];

/// The longest word a reason repeats from the user agent.
const MAX_REASON_WORD: usize = 40;

/// The class of one request and its evidence (`None` for a human).
///
/// `lower_ua` is the classified prefix of the user agent in lower case
/// (`None` when the request had none); `is_bot_hint` is Fastly's device
/// detection. The order is the strength of the evidence: a user agent that
/// names its fetcher says the most; then Fastly's verdict; then a prefetch
/// header; then `HEAD`, which fetches no page (link checkers, and the HEADs X
/// sends with browser user agents after every share); then a user agent that
/// is absent or names no browser engine.
pub fn classify(
    lower_ua: Option<&str>,
    request: RequestFacts<'_>,
    is_bot_hint: bool,
) -> (ScanClass, Option<String>) {
    let ua = lower_ua.unwrap_or("");
    if let Some((class, reason)) = from_user_agent(ua) {
        return (class, Some(reason));
    }
    if is_bot_hint {
        return (ScanClass::Bot, Some("device:is_bot".to_owned()));
    }
    for (name, value) in [
        ("sec-purpose", request.sec_purpose),
        ("purpose", request.purpose),
        ("x-moz", request.x_moz),
    ] {
        if let Some(kind) = value.and_then(prefetch_kind) {
            return (ScanClass::Prefetch, Some(format!("header:{name}={kind}")));
        }
    }
    if request.is_head {
        return (ScanClass::Bot, Some("method:HEAD".to_owned()));
    }
    if lower_ua.is_none_or(|ua| ua.trim().is_empty()) {
        // Every browser sends a user agent; scripts often send none.
        return (ScanClass::Bot, Some("ua:none".to_owned()));
    }
    if !(ua.starts_with("mozilla/") || ua.starts_with("opera/")) {
        // Every browser and in-app web view starts with `Mozilla/` (Opera
        // Mini with `Opera/`); what does not is a program.
        return (ScanClass::Bot, Some("ua:not-a-browser".to_owned()));
    }
    if !ENGINES.iter().any(|engine| ua.contains(engine)) {
        // `Mozilla/5.0 (compatible; Fetcher/1.0)`: a browser names its engine.
        return (ScanClass::Bot, Some("ua:no-engine".to_owned()));
    }
    (ScanClass::Human, None)
}

/// `prefetch` or `prerender` when a purpose header's value asks for one.
fn prefetch_kind(value: &str) -> Option<&'static str> {
    let value = value.trim_start().as_bytes();
    let starts =
        |word: &[u8]| value.len() >= word.len() && value[..word.len()].eq_ignore_ascii_case(word);
    if !(starts(b"prefetch") || starts(b"prerender")) {
        return None;
    }
    let prerender = value
        .windows(b"prerender".len())
        .any(|w| w.eq_ignore_ascii_case(b"prerender"));
    Some(if prerender { "prerender" } else { "prefetch" })
}

/// The class a lower-case user agent names, and its reason.
fn from_user_agent(ua: &str) -> Option<(ScanClass, String)> {
    if ua.is_empty() {
        return None;
    }
    if let Some((_, class, name)) = PREFIXES.iter().find(|(p, _, _)| ua.starts_with(p)) {
        return Some((*class, format!("ua:{name}")));
    }
    let mut generic: Option<&str> = None;
    let mut previous = "";
    for word in ua
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if let Some((_, _, class, name)) = PAIRS
            .iter()
            .find(|(first, second, _, _)| *first == previous && *second == word)
        {
            return Some((*class, format!("ua:{name}")));
        }
        if let Ok(i) = WORDS.binary_search_by(|(w, _, _)| (*w).cmp(word)) {
            let (_, class, name) = WORDS[i];
            return Some((class, format!("ua:{name}")));
        }
        if generic.is_none() && generic_class(word).is_some() {
            generic = Some(word);
        }
        previous = word;
    }
    if let Some(word) = generic {
        let class = generic_class(word).unwrap_or(ScanClass::Bot);
        return Some((
            class,
            format!("ua:{}", crate::prefix(word, MAX_REASON_WORD)),
        ));
    }
    if ua.contains("://") || ua.contains("www.") {
        // Fetchers link their documentation; browsers never put a URL in their user agent.
        return Some((ScanClass::Bot, "ua:url".to_owned()));
    }
    if ua
        .split('@')
        .skip(1)
        .any(|after| after.starts_with(|c: char| c.is_ascii_alphabetic()))
    {
        // A contact address (Pleroma, Akkoma, research crawlers).
        return Some((ScanClass::Bot, "ua:contact".to_owned()));
    }
    None
}

/// The class of a word that names a kind of fetcher rather than one fetcher.
fn generic_class(word: &str) -> Option<ScanClass> {
    let ends = |suffix: &str| word.ends_with(suffix);
    if ends("preview") || ends("unfurl") || ends("imageproxy") || ends("mailproxy") {
        Some(ScanClass::Preview)
    } else if ends("monitor")
        || ends("monitoring")
        || ends("checker")
        || ends("inspector")
        || ends("healthcheck")
        || ends("synthetic")
        || ends("synthetics")
        || word.starts_with("uptime")
    {
        Some(ScanClass::Monitor)
    } else if ends("scanner") || ends("scan") || ends("scanserver") {
        Some(ScanClass::Scanner)
    } else if crate::visitor::is_bot_word(word)
        || ends("scraper")
        || ends("fetcher")
        || ends("crawl")
        || ends("archiver")
        || ends("agent")
        || ends("finder")
        || ends("measurement")
        || word == "bot"
        || word == "google"
        || word == "chatgpt"
        || word == "perplexity"
        || word == "anthropic"
        || word == "headless"
        || word == "selenium"
        || word == "puppeteer"
        || word == "playwright"
    {
        Some(ScanClass::Bot)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_sorted_for_binary_search() {
        for pair in WORDS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for (word, _, _) in WORDS {
            assert!(
                word.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{word}"
            );
        }
    }

    fn class_of(
        ua: Option<&str>,
        request: RequestFacts<'_>,
        is_bot: bool,
    ) -> (ScanClass, Option<String>) {
        let lower = ua.map(str::to_ascii_lowercase);
        classify(lower.as_deref(), request, is_bot)
    }

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

    #[test]
    fn each_signal_names_its_evidence() {
        let get = RequestFacts::default();
        for (ua, request, is_bot, class, reason) in [
            (Some(CHROME), get, false, ScanClass::Human, None),
            (Some("facebookexternalhit/1.1"), get, false, ScanClass::Preview, Some("ua:facebookexternalhit")),
            (Some("Google-Safety"), get, false, ScanClass::Scanner, Some("ua:google-safety")),
            (Some("Mozilla/5.0 (compatible; Google-Site-Verification/1.0)"), get, false, ScanClass::Bot, Some("ua:google")),
            (Some("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"), RequestFacts::method(true), false, ScanClass::Monitor, Some("ua:uptimerobot")),
            (Some("Mozilla/5.0 (compatible; YandexBot/3.0)"), get, false, ScanClass::Bot, Some("ua:yandexbot")),
            (Some(CHROME), get, true, ScanClass::Bot, Some("device:is_bot")),
            (Some(CHROME), RequestFacts { sec_purpose: Some("prefetch"), ..get }, false, ScanClass::Prefetch, Some("header:sec-purpose=prefetch")),
            (Some(CHROME), RequestFacts { sec_purpose: Some("Prefetch;prerender"), ..get }, false, ScanClass::Prefetch, Some("header:sec-purpose=prerender")),
            (Some(CHROME), RequestFacts { purpose: Some("prefetch"), ..get }, false, ScanClass::Prefetch, Some("header:purpose=prefetch")),
            (Some(CHROME), RequestFacts { x_moz: Some("prefetch"), ..get }, false, ScanClass::Prefetch, Some("header:x-moz=prefetch")),
            (Some(CHROME), RequestFacts { sec_purpose: Some("none"), ..get }, false, ScanClass::Human, None),
            (Some(CHROME), RequestFacts::method(true), false, ScanClass::Bot, Some("method:HEAD")),
            (None, get, false, ScanClass::Bot, Some("ua:none")),
            (Some("  "), get, false, ScanClass::Bot, Some("ua:none")),
            (Some("SomeApp/1.0"), get, false, ScanClass::Bot, Some("ua:not-a-browser")),
            (Some("Mozilla/5.0 (compatible; Example/1.0)"), get, false, ScanClass::Bot, Some("ua:no-engine")),
            (Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124 Safari/537.36 +https://example.com/about"), get, false, ScanClass::Bot, Some("ua:url")),
            (Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124 Safari/537.36 research@example.org"), get, false, ScanClass::Bot, Some("ua:contact")),
            (Some("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Mobile Safari/537.36 (Ecosia android@150.0.0.0)"), get, false, ScanClass::Human, None),
        ] {
            assert_eq!(class_of(ua, request, is_bot), (class, reason.map(str::to_owned)), "{ua:?} {request:?}");
        }
    }

    #[test]
    fn a_reason_repeats_at_most_a_short_word() {
        let long = format!("Mozilla/5.0 (compatible; {}bot/1.0)", "x".repeat(500));
        let (class, reason) = class_of(Some(&long), RequestFacts::default(), false);
        assert_eq!(class, ScanClass::Bot);
        assert_eq!(reason.map(|r| r.len()), Some("ua:".len() + MAX_REASON_WORD));
    }
}
