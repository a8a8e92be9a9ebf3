//! Who is scanning: the facts rules match on and scan events record, and the
//! classification of raw request data (user agent, `Accept-Language`) into them.

pub use crate::scan_class::RequestFacts;
pub use crate::vocabulary::{Continent, DeviceClass, Os, ScanClass};
use std::net::IpAddr;

/// What Fastly's device detection said about a user agent, when it knew it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceHints {
    /// `is_mobile()`
    pub is_mobile: bool,
    /// `is_tablet()`
    pub is_tablet: bool,
    /// `is_desktop()`
    pub is_desktop: bool,
    /// `is_bot()`
    pub is_bot: bool,
}

/// Geolocation of the client address, as rules and logs use it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Geo {
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
    /// `CC-RR`.
    pub region: Option<String>,
    /// City name.
    pub city: Option<String>,
    /// Continent.
    pub continent: Option<Continent>,
    /// Autonomous system number.
    pub asn: Option<u32>,
}

/// How much of `User-Agent` and `Accept-Language` is classified (bytes).
pub const MAX_CLASSIFIED_HEADER: usize = 1024;

/// Everything known about the scanner of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    /// Client address.
    pub ip: Option<IpAddr>,
    /// `User-Agent`, as sent.
    pub user_agent: Option<String>,
    /// Geolocation.
    pub geo: Geo,
    /// Device class.
    pub device: DeviceClass,
    /// Operating system.
    pub os: Os,
    /// Crawler, link-preview fetcher, or a `HEAD` request.
    pub bot: bool,
    /// Who made the request (the scan event's `class`).
    pub class: ScanClass,
    /// The evidence for `class` (`ua:facebookexternalhit`, `method:HEAD`); `None` for a human.
    pub class_reason: Option<String>,
    /// Primary subtag of the most preferred `Accept-Language` entry, lower case.
    pub language: Option<String>,
}

impl Visitor {
    /// A visitor of whom nothing is known: no address, no headers, no
    /// location, no device data. Only rules that need no fact about the
    /// visitor can hold for it (the exit kit's default visitor).
    pub fn unknown() -> Visitor {
        Visitor::classify(
            None,
            None,
            None,
            RequestFacts::default(),
            Geo::default(),
            None,
        )
    }

    /// Classifies the raw request facts.
    pub fn classify(
        ip: Option<IpAddr>,
        user_agent: Option<&str>,
        accept_language: Option<&str>,
        request: RequestFacts<'_>,
        geo: Geo,
        hints: Option<DeviceHints>,
    ) -> Visitor {
        // Classification reads the first KiB only: real user agents are
        // shorter, and a 100 KB one must not cost a scan milliseconds of CPU
        // (Fastly's 50 ms per request). It is lower-cased once, on the stack.
        let mut buffer = [0u8; MAX_CLASSIFIED_HEADER];
        let lower = user_agent.map(|ua| lower_prefix(ua, &mut buffer));
        let ua = lower.unwrap_or("");
        let hint_bot = hints.is_some_and(|h| h.is_bot);
        let known_bot = hint_bot || is_bot_lower(ua);
        let (class, class_reason) = crate::scan_class::classify(lower, request, hint_bot);
        Visitor {
            ip,
            user_agent: user_agent.map(str::to_owned),
            geo,
            device: if known_bot {
                DeviceClass::Bot
            } else {
                device_class_lower(ua, hints)
            },
            os: match os_lower(ua) {
                Os::Macos if hints.is_some_and(|h| h.is_tablet) => Os::Ios,
                os => os,
            },
            // A `HEAD` fetches no page: only link checkers and preview tools send one.
            bot: known_bot || request.is_head,
            class,
            class_reason,
            language: accept_language
                .map(|header| crate::prefix(header, MAX_CLASSIFIED_HEADER))
                .and_then(preferred_language),
        }
    }
}

/// The first [`MAX_CLASSIFIED_HEADER`] bytes of `text` (cut at a character
/// boundary), ASCII lower-cased into `buffer`.
fn lower_prefix<'b>(text: &str, buffer: &'b mut [u8; MAX_CLASSIFIED_HEADER]) -> &'b str {
    let text = crate::prefix(text, MAX_CLASSIFIED_HEADER);
    let out = &mut buffer[..text.len()];
    out.copy_from_slice(text.as_bytes());
    out.make_ascii_lowercase();
    // ASCII lower-casing keeps UTF-8 valid, so this never falls back.
    std::str::from_utf8(out).unwrap_or("")
}

/// Device class from Fastly's device detection, else guessed from the user agent.
pub fn device_class(user_agent: &str, hints: Option<DeviceHints>) -> DeviceClass {
    device_class_lower(&user_agent.to_ascii_lowercase(), hints)
}

/// [`device_class`] of a lower-case user agent.
fn device_class_lower(ua: &str, hints: Option<DeviceHints>) -> DeviceClass {
    if let Some(h) = hints {
        if h.is_tablet {
            return DeviceClass::Tablet;
        }
        if h.is_mobile {
            return DeviceClass::Mobile;
        }
        if h.is_desktop {
            return DeviceClass::Desktop;
        }
    }
    let has = |marker: &str| ua.contains(marker);
    if ua.is_empty() {
        DeviceClass::Unknown
    } else if has("windows phone") || has("iemobile") {
        // Before the tablet test: Windows 10 Mobile names Android too.
        DeviceClass::Mobile
    } else if has("ipad")
        || has("tablet")
        || has("kindle")
        || has("silk/")
        || (has("android") && !has("mobile"))
    {
        // Android phones' browsers say "Mobile"; Android tablets' do not.
        DeviceClass::Tablet
    } else if has("mobile") || has("iphone") || has("ipod") || has("opera mini") {
        DeviceClass::Mobile
    } else if has("windows") || has("macintosh") || has("x11") {
        DeviceClass::Desktop
    } else {
        DeviceClass::Unknown
    }
}

/// OS of a scan: from the user agent, except that an iPad in desktop mode
/// (iPadOS Safari sends a Mac's user agent) counts as iOS when Fastly's device
/// detection says the device is a tablet.
pub fn operating_system(user_agent: &str, hints: Option<DeviceHints>) -> Os {
    match os_from_user_agent(user_agent) {
        Os::Macos if hints.is_some_and(|h| h.is_tablet) => Os::Ios,
        os => os,
    }
}

/// OS from the user agent alone; iPadOS counts as iOS, Windows Phone as other.
pub fn os_from_user_agent(user_agent: &str) -> Os {
    os_lower(&user_agent.to_ascii_lowercase())
}

/// [`os_from_user_agent`] of a lower-case user agent.
fn os_lower(ua: &str) -> Os {
    let has = |marker: &str| ua.contains(marker);
    if has("windows phone") || has("windows mobile") || has("windows ce") || has("iemobile") {
        // Checked first: these user agents also claim "Android" or "like iPhone OS".
        Os::Other
    } else if has("iphone") || has("ipad") || has("ipod") {
        Os::Ios
    } else if has("android") {
        Os::Android
    } else if has_token(ua, "cros") {
        // A whole word: "Microsoft" contains "cros" too.
        Os::Chromeos
    } else if has("windows") {
        Os::Windows
    } else if has("macintosh") || has("mac os x") {
        Os::Macos
    } else if has("linux") {
        Os::Linux
    } else {
        Os::Other
    }
}

/// Whether a lower-case user agent has `word` as a whole alphanumeric token.
fn has_token(ua: &str, word: &str) -> bool {
    tokens(ua).any(|token| token == word)
}

/// The alphanumeric runs of a user agent: `Googlebot/2.1` → `Googlebot`, `2`, `1`.
fn tokens(ua: &str) -> impl Iterator<Item = &str> {
    ua.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|token| !token.is_empty())
}

/// Substrings (lower case) that only crawlers, link-preview fetchers and
/// headless browsers put in a user agent, for those whose names do not end in "bot".
const BOT_MARKERS: &[&str] = &[
    // Link previews of chat apps and social networks. iMessage sends
    // "… facebookexternalhit/1.1 Facebot Twitterbot/1.0"; Signal sends "WhatsApp/2".
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "meta-externalfetcher",
    "whatsapp/",
    "slack-imgproxy",
    "vkshare",
    "embedly",
    "iframely",
    "mastodon/",
    "google-pagerenderer",
    "google-inspectiontool",
    "google-read-aloud",
    "mediapartners-google",
    "ia_archiver",
    // Headless browsers and auditing tools.
    "headlesschrome",
    "chrome-lighthouse",
    "phantomjs",
];

/// Prefixes (lower case) of user agents that are programs, not people: a chat
/// app's preview fetcher whose name also appears inside its in-app browser's
/// user agent, and HTTP libraries.
const BOT_PREFIXES: &[&str] = &[
    "viber/",
    "curl/",
    "wget/",
    "python-requests/",
    "python-urllib/",
    "python-httpx/",
    "aiohttp/",
    "go-http-client/",
    "okhttp/",
    "java/",
    "apache-httpclient/",
    "libwww-perl/",
    "axios/",
    "node-fetch/",
];

/// Device names that end in "bot" but are phones ("CUBOT_X19").
const BOT_LOOKALIKES: &[&str] = &["cubot"];

/// Whether a user agent is a known crawler, link-preview fetcher or HTTP
/// library. Crawlers name themselves with a word ending in "bot" (Googlebot,
/// bingbot, Twitterbot, LinkedInBot, TelegramBot, Discordbot, Applebot,
/// Slackbot-LinkExpanding, Pinterestbot, redditbot, DuckDuckBot, YandexBot),
/// "spider" (Baiduspider), "crawler", "slurp" (Yahoo) or "preview"
/// (SkypeUriPreview, BingPreview). Words are matched whole, so "Bottle/1.0"
/// is no crawler, and phones whose names end in "bot" (Cubot) are excepted.
pub fn is_bot_user_agent(user_agent: &str) -> bool {
    is_bot_lower(&user_agent.to_ascii_lowercase())
}

/// [`is_bot_user_agent`] of a lower-case user agent.
fn is_bot_lower(ua: &str) -> bool {
    BOT_MARKERS.iter().any(|marker| ua.contains(marker))
        || BOT_PREFIXES.iter().any(|prefix| ua.starts_with(prefix))
        || tokens(ua).any(is_bot_word)
}

/// One user-agent word that names a crawler.
pub(crate) fn is_bot_word(word: &str) -> bool {
    (word.ends_with("bot") && !BOT_LOOKALIKES.contains(&word))
        || word.ends_with("spider")
        || word.ends_with("crawler")
        || word.ends_with("preview")
        || word == "slurp"
}

/// Primary subtag of the most preferred `Accept-Language` entry (RFC 9110
/// §12.5.4): the highest q wins and the earlier entry wins a tie; `*`, q=0 and
/// entries that are not language ranges never win. Junk is skipped, never an
/// error: a malformed q-value drops its entry, and `en_US` is read as `en-US`.
pub fn preferred_language(header: &str) -> Option<String> {
    let mut best: Option<(u16, &str)> = None;
    for entry in header.split(',') {
        let mut parts = entry.split(';');
        let range = parts.next().unwrap_or("").trim();
        let weight = parts
            .filter_map(|param| param.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1000), |(_, value)| parse_quality(value.trim()));
        let Some(weight) = weight else { continue };
        let primary = range.split(['-', '_']).next().unwrap_or("");
        if weight == 0 || !is_primary_subtag(primary) {
            continue;
        }
        if best.is_none_or(|(q, _)| weight > q) {
            best = Some((weight, primary));
        }
    }
    best.map(|(_, primary)| primary.to_ascii_lowercase())
}

/// A BCP 47 primary language subtag: 2–8 ASCII letters (`x` and `i`, the
/// private-use and grandfathered prefixes, name no language).
pub fn is_primary_subtag(text: &str) -> bool {
    (2..=8).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphabetic())
}

/// An RFC 9110 qvalue in thousandths: `0`, `0.5`, `1`, `1.000`; anything else is `None`.
fn parse_quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |acc, digit| acc * 10 + u16::from(digit - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
    const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
    const PIXEL: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";
    const GALAXY_TAB: &str = "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
    const FIREFOX_ANDROID_TABLET: &str =
        "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0";
    const KINDLE: &str = "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/124.1.1 like Chrome/124.0.0.0 Safari/537.36";
    const CUBOT: &str = "Mozilla/5.0 (Linux; Android 10; CUBOT_X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";
    const WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
    const MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";
    const CROS: &str = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
    const LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
    const UBUNTU: &str =
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
    const WINDOWS_PHONE_8: &str = "Mozilla/5.0 (Mobile; Windows Phone 8.1; Android 4.0; ARM; Trident/7.0; Touch; rv:11.0; IEMobile/11.0; NOKIA; Lumia 635) like iPhone OS 7_0_3 Mac OS X AppleWebKit/537 (KHTML, like Gecko) Mobile Safari/537";
    const WINDOWS_PHONE_10: &str = "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063";
    const OUTLOOK: &str =
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)";
    const FREEBSD: &str = "Mozilla/5.0 (X11; FreeBSD amd64; rv:125.0) Gecko/20100101 Firefox/125.0";

    const TABLET: DeviceHints = DeviceHints {
        is_mobile: false,
        is_tablet: true,
        is_desktop: false,
        is_bot: false,
    };
    const DESKTOP: DeviceHints = DeviceHints {
        is_mobile: false,
        is_tablet: false,
        is_desktop: true,
        is_bot: false,
    };

    #[test]
    fn os_from_real_user_agents() {
        for (ua, os) in [
            (IPHONE, Os::Ios),
            (IPAD, Os::Ios),
            (PIXEL, Os::Android),
            (GALAXY_TAB, Os::Android),
            (FIREFOX_ANDROID_TABLET, Os::Android),
            (KINDLE, Os::Android),
            (WINDOWS, Os::Windows),
            (MAC, Os::Macos),
            (CROS, Os::Chromeos),
            (LINUX, Os::Linux),
            (UBUNTU, Os::Linux),
            (WINDOWS_PHONE_8, Os::Other),
            (WINDOWS_PHONE_10, Os::Other),
            (OUTLOOK, Os::Windows),
            (FREEBSD, Os::Other),
            ("", Os::Other),
            (
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                Os::Other,
            ),
        ] {
            assert_eq!(os_from_user_agent(ua), os, "{ua}");
        }
    }

    #[test]
    fn an_ipad_in_desktop_mode_counts_as_ios_when_fastly_says_tablet() {
        assert_eq!(operating_system(MAC, Some(TABLET)), Os::Ios);
        assert_eq!(operating_system(MAC, Some(DESKTOP)), Os::Macos);
        assert_eq!(operating_system(MAC, None), Os::Macos);
        assert_eq!(operating_system(GALAXY_TAB, Some(TABLET)), Os::Android);
        let v = Visitor::classify(
            None,
            Some(MAC),
            None,
            RequestFacts::default(),
            Geo::default(),
            Some(TABLET),
        );
        assert_eq!((v.os, v.device), (Os::Ios, DeviceClass::Tablet));
    }

    #[test]
    fn device_from_hints_first() {
        assert_eq!(device_class(IPHONE, Some(TABLET)), DeviceClass::Tablet);
        assert_eq!(device_class(IPHONE, Some(DESKTOP)), DeviceClass::Desktop);
        let mobile = DeviceHints {
            is_mobile: true,
            ..DeviceHints::default()
        };
        assert_eq!(device_class(WINDOWS, Some(mobile)), DeviceClass::Mobile);
        // Fastly knew the agent but it is none of the three (a smart TV): the user agent decides.
        assert_eq!(
            device_class(IPHONE, Some(DeviceHints::default())),
            DeviceClass::Mobile
        );
    }

    #[test]
    fn device_from_the_user_agent_when_fastly_has_no_answer() {
        for (ua, class) in [
            (IPHONE, DeviceClass::Mobile),
            (PIXEL, DeviceClass::Mobile),
            (CUBOT, DeviceClass::Mobile),
            (WINDOWS_PHONE_8, DeviceClass::Mobile),
            (WINDOWS_PHONE_10, DeviceClass::Mobile),
            (IPAD, DeviceClass::Tablet),
            (GALAXY_TAB, DeviceClass::Tablet),
            (FIREFOX_ANDROID_TABLET, DeviceClass::Tablet),
            (KINDLE, DeviceClass::Tablet),
            (WINDOWS, DeviceClass::Desktop),
            (MAC, DeviceClass::Desktop),
            (CROS, DeviceClass::Desktop),
            (LINUX, DeviceClass::Desktop),
            ("", DeviceClass::Unknown),
            ("SomeApp/1.0", DeviceClass::Unknown),
        ] {
            assert_eq!(device_class(ua, None), class, "{ua}");
        }
    }

    #[test]
    fn crawlers_and_link_preview_fetchers_are_bots() {
        for ua in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
            "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
            "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
            "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
            // iMessage's link preview.
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
            "Twitterbot/1.0",
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Slack-ImgProxy (+https://api.slack.com/robots)",
            "WhatsApp/2.23.20.0 A",
            "WhatsApp/2",
            "TelegramBot (like TwitterBot)",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)",
            "Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)",
            "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com",
            "Viber/20.9.0.8 CFNetwork/1410.0.3 Darwin/22.6.0",
            "Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)",
            "Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)",
            "Mozilla/5.0 (compatible; Snap URL Preview Service; bot; snapchat; https://developers.snap.com/robots)",
            "http.rb/5.1.1 (Mastodon/4.1.2; +https://mastodon.social/)",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
            "curl/8.5.0",
            "python-requests/2.31.0",
            "Go-http-client/1.1",
        ] {
            assert!(is_bot_user_agent(ua), "{ua}");
            let v = Visitor::classify(None, Some(ua), None, RequestFacts::default(), Geo::default(), None);
            assert_eq!((v.bot, v.device), (true, DeviceClass::Bot), "{ua}");
        }
    }

    #[test]
    fn only_the_first_kib_of_a_header_is_classified() {
        let padded =
            |tail: &str| format!("Mozilla/5.0 {}{tail}", "x".repeat(MAX_CLASSIFIED_HEADER));
        let v = Visitor::classify(
            None,
            Some(&padded("Googlebot/2.1")),
            None,
            RequestFacts::default(),
            Geo::default(),
            None,
        );
        assert!(!v.bot, "a marker past the first KiB is not read");
        let v = Visitor::classify(
            None,
            Some("Googlebot/2.1"),
            None,
            RequestFacts::default(),
            Geo::default(),
            None,
        );
        assert!(v.bot);
        let language = format!("{},fr", "x".repeat(MAX_CLASSIFIED_HEADER));
        let v = Visitor::classify(
            None,
            None,
            Some(&language),
            RequestFacts::default(),
            Geo::default(),
            None,
        );
        assert_eq!(
            v.language, None,
            "the preferred language past the first KiB is not read"
        );
        assert_eq!(v.user_agent, None);
    }

    #[test]
    fn people_are_not_bots() {
        for ua in [
            IPHONE, IPAD, PIXEL, GALAXY_TAB, KINDLE, CUBOT, WINDOWS, MAC, CROS, LINUX, WINDOWS_PHONE_10, OUTLOOK,
            // In-app browsers of the apps whose fetchers are bots.
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0.0.38.108;FBBV/586386414]",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.230803.041; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.0.0 Mobile Safari/537.36 Instagram 330.0.0.40.92 Android",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) discord/1.0.9147 Chrome/124.0.0.0 Electron/30.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Viber/21.5.0",
            "Bottle/1.0",
            "",
        ] {
            assert!(!is_bot_user_agent(ua), "{ua}");
        }
        let cubot = Visitor::classify(
            None,
            Some(CUBOT),
            None,
            RequestFacts::default(),
            Geo::default(),
            None,
        );
        assert_eq!(
            (cubot.bot, cubot.device, cubot.os),
            (false, DeviceClass::Mobile, Os::Android)
        );
    }

    #[test]
    fn fastly_bots_and_head_requests_are_bots() {
        let flagged = DeviceHints {
            is_bot: true,
            ..DeviceHints::default()
        };
        let v = Visitor::classify(
            None,
            Some("ExoticAgent/1.0"),
            None,
            RequestFacts::default(),
            Geo::default(),
            Some(flagged),
        );
        assert_eq!((v.bot, v.device), (true, DeviceClass::Bot));
        let head = Visitor::classify(
            None,
            Some(IPHONE),
            None,
            RequestFacts::method(true),
            Geo::default(),
            None,
        );
        assert!(head.bot);
        assert_eq!(
            head.device,
            DeviceClass::Mobile,
            "a HEAD is a bot for analytics but keeps its device class"
        );
        assert!(
            !Visitor::classify(
                None,
                Some(IPHONE),
                None,
                RequestFacts::default(),
                Geo::default(),
                None
            )
            .bot
        );
        assert!(
            !Visitor::classify(
                None,
                None,
                None,
                RequestFacts::default(),
                Geo::default(),
                None
            )
            .bot
        );
    }

    #[test]
    fn accept_language_picks_the_most_preferred() {
        for (header, expected) in [
            ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", Some("fr")),
            ("en;q=0.5, de-AT;q=0.9, fr;q=0.1", Some("de")),
            ("en-US,en;q=0.9,fr;q=0.8", Some("en")),
            ("*, DE;q=0.3", Some("de")),
            ("fr;q=0, es;q=0.2", Some("es")),
            ("fr;q=abc, ;;, en_GB;q=0.7", Some("en")),
            (",,;q=x,*", None),
            ("en;q=0.5, de;q=0.9", Some("de")),
            ("en;q=0.5, de;q=0.500", Some("en")),
            ("*, fr;q=0.5", Some("fr")),
            ("de;q=0, en;q=0.1", Some("en")),
            ("EN-us", Some("en")),
            ("zh-Hant-TW;q=1.000, en;q=0.999", Some("zh")),
            ("en_US", Some("en")),
            ("en;Q=0.2, fr ; q = 0.3", Some("fr")),
            ("en;q=2, ;;, fr", Some("fr")),
            ("en;q=0.0001, pt-BR;q=.5, es;q=0.1", Some("es")),
            ("en;q=abc, it;level=1", Some("it")),
            ("x-klingon, i-default;q=1, ja;q=0.1", Some("ja")),
            ("de;q=1.", Some("de")),
            ("*", None),
            ("de;q=0", None),
            ("", None),
            (",,,;;;===", None),
            ("français, 日本語", None),
        ] {
            assert_eq!(
                preferred_language(header).as_deref(),
                expected,
                "{header:?}"
            );
        }
    }
}
