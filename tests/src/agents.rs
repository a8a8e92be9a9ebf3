//! Owns the user agents the tests send: one list, so that the strings that
//! `fixtures/devices.json` (Viceroy's device detection) is keyed by are spelt
//! once. Plain constants with no dependency, so that `core/tests` can include
//! this file too (`#[path]`) for its synthetic visitors.
//!
//! The first group is in `fixtures/devices.json`: Fastly answers for them, as
//! the comment says. The second is not: Fastly has no answer and the service
//! classifies the user agent itself. `tests/tests/targeting.rs` checks both
//! groups against the fixture.

// ---- in fixtures/devices.json ----------------------------------------------

/// iPhone, Safari (Fastly: mobile).
pub const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
/// iPad, Safari (Fastly: tablet).
pub const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
/// Pixel 8, Chrome (Fastly: mobile).
pub const PIXEL: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";
/// Windows, Chrome (Fastly: desktop).
pub const WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
/// macOS, Safari (Fastly: desktop).
pub const MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";
/// Googlebot (Fastly: bot).
pub const GOOGLEBOT: &str =
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
/// Facebook's link-preview fetcher (Fastly: bot).
pub const FACEBOOK: &str =
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)";
/// Samsung Galaxy Tab, Chrome (Fastly: tablet).
pub const GALAXY_TAB: &str = "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
/// iPadOS Safari in desktop mode: a Mac's user agent (Fastly: tablet).
pub const IPAD_DESKTOP_MODE: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
/// Chromebook (Fastly: desktop).
pub const CHROMEBOOK: &str = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
/// Linux desktop, Firefox (Fastly: desktop).
pub const LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
/// Slack's link unfurler (Fastly: bot).
pub const SLACKBOT: &str = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";

/// Every agent above: the keys of `fixtures/devices.json`.
pub const IN_DEVICE_FIXTURE: [&str; 12] = [
    IPHONE,
    IPAD,
    PIXEL,
    WINDOWS,
    MAC,
    GOOGLEBOT,
    FACEBOOK,
    GALAXY_TAB,
    IPAD_DESKTOP_MODE,
    CHROMEBOOK,
    LINUX,
    SLACKBOT,
];

// ---- not in fixtures/devices.json: the user agent decides ------------------

/// WhatsApp's link-preview fetcher.
pub const WHATSAPP: &str = "WhatsApp/2.23.20.0 A";
/// iMessage's link preview.
pub const IMESSAGE: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0";
/// A Cubot phone: a name ending in "bot" that is no crawler.
pub const CUBOT: &str = "Mozilla/5.0 (Linux; Android 10; CUBOT_X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";
/// Windows 10 Mobile, which also claims Android.
pub const WINDOWS_PHONE: &str = "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063";
/// An Android tablet Fastly does not know.
pub const UNKNOWN_ANDROID_TABLET: &str = "Mozilla/5.0 (Linux; Android 12; Lenovo TB-X606F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

/// Every agent of this group: none may be a key of `fixtures/devices.json`.
pub const NOT_IN_DEVICE_FIXTURE: [&str; 5] = [
    WHATSAPP,
    IMESSAGE,
    CUBOT,
    WINDOWS_PHONE,
    UNKNOWN_ANDROID_TABLET,
];
