//! The closed vocabularies of records, rules and scan events — device
//! classes, operating systems, continents — each as a type with one list of
//! names. A record's names are parsed into these types once, when it is read;
//! rules compare values, error messages list the same names, and logs print them.

use serde::de::{self, Deserializer, Visitor as SerdeVisitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;

/// A type whose values are named by a fixed list.
pub trait Named: Copy + PartialEq + 'static {
    /// Every name a record may use, and the value it names.
    const NAMES: &'static [(&'static str, Self)];
    /// Whether `IOS` names the same value as `ios`.
    const IGNORE_CASE: bool;

    /// The value `text` names.
    fn parse(text: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(name, _)| {
                if Self::IGNORE_CASE {
                    name.eq_ignore_ascii_case(text)
                } else {
                    *name == text
                }
            })
            .map(|(_, value)| *value)
    }

    /// The name of a value (its first name in [`Named::NAMES`]).
    fn name_of(self) -> Option<&'static str> {
        Self::NAMES
            .iter()
            .find(|(_, value)| *value == self)
            .map(|(name, _)| *name)
    }

    /// `one of ios android …`, for error messages.
    fn expected() -> String {
        let names: Vec<&str> = Self::NAMES.iter().map(|(name, _)| *name).collect();
        format!("one of {}", names.join(" "))
    }
}

/// Deserialises a [`Named`] value, refusing any other name with the list.
fn deserialize_named<'de, D: Deserializer<'de>, T: Named>(d: D) -> Result<T, D::Error> {
    struct Names<T>(PhantomData<T>);
    impl<T: Named> SerdeVisitor<'_> for Names<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&T::expected())
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
            T::parse(text).ok_or_else(|| E::custom(format!("must be {}", T::expected())))
        }
    }
    d.deserialize_str(Names(PhantomData))
}

macro_rules! named_serde {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize_named(d)
            }
        }
    };
}

/// Device class of rule conditions and scan events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceClass {
    /// Phones.
    Mobile,
    /// Tablets.
    Tablet,
    /// Desktops and laptops.
    Desktop,
    /// Crawlers and link-preview fetchers.
    Bot,
    /// Nothing known (scan events only; no rule can name it).
    Unknown,
}

impl Named for DeviceClass {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("mobile", DeviceClass::Mobile),
        ("tablet", DeviceClass::Tablet),
        ("desktop", DeviceClass::Desktop),
        ("bot", DeviceClass::Bot),
    ];
    const IGNORE_CASE: bool = false;
}

impl DeviceClass {
    /// The name used in rules and logs.
    pub fn as_str(self) -> &'static str {
        self.name_of().unwrap_or("unknown")
    }
}

/// Operating system of rule conditions and scan events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl Named for Os {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("ios", Os::Ios),
        ("android", Os::Android),
        ("windows", Os::Windows),
        ("macos", Os::Macos),
        ("linux", Os::Linux),
        ("chromeos", Os::Chromeos),
        ("other", Os::Other),
    ];
    const IGNORE_CASE: bool = true;
}

impl Os {
    /// The name used in rules and logs.
    pub fn as_str(self) -> &'static str {
        self.name_of().unwrap_or("other")
    }
}

/// Continent, as Fastly's geolocation codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continent {
    /// Africa.
    Af,
    /// Antarctica.
    An,
    /// Asia.
    As,
    /// Europe.
    Eu,
    /// North America.
    Na,
    /// Oceania.
    Oc,
    /// South America.
    Sa,
}

impl Named for Continent {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("AF", Continent::Af),
        ("AN", Continent::An),
        ("AS", Continent::As),
        ("EU", Continent::Eu),
        ("NA", Continent::Na),
        ("OC", Continent::Oc),
        ("SA", Continent::Sa),
    ];
    const IGNORE_CASE: bool = true;
}

impl Continent {
    /// The two-letter code used in rules and logs.
    pub fn as_str(self) -> &'static str {
        self.name_of().unwrap_or("??")
    }
}

/// Who made a scan request, as scan events report it (`class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanClass {
    /// A person's browser or camera app.
    Human,
    /// A link unfurler: messengers, social networks, chat apps.
    Preview,
    /// Crawlers, scripts, AI crawlers.
    Bot,
    /// Uptime checks.
    Monitor,
    /// Mail and security link scanners.
    Scanner,
    /// A browser's prefetch or prerender.
    Prefetch,
}

impl Named for ScanClass {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("human", ScanClass::Human),
        ("preview", ScanClass::Preview),
        ("bot", ScanClass::Bot),
        ("monitor", ScanClass::Monitor),
        ("scanner", ScanClass::Scanner),
        ("prefetch", ScanClass::Prefetch),
    ];
    const IGNORE_CASE: bool = false;
}

impl ScanClass {
    /// The name scan events use.
    pub fn as_str(self) -> &'static str {
        self.name_of().unwrap_or("human")
    }
}

named_serde!(DeviceClass);
named_serde!(ScanClass);
named_serde!(Os);
named_serde!(Continent);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_has_one_name_that_parses_back() {
        for (name, os) in Os::NAMES {
            assert_eq!((os.as_str(), Os::parse(name)), (*name, Some(*os)));
        }
        for (name, device) in DeviceClass::NAMES {
            assert_eq!(
                (device.as_str(), DeviceClass::parse(name)),
                (*name, Some(*device))
            );
        }
        for (name, continent) in Continent::NAMES {
            assert_eq!(
                (continent.as_str(), Continent::parse(name)),
                (*name, Some(*continent))
            );
        }
        assert_eq!(DeviceClass::Unknown.as_str(), "unknown");
    }

    #[test]
    fn names_are_matched_as_the_contract_says() {
        assert_eq!(Os::parse("IOS"), Some(Os::Ios));
        assert_eq!(Continent::parse("eu"), Some(Continent::Eu));
        assert_eq!(DeviceClass::parse("Mobile"), None, "device names are exact");
        assert_eq!(
            DeviceClass::parse("unknown"),
            None,
            "no rule can name unknown"
        );
        assert_eq!(Os::parse("beos"), None);
    }

    #[test]
    fn refusals_list_the_names() {
        let e = serde_json::from_str::<Os>("\"beos\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("must be one of ios android windows macos linux chromeos other"),
            "{e}"
        );
        assert_eq!(serde_json::to_string(&Continent::Oc).unwrap(), "\"OC\"");
        assert_eq!(
            serde_json::from_str::<Vec<DeviceClass>>(r#"["bot","tablet"]"#).unwrap(),
            [DeviceClass::Bot, DeviceClass::Tablet]
        );
    }
}
