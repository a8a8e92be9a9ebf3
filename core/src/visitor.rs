//! Who is scanning: the facts rules match on and scan events record, and the
//! classification of raw request data (user agent, `Accept-Language`) into them.

use serde::Serialize;
use std::net::IpAddr;

/// Device class of rule conditions and scan events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceClass {
    /// Phones.
    Mobile,
    /// Tablets.
    Tablet,
    /// Desktops and laptops.
    Desktop,
    /// Crawlers and link-preview fetchers.
    Bot,
    /// Nothing known.
    Unknown,
}

impl DeviceClass {
    /// The name used in rules and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceClass::Mobile => "mobile",
            DeviceClass::Tablet => "tablet",
            DeviceClass::Desktop => "desktop",
            DeviceClass::Bot => "bot",
            DeviceClass::Unknown => "unknown",
        }
    }
}

/// Operating system of rule conditions and scan events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    /// iOS and iPadOS.
    Ios,
    /// Android.
    Android,
    /// Windows.
    Windows,
    /// macOS.
    Macos,
    /// Linux other than Android and ChromeOS.
    Linux,
    /// ChromeOS.
    Chromeos,
    /// Anything else, or no user agent.
    Other,
}

impl Os {
    /// The name used in rules and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Os::Ios => "ios",
            Os::Android => "android",
            Os::Windows => "windows",
            Os::Macos => "macos",
            Os::Linux => "linux",
            Os::Chromeos => "chromeos",
            Os::Other => "other",
        }
    }
}

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
    /// Continent code, e.g. `EU`.
    pub continent: Option<String>,
    /// Autonomous system number.
    pub asn: Option<u32>,
}

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
    /// Primary subtag of the most preferred `Accept-Language` entry, lower case.
    pub language: Option<String>,
}

impl Visitor {
    /// Classifies the raw request facts.
    pub fn classify(
        ip: Option<IpAddr>,
        user_agent: Option<&str>,
        accept_language: Option<&str>,
        is_head: bool,
        geo: Geo,
        hints: Option<DeviceHints>,
    ) -> Visitor {
        let ua = user_agent.unwrap_or("");
        let bot = is_head || hints.is_some_and(|h| h.is_bot) || is_bot_user_agent(ua);
        let device = if hints.is_some_and(|h| h.is_bot) || is_bot_user_agent(ua) {
            DeviceClass::Bot
        } else {
            device_class(ua, hints)
        };
        Visitor {
            ip,
            user_agent: user_agent.map(str::to_owned),
            geo,
            device,
            os: os_from_user_agent(ua),
            bot,
            language: accept_language.and_then(preferred_language),
        }
    }
}

/// Device class from Fastly's device detection, else guessed from the user agent.
pub fn device_class(user_agent: &str, hints: Option<DeviceHints>) -> DeviceClass {
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
    let ua = user_agent.to_ascii_lowercase();
    if ua.is_empty() {
        DeviceClass::Unknown
    } else if ua.contains("ipad") || ua.contains("tablet") || (ua.contains("android") && !ua.contains("mobile")) {
        DeviceClass::Tablet
    } else if ua.contains("mobile") || ua.contains("iphone") || ua.contains("ipod") {
        DeviceClass::Mobile
    } else if ua.contains("windows") || ua.contains("macintosh") || ua.contains("x11") || ua.contains("cros") {
        DeviceClass::Desktop
    } else {
        DeviceClass::Unknown
    }
}

/// OS from the user agent; iPadOS counts as iOS.
pub fn os_from_user_agent(user_agent: &str) -> Os {
    let ua = user_agent.to_ascii_lowercase();
    if ua.contains("iphone") || ua.contains("ipad") || ua.contains("ipod") {
        Os::Ios
    } else if ua.contains("android") {
        Os::Android
    } else if ua.contains("cros") {
        Os::Chromeos
    } else if ua.contains("windows") {
        Os::Windows
    } else if ua.contains("mac os x") || ua.contains("macintosh") {
        Os::Macos
    } else if ua.contains("linux") || ua.contains("x11") {
        Os::Linux
    } else {
        Os::Other
    }
}

/// Known crawlers and link-preview fetchers, by user-agent substring (lower case).
const BOT_MARKERS: [&str; 12] = [
    "bot", "crawler", "spider", "slurp", "facebookexternalhit", "whatsapp", "slack", "discord",
    "telegram", "preview", "curl/", "python-requests",
];

/// Whether a user agent is a known crawler or link-preview fetcher.
pub fn is_bot_user_agent(user_agent: &str) -> bool {
    let ua = user_agent.to_ascii_lowercase();
    BOT_MARKERS.iter().any(|marker| ua.contains(marker))
}

/// Primary subtag of the most preferred `Accept-Language` entry (RFC 9110
/// §12.5.4): highest q wins, earlier wins ties, `*` and q=0 never win, junk is skipped.
pub fn preferred_language(header: &str) -> Option<String> {
    let mut best: Option<(u16, &str)> = None;
    for entry in header.split(',') {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let quality = parts
            .find_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .map_or(Some(1000), parse_quality);
        let Some(quality) = quality else { continue };
        let primary = tag.split('-').next().unwrap_or("");
        let valid = (1..=8).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
        if quality == 0 || !valid {
            continue;
        }
        if best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, primary));
        }
    }
    best.map(|(_, primary)| primary.to_ascii_lowercase())
}

/// An RFC 9110 qvalue in thousandths: `0`, `0.5`, `1.000`.
fn parse_quality(text: &str) -> Option<u16> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{frac:0<3}").parse::<u16>().ok()?;
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
    const WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
    const MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";
    const CROS: &str = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
    const LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";

    #[test]
    fn os_from_real_user_agents() {
        assert_eq!(os_from_user_agent(IPHONE), Os::Ios);
        assert_eq!(os_from_user_agent(IPAD), Os::Ios);
        assert_eq!(os_from_user_agent(PIXEL), Os::Android);
        assert_eq!(os_from_user_agent(WINDOWS), Os::Windows);
        assert_eq!(os_from_user_agent(MAC), Os::Macos);
        assert_eq!(os_from_user_agent(CROS), Os::Chromeos);
        assert_eq!(os_from_user_agent(LINUX), Os::Linux);
        assert_eq!(os_from_user_agent(""), Os::Other);
    }

    #[test]
    fn device_from_hints_then_user_agent() {
        let tablet = DeviceHints { is_tablet: true, ..DeviceHints::default() };
        assert_eq!(device_class(IPHONE, Some(tablet)), DeviceClass::Tablet);
        assert_eq!(device_class(IPHONE, None), DeviceClass::Mobile);
        assert_eq!(device_class(IPAD, None), DeviceClass::Tablet);
        assert_eq!(device_class(WINDOWS, None), DeviceClass::Desktop);
        assert_eq!(device_class("", None), DeviceClass::Unknown);
    }

    #[test]
    fn bots_and_head_requests_are_bots() {
        let v = Visitor::classify(None, Some("facebookexternalhit/1.1"), None, false, Geo::default(), None);
        assert!(v.bot);
        assert_eq!(v.device, DeviceClass::Bot);
        let head = Visitor::classify(None, Some(IPHONE), None, true, Geo::default(), None);
        assert!(head.bot);
        assert_eq!(head.device, DeviceClass::Mobile);
        assert!(!Visitor::classify(None, Some(IPHONE), None, false, Geo::default(), None).bot);
    }

    #[test]
    fn accept_language_picks_the_most_preferred() {
        assert_eq!(preferred_language("fr-CH, fr;q=0.9, en;q=0.8").as_deref(), Some("fr"));
        assert_eq!(preferred_language("en;q=0.5, de;q=0.9").as_deref(), Some("de"));
        assert_eq!(preferred_language("*, fr;q=0.5").as_deref(), Some("fr"));
        assert_eq!(preferred_language("de;q=0, en;q=0.1").as_deref(), Some("en"));
        assert_eq!(preferred_language("EN-us").as_deref(), Some("en"));
        assert_eq!(preferred_language("en;q=2, ;;, fr").as_deref(), Some("fr"));
        assert_eq!(preferred_language(""), None);
    }
}
