//! `flavor`: what an S3-compatible service needs, written once.
//!
//! Every S3-compatible service speaks the same protocol with its own endpoint form, its
//! own region names and its own gaps (Cloudflare R2 has no `If-None-Match` on copies,
//! Google's S3 interoperability endpoint no multi-object delete, SeaweedFS no byte-order
//! listing). A store says which service it is on, and [`Flavor::fill`] sets what that
//! service needs where the store left it unset: anything the store sets wins, so a
//! flavor never hides a key.

use super::s3::{ListOrder, S3Config};
use crate::config::KeyError;
use serde::Deserialize;

/// The S3-compatible service an `s3` store is on (`flavor`).
///
/// | flavor | needs | sets, where the store does not |
/// |---|---|---|
/// | `r2` | `account` (Cloudflare account id) | `endpoint = "https://ACCOUNT.r2.cloudflarestorage.com"`, `region = "auto"`, `aws_copy_if_not_exists = "header: cf-copy-destination-if-none-match: *"` |
/// | `b2` | `region` (e.g. `us-west-004`) | `endpoint = "https://s3.REGION.backblazeb2.com"` |
/// | `wasabi` | | `endpoint = "https://s3.REGION.wasabisys.com"`, `region = "us-east-1"` |
/// | `spaces` | `region` (e.g. `nyc3`) | `endpoint = "https://REGION.digitaloceanspaces.com"` |
/// | `oci` | `account` (the tenancy's namespace), `region` | `endpoint = "https://NAMESPACE.compat.objectstorage.REGION.oraclecloud.com"` |
/// | `gcs-hmac` | HMAC keys as `access_key_id` / `secret_access_key` | `endpoint = "https://storage.googleapis.com"`, `region = "auto"`, `aws_disable_bulk_delete = true` |
/// | `minio`, `ceph` | `endpoint` | `region = "us-east-1"` |
/// | `seaweedfs` | `endpoint` | `region = "us-east-1"`, `list_order = "sorted"` |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Flavor {
    /// Cloudflare R2.
    R2,
    /// Backblaze B2's S3-compatible API.
    B2,
    /// Wasabi.
    Wasabi,
    /// DigitalOcean Spaces.
    Spaces,
    /// Oracle Cloud Infrastructure Object Storage's Amazon S3 Compatibility API.
    Oci,
    /// Google Cloud Storage through its XML API with HMAC keys.
    GcsHmac,
    /// MinIO.
    Minio,
    /// Ceph's RADOS Gateway.
    Ceph,
    /// SeaweedFS's S3 gateway.
    Seaweedfs,
}

/// An object_store option a flavor sets (an `AmazonS3ConfigKey` name) and its value.
#[cfg(feature = "aws")]
pub(super) type FlavorOption = (&'static str, &'static str);

impl Flavor {
    /// Its name in a config file.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::R2 => "r2",
            Flavor::B2 => "b2",
            Flavor::Wasabi => "wasabi",
            Flavor::Spaces => "spaces",
            Flavor::Oci => "oci",
            Flavor::GcsHmac => "gcs-hmac",
            Flavor::Minio => "minio",
            Flavor::Ceph => "ceph",
            Flavor::Seaweedfs => "seaweedfs",
        }
    }

    /// What `account` is for this flavor, when it takes one.
    fn account(self) -> Option<&'static str> {
        match self {
            Flavor::R2 => Some("the Cloudflare account id"),
            Flavor::Oci => Some("the tenancy's Object Storage namespace"),
            _ => None,
        }
    }

    /// The object_store options this flavor needs, set where the store's `options` do not
    /// set the same key.
    #[cfg(feature = "aws")]
    pub(super) fn options(self) -> &'static [FlavorOption] {
        match self {
            // R2 refuses `If-None-Match` on a copy; it has its own header for it.
            Flavor::R2 => &[(
                "aws_copy_if_not_exists",
                "header: cf-copy-destination-if-none-match: *",
            )],
            // Google's XML API does not take S3's multi-object delete (POST ?delete).
            Flavor::GcsHmac => &[("aws_disable_bulk_delete", "true")],
            _ => &[],
        }
    }

    /// `config` with what this flavor needs filled in where it is unset, or what is
    /// missing for it. `config.flavor` is left as it is (its options are added when the
    /// client's keys are made).
    pub(super) fn fill(self, config: &mut S3Config) -> Result<(), KeyError> {
        let name = self.name();
        match (self.account(), &config.account) {
            (Some(what), None) if config.endpoint.is_none() => {
                return Err(KeyError::new(
                    "account",
                    format!("flavor `{name}` needs `account`: {what} (or set `endpoint`)"),
                ))
            }
            (None, Some(_)) => {
                return Err(KeyError::new(
                    "account",
                    format!("is not used by flavor `{name}` (only by `r2` and `oci`)"),
                ))
            }
            (Some(_), Some(account)) => {
                check_label(account).map_err(|message| KeyError::new("account", message))?
            }
            _ => {}
        }
        let needs_region = |example: &str, endpoint: &str| {
            KeyError::new(
                "region",
                format!(
                    "flavor `{name}` needs the bucket's `region` (e.g. `{example}`): its \
                     endpoint is {endpoint} (or set `endpoint`)"
                ),
            )
        };
        let account = config.account.clone().unwrap_or_default();
        let region = config.region.clone();
        let (endpoint, default_region) = match self {
            Flavor::R2 => (
                Some(format!("https://{account}.r2.cloudflarestorage.com")),
                Some("auto"),
            ),
            Flavor::B2 => match &region {
                Some(region) => (Some(format!("https://s3.{region}.backblazeb2.com")), None),
                None if config.endpoint.is_some() => (None, None),
                None => return Err(needs_region("us-west-004", "s3.REGION.backblazeb2.com")),
            },
            Flavor::Wasabi => {
                let region = region.as_deref().unwrap_or("us-east-1");
                (
                    Some(format!("https://s3.{region}.wasabisys.com")),
                    Some("us-east-1"),
                )
            }
            Flavor::Spaces => match &region {
                Some(region) => (
                    Some(format!("https://{region}.digitaloceanspaces.com")),
                    None,
                ),
                None if config.endpoint.is_some() => (None, None),
                None => return Err(needs_region("nyc3", "REGION.digitaloceanspaces.com")),
            },
            Flavor::Oci => match &region {
                Some(region) => (
                    Some(format!(
                        "https://{account}.compat.objectstorage.{region}.oraclecloud.com"
                    )),
                    None,
                ),
                None if config.endpoint.is_some() => (None, None),
                None => {
                    return Err(needs_region(
                        "eu-frankfurt-1",
                        "NAMESPACE.compat.objectstorage.REGION.oraclecloud.com",
                    ))
                }
            },
            Flavor::GcsHmac => (
                Some("https://storage.googleapis.com".to_string()),
                Some("auto"),
            ),
            Flavor::Minio | Flavor::Ceph | Flavor::Seaweedfs => {
                if config.endpoint.is_none() {
                    return Err(KeyError::new(
                        "endpoint",
                        format!(
                            "flavor `{name}` needs `endpoint`: the server's URL, e.g. \
                             http://127.0.0.1:9000 (with `allow_http = true` for http)"
                        ),
                    ));
                }
                (None, Some("us-east-1"))
            }
        };
        if config.endpoint.is_none() {
            config.endpoint = endpoint;
        }
        if config.region.is_none() {
            config.region = default_region.map(str::to_string);
        }
        if self == Flavor::Seaweedfs && config.list_order.is_none() {
            config.list_order = Some(ListOrder::Sorted);
        }
        Ok(())
    }
}

/// An account id or namespace becomes part of a host name: one DNS label.
fn check_label(text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= 63
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err("is not an account id or namespace (letters, digits and `-`, at most 63)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(flavor: Flavor, edit: impl FnOnce(&mut S3Config)) -> Result<S3Config, KeyError> {
        let mut config = S3Config::new("b");
        edit(&mut config);
        flavor.fill(&mut config).map(|()| config)
    }

    /// A flavor, what the store sets, and the endpoint and region that come of it.
    type Case = (Flavor, fn(&mut S3Config), &'static str, &'static str);

    #[test]
    fn each_flavor_fills_its_endpoint_and_region() {
        let cases: [Case; 6] = [
            (
                Flavor::R2,
                |c| c.account = Some("0123abcd".into()),
                "https://0123abcd.r2.cloudflarestorage.com",
                "auto",
            ),
            (
                Flavor::B2,
                |c| c.region = Some("us-west-004".into()),
                "https://s3.us-west-004.backblazeb2.com",
                "us-west-004",
            ),
            (
                Flavor::Wasabi,
                |_| {},
                "https://s3.us-east-1.wasabisys.com",
                "us-east-1",
            ),
            (
                Flavor::Spaces,
                |c| c.region = Some("ams3".into()),
                "https://ams3.digitaloceanspaces.com",
                "ams3",
            ),
            (
                Flavor::Oci,
                |c| {
                    c.account = Some("axaxnpcrorw5".into());
                    c.region = Some("eu-frankfurt-1".into());
                },
                "https://axaxnpcrorw5.compat.objectstorage.eu-frankfurt-1.oraclecloud.com",
                "eu-frankfurt-1",
            ),
            (
                Flavor::GcsHmac,
                |_| {},
                "https://storage.googleapis.com",
                "auto",
            ),
        ];
        for (flavor, edit, endpoint, region) in cases {
            let config = filled(flavor, edit).unwrap();
            assert_eq!(config.endpoint.as_deref(), Some(endpoint), "{flavor:?}");
            assert_eq!(config.region.as_deref(), Some(region), "{flavor:?}");
        }
    }

    #[test]
    fn what_the_store_sets_wins() {
        let config = filled(Flavor::R2, |c| {
            c.endpoint = Some("https://acct.eu.r2.cloudflarestorage.com".into());
            c.region = Some("eu".into());
        })
        .unwrap();
        assert_eq!(
            config.endpoint.as_deref(),
            Some("https://acct.eu.r2.cloudflarestorage.com")
        );
        assert_eq!(config.region.as_deref(), Some("eu"));
        let config = filled(Flavor::Seaweedfs, |c| {
            c.endpoint = Some("http://127.0.0.1:8333".into());
            c.list_order = Some(ListOrder::Server);
        })
        .unwrap();
        assert_eq!(config.list_order, Some(ListOrder::Server));
        let config = filled(Flavor::Seaweedfs, |c| {
            c.endpoint = Some("http://127.0.0.1:8333".into());
        })
        .unwrap();
        assert_eq!(config.list_order, Some(ListOrder::Sorted));
        assert_eq!(config.region.as_deref(), Some("us-east-1"));
    }

    #[test]
    fn what_a_flavor_lacks_is_named_with_the_key() {
        let cases = [
            (
                filled(Flavor::R2, |_| {}),
                "account",
                "Cloudflare account id",
            ),
            (filled(Flavor::B2, |_| {}), "region", "us-west-004"),
            (filled(Flavor::Spaces, |_| {}), "region", "nyc3"),
            (
                filled(Flavor::Oci, |c| c.account = Some("ns".into())),
                "region",
                "oraclecloud.com",
            ),
            (filled(Flavor::Minio, |_| {}), "endpoint", "server's URL"),
            (
                filled(Flavor::Wasabi, |c| c.account = Some("x".into())),
                "account",
                "not used",
            ),
            (
                filled(Flavor::R2, |c| c.account = Some("a.evil.com/x".into())),
                "account",
                "not an account id",
            ),
        ];
        for (result, key, words) in cases {
            let e = result.unwrap_err();
            assert_eq!(e.key, key, "{}", e.message);
            assert!(e.message.contains(words), "{}", e.message);
        }
    }
}
