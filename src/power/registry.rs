//! The registry of power-source kinds: everything edgewatt knows about each kind of source,
//! in one table ([`super::KINDS`]), from which the rest of the crate works.
//!
//! Config parsing ([`SourceChoice`], the `[power.<name>]` sections of
//! [`PowerConfig`]) and validation ([`PowerConfig::check`]), `auto`
//! detection and opening ([`super::detect`]), `edgewatt sensors`, `config check` (which
//! opens file-backed sources such as a replay trace) and every message that lists the
//! sources read it. A source kind is declared by the `KIND` constant in its own file and
//! registered with one line of the `power_sources!` invocation in `power/mod.rs`, which
//! also adds its config section; see ARCHITECTURE.md.

use std::fmt::Write as _;

use serde::Deserialize;
use serde::Deserializer;
use serde::Serialize;
use serde::Serializer;

use super::config::BadValue;
use super::PowerConfig;
use super::PowerError;
use super::PowerSource;
use super::SourceId;
use super::KINDS;

/// How a source is found.
#[derive(Debug, Clone, Copy)]
pub enum Detect {
    /// A sensor that may be on this machine: `auto` tries it (in registry order) and
    /// `edgewatt sensors` always looks for it.
    Probe,
    /// Something that needs configuring (a trace to replay): used only when
    /// `power.source` names it; `edgewatt sensors` shows it when this says the
    /// configuration gives it what it needs.
    WhenConfigured(fn(&PowerConfig) -> bool),
}

/// One kind of power source.
#[derive(Debug)]
pub struct SourceKind {
    /// Its wire id. `id.name()` is its name in `power.source`, its config section
    /// (`[power.<name>]`), records and text output.
    pub id: SourceId,
    pub detect: Detect,
    /// What it measures, one line (`edgewatt sensors --help`, docs/POWER.md).
    pub measures: &'static str,
    /// What it misses, one line.
    pub misses: &'static str,
    /// Opens it from the configuration; [`PowerError::Absent`] when it is not there.
    pub open: fn(&PowerConfig) -> Result<Box<dyn PowerSource>, PowerError>,
    /// Checks its section (`chosen`: `power.source` names this kind). Every section is
    /// checked whichever source is chosen: a key in the file is checked even if unused.
    pub check: fn(&PowerConfig, chosen: bool) -> Result<(), BadValue>,
    /// For a source that needs no hardware (a file): the key under `[power]` naming it;
    /// `config check` opens the source when it is chosen and reports under this key.
    pub file_key: Option<&'static str>,
}

impl SourceKind {
    /// Its name: `power.source` value, config section, record and output name.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.id.name()
    }

    /// Whether `edgewatt sensors` looks for it with this configuration.
    #[must_use]
    pub fn shown_by_sensors(&self, cfg: &PowerConfig) -> bool {
        match self.detect {
            Detect::Probe => true,
            Detect::WhenConfigured(configured) => configured(cfg),
        }
    }

    /// Whether `auto` tries it.
    #[must_use]
    pub const fn is_probed(&self) -> bool {
        matches!(self.detect, Detect::Probe)
    }
}

/// The kind with this wire id (every [`SourceId`] has one: a test checks it).
#[must_use]
pub fn kind(id: SourceId) -> Option<&'static SourceKind> {
    KINDS.iter().copied().find(|k| k.id == id)
}

/// The kind named `name` in the configuration, if any.
#[must_use]
pub fn by_name(name: &str) -> Option<&'static SourceKind> {
    KINDS.iter().copied().find(|k| k.name() == name)
}

/// The kinds `auto` tries, in order.
pub fn probed() -> impl Iterator<Item = &'static SourceKind> {
    KINDS.iter().copied().filter(|k| k.is_probed())
}

/// `ina219, pmic, rapl`: the names of the kinds `auto` tries, in order.
#[must_use]
pub fn probed_names() -> String {
    probed()
        .map(SourceKind::name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `auto (ina219, then pmic, then rapl), ina219, pmic, rapl, replay or none`: every value
/// `power.source` accepts.
#[must_use]
pub fn choices_text() -> String {
    let auto: Vec<&str> = probed().map(SourceKind::name).collect();
    let mut text = format!("auto ({})", auto.join(", then "));
    for k in KINDS {
        let _ = write!(text, ", {}", k.name());
    }
    text.push_str(" or none");
    text
}

/// `edgewatt sensors --help`: the sources, with what each measures and misses.
#[must_use]
pub fn sensors_help() -> String {
    let mut text = format!(
        "Detect power sources and show live V, A, W.\n\nSettings come from the configuration's \
         [power] section (--config), overridden by the flags below. Sources, in the order \
         `power.source = \"auto\"` tries them ({}):",
        probed_names()
    );
    for k in KINDS {
        let when = if k.is_probed() {
            ""
        } else {
            " (only when configured)"
        };
        let _ = write!(
            text,
            "\n  {}{when}\n      measures: {}\n      misses: {}",
            k.name(),
            k.measures,
            k.misses
        );
    }
    text
}

/// `power.source`: `auto` (the first source present), one kind, or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceChoice {
    /// The first source that is present, in registry order (see [`probed`]).
    #[default]
    Auto,
    /// This source and no other.
    Only(SourceId),
    /// No measured power; runs get estimates only.
    None,
}

impl SourceChoice {
    /// The value as written in the configuration.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Only(id) => id.name(),
            Self::None => "none",
        }
    }

    /// The kind chosen by name (`None` for `auto` and `none`).
    #[must_use]
    pub fn kind(self) -> Option<&'static SourceKind> {
        match self {
            Self::Only(id) => kind(id),
            Self::Auto | Self::None => None,
        }
    }

    /// Parses a `power.source` value; the error lists every accepted value.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(Self::Auto),
            "none" => Ok(Self::None),
            _ => by_name(text).map(|k| Self::Only(k.id)).ok_or_else(|| {
                format!("unknown power source {text:?}: expected {}", choices_text())
            }),
        }
    }
}

impl Serialize for SourceChoice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for SourceChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Declares [`PowerConfig`] with one section per source kind and the [`KINDS`] table, in
/// the order given (the order `auto` tries sensors). Each entry is `name: ConfigType`,
/// where module `name` has `pub const KIND: SourceKind` and `name::ConfigType` is the type
/// of `[power.name]` (serde, with `Default`).
macro_rules! power_sources {
    ($($(#[$doc:meta])* $name:ident: $config:ident),+ $(,)?) => {
        /// The `[power]` section of the configuration file: which source, and one section
        /// per source kind (see [`config`] for the keys).
        #[derive(Debug, Clone, PartialEq, Eq, Default, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct PowerConfig {
            pub source: $crate::power::registry::SourceChoice,
            $($(#[$doc])* pub $name: $name::$config,)+
        }

        /// Every kind of power source, in the order `auto` tries them.
        pub const KINDS: &[&$crate::power::registry::SourceKind] = &[$(&$name::KIND),+];
    };
}
pub(super) use power_sources;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_name_every_kind_and_parse_back() {
        let text = choices_text();
        let auto = format!(
            "auto ({}), ",
            probed()
                .map(SourceKind::name)
                .collect::<Vec<_>>()
                .join(", then ")
        );
        assert!(
            text.starts_with(&auto) && text.ends_with(" or none"),
            "{text}"
        );
        for k in KINDS {
            assert!(text.contains(&format!(", {}", k.name())), "{text}");
            assert_eq!(SourceChoice::parse(k.name()), Ok(SourceChoice::Only(k.id)));
            assert_eq!(SourceChoice::Only(k.id).name(), k.name());
        }
        assert_eq!(SourceChoice::parse("auto"), Ok(SourceChoice::Auto));
        assert_eq!(SourceChoice::parse("none"), Ok(SourceChoice::None));
        let err = SourceChoice::parse("ina226").unwrap_err();
        assert_eq!(
            err,
            format!("unknown power source \"ina226\": expected {text}")
        );
    }
}
