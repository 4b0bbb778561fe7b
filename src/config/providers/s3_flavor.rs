//! `flavor`: what an S3-compatible service needs, written once.
//!
//! Every S3-compatible service speaks the same protocol with its own endpoint form, its
//! own region names and its own gaps (Cloudflare R2 has no `If-None-Match` on copies,
//! Google's S3 interoperability endpoint no multi-object delete, SeaweedFS no byte-order
//! listing). A store says which service it is on, and [`Flavor::fill`] sets what that
//! service needs where the store left it unset: anything the store sets wins, so a
//! flavor never hides a key.

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

/// How an S3 store's listings are ordered (`list_order`).
///
/// Merged listings, `sync`, `verify` and `repair` need listings in byte order. AWS S3 and
/// MinIO list that way; SeaweedFS does not: it lists folder by folder, sorting a folder
/// `a` as `a` rather than `a/`, so `a/b` comes before `a-c` and `a.txt` (and a
/// `start-after` equal to a folder's name skips the folder). `sorted` makes any server
/// right, at a cost: stratus walks the bucket folder by folder with delimiter listings
/// (at least one request per folder instead of one per 1,000 keys), holding one
/// folder's entries per level in memory, and applies offsets itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ListOrder {
    /// As the server lists (byte order on AWS S3 and MinIO).
    #[default]
    Server,
    /// Sorted by stratus, folder by folder: for servers that do not list in byte order
    /// (SeaweedFS).
    Sorted,
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

    /// `keys` with what this flavor needs filled in where they are unset, or what is
    /// missing for it (the flavor's options are added when the client's keys are made).
    pub(super) fn fill(self, keys: FlavorKeys<'_>) -> Result<(), KeyError> {
        let name = self.name();
        let FlavorKeys {
            account,
            endpoint: endpoint_key,
            region: region_key,
            list_order,
        } = keys;
        match (self.account(), account) {
            (Some(what), None) if endpoint_key.is_none() => {
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
        let account = account.unwrap_or_default();
        let region = region_key.clone();
        let (endpoint, default_region) = match self {
            Flavor::R2 => (
                Some(format!("https://{account}.r2.cloudflarestorage.com")),
                Some("auto"),
            ),
            Flavor::B2 => match &region {
                Some(region) => (Some(format!("https://s3.{region}.backblazeb2.com")), None),
                None if endpoint_key.is_some() => (None, None),
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
                None if endpoint_key.is_some() => (None, None),
                None => return Err(needs_region("nyc3", "REGION.digitaloceanspaces.com")),
            },
            Flavor::Oci => match &region {
                Some(region) => (
                    Some(format!(
                        "https://{account}.compat.objectstorage.{region}.oraclecloud.com"
                    )),
                    None,
                ),
                None if endpoint_key.is_some() => (None, None),
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
                if endpoint_key.is_none() {
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
        if endpoint_key.is_none() {
            *endpoint_key = endpoint;
        }
        if region_key.is_none() {
            *region_key = default_region.map(str::to_string);
        }
        if self == Flavor::Seaweedfs && list_order.is_none() {
            *list_order = Some(ListOrder::Sorted);
        }
        Ok(())
    }
}

/// The keys of an `s3` store that a flavor reads (`account`) and fills where unset.
pub(super) struct FlavorKeys<'a> {
    pub(super) account: Option<&'a str>,
    pub(super) endpoint: &'a mut Option<String>,
    pub(super) region: &'a mut Option<String>,
    pub(super) list_order: &'a mut Option<ListOrder>,
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

    /// The keys a flavor reads and fills, as a store sets them.
    #[derive(Debug, Default)]
    struct Keys {
        account: Option<String>,
        endpoint: Option<String>,
        region: Option<String>,
        list_order: Option<ListOrder>,
    }

    fn filled(flavor: Flavor, edit: impl FnOnce(&mut Keys)) -> Result<Keys, KeyError> {
        let mut keys = Keys::default();
        edit(&mut keys);
        let fill = FlavorKeys {
            account: keys.account.as_deref(),
            endpoint: &mut keys.endpoint,
            region: &mut keys.region,
            list_order: &mut keys.list_order,
        };
        flavor.fill(fill).map(|()| keys)
    }

    /// A flavor, what the store sets, and the endpoint and region that come of it.
    type Case = (Flavor, fn(&mut Keys), &'static str, &'static str);

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
