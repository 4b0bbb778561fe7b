//! The `options` table: any further object_store option for a provider, validated by
//! object_store's own config-key parsing.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use super::KeyError;

/// A scalar option value; TOML/JSON numbers and booleans are passed on as text, which is
/// what object_store's `with_config` takes.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OptionValue {
    /// Text, e.g. `"30s"` or `"dynamo:table"`.
    String(String),
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Integer(i64),
    /// A number with a fraction.
    Float(f64),
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(s) => f.write_str(s),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Integer(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x}"),
        }
    }
}

/// Provider options by object_store key. `Debug` shows the keys but never the values,
/// since an option may carry a credential (`aws_secret_access_key`, `azure_storage_sas_key`...).
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Options(pub BTreeMap<String, OptionValue>);

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

impl Options {
    /// The values of options whose names say they hold a credential.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|(key, value)| match value {
            OptionValue::String(s) if super::secret::is_secret_key(key) => Some(s.as_str()),
            _ => None,
        })
    }

    /// Parse every key with object_store's parser for the provider, `K`.
    ///
    /// `dedicated` maps a parsed key to the name of the stratus key that sets the same
    /// thing; such an option is refused, so that one setting has one place.
    #[cfg_attr(
        not(any(feature = "aws", feature = "gcp", feature = "azure")),
        allow(dead_code)
    )]
    pub(crate) fn parse<K: FromStr>(
        &self,
        provider: &str,
        dedicated: impl Fn(&K) -> Option<&'static str>,
    ) -> Result<Vec<(K, String)>, KeyError> {
        self.0
            .iter()
            .map(|(name, value)| {
                let key_path = format!("options.{name}");
                let key = K::from_str(name).map_err(|_| {
                    KeyError::new(
                        key_path.clone(),
                        format!(
                            "`{name}` is not an object_store option for {provider} (see the \
                             object_store docs for the {provider} config keys and their aliases)"
                        ),
                    )
                })?;
                if let Some(ours) = dedicated(&key) {
                    return Err(KeyError::new(
                        key_path,
                        format!("set `{ours}` in the store itself, not in `options`"),
                    ));
                }
                Ok((key, value.to_string()))
            })
            .collect()
    }
}
