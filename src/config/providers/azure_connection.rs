//! Azure Storage connection strings (`connection_string`, `AZURE_STORAGE_CONNECTION_STRING`),
//! as the Azure SDKs, `az` and azcopy take them: `Key=Value` pairs separated by `;`.
//!
//! `AccountName`, `AccountKey`, `SharedAccessSignature`, `BlobEndpoint`,
//! `DefaultEndpointsProtocol` with `EndpointSuffix`, and `UseDevelopmentStorage=true`
//! (Azurite) are read; the endpoints of the other services (`QueueEndpoint`, ...) are
//! ignored, as a blob client ignores them. No message quotes a value.

use crate::config::KeyError;

/// What a connection string says about the blob service.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Connection {
    pub account: Option<String>,
    pub key: Option<String>,
    pub sas: Option<String>,
    /// The blob service's URL, from `BlobEndpoint` or the protocol and suffix.
    pub endpoint: Option<String>,
    /// `UseDevelopmentStorage=true`: Azurite with its well-known account.
    pub emulator: bool,
}

/// The parts of `text` that are secrets (`AccountKey`, `SharedAccessSignature`): what no
/// error may show. The rest (account, endpoints) names the store's place.
pub(super) fn secret_parts(text: &str) -> Vec<&str> {
    text.split(';')
        .filter_map(|part| part.split_once('='))
        .filter(|(name, _)| {
            let name = name.trim().to_ascii_lowercase();
            name == "accountkey" || name == "sharedaccesssignature"
        })
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
        .collect()
}

/// An account name is what Azure allows (letters and digits, at most 24): it becomes part
/// of a host name (`ACCOUNT.blob.core.windows.net`), where `127.0.0.1:1/x` would send
/// requests signed with the account key elsewhere.
pub(super) fn check_account(account: &str) -> Result<(), String> {
    let ok = !account.is_empty()
        && account.len() <= 24
        && account.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err("is not a storage account name (letters and digits, at most 24)".into())
    }
}

/// `text` read; `key` names where it came from in errors.
pub(super) fn parse(text: &str, key: &str) -> Result<Connection, KeyError> {
    let error = |what: String| KeyError::new(key, what);
    let mut connection = Connection::default();
    let (mut protocol, mut suffix) = (None, None);
    let mut seen_emulator = false;
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = part.split_once('=') else {
            return Err(error(
                "is not a connection string: each part is `Name=value`, parts separated by `;`"
                    .into(),
            ));
        };
        let value = value.trim().to_string();
        let lower = name.trim().to_ascii_lowercase();
        // The part's name, never its value, may be quoted.
        let shown: String = name.trim().chars().take(40).collect();
        if value.is_empty() {
            return Err(error(format!("gives `{shown}` empty")));
        }
        let mut emulator = None;
        let slot = match lower.as_str() {
            "accountname" => &mut connection.account,
            "accountkey" => &mut connection.key,
            "sharedaccesssignature" => &mut connection.sas,
            "blobendpoint" => &mut connection.endpoint,
            "defaultendpointsprotocol" => &mut protocol,
            "endpointsuffix" => &mut suffix,
            "usedevelopmentstorage" => &mut emulator,
            // The other services' endpoints: a blob client has no use for them.
            "queueendpoint"
            | "tableendpoint"
            | "fileendpoint"
            | "blobsecondaryendpoint"
            | "queuesecondaryendpoint"
            | "tablesecondaryendpoint"
            | "filesecondaryendpoint" => continue,
            // A typo (`AcountKey`) would leave the store without its key, signing as no
            // one: refused.
            _ => {
                return Err(error(format!(
                    "has a part `{shown}`, which no connection string has"
                )))
            }
        };
        let twice = if lower == "usedevelopmentstorage" {
            let set = seen_emulator;
            seen_emulator = true;
            connection.emulator = value.eq_ignore_ascii_case("true");
            set
        } else {
            slot.replace(value).is_some()
        };
        if twice {
            return Err(error(format!("gives `{shown}` twice")));
        }
    }
    if seen_emulator {
        let others = connection.account.is_some()
            || connection.key.is_some()
            || connection.sas.is_some()
            || connection.endpoint.is_some()
            || protocol.is_some()
            || suffix.is_some();
        if !connection.emulator || others {
            return Err(error(
                "sets UseDevelopmentStorage with other parts: Azurite's connection string \
                 is UseDevelopmentStorage=true alone, or its account, key and BlobEndpoint \
                 written out"
                    .into(),
            ));
        }
        return Ok(connection);
    }
    match &connection.account {
        None => return Err(error("has no AccountName".into())),
        Some(account) => {
            check_account(account).map_err(|m| error(format!("its AccountName {m}")))?
        }
    }
    if connection.key.is_some() && connection.sas.is_some() {
        return Err(error(
            "gives both AccountKey and SharedAccessSignature: give one".into(),
        ));
    }
    if connection.endpoint.is_none() {
        if let Some(suffix) = suffix {
            // It becomes part of a host name.
            let host_like = suffix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !host_like {
                return Err(error(
                    "its EndpointSuffix is not a domain name (e.g. core.windows.net)".into(),
                ));
            }
            let protocol = protocol.as_deref().unwrap_or("https");
            let account = connection.account.as_deref().unwrap_or_default();
            connection.endpoint = Some(format!("{protocol}://{account}.blob.{suffix}"));
        } else if protocol
            .as_deref()
            .is_some_and(|p| !p.eq_ignore_ascii_case("https"))
        {
            return Err(error(
                "sets DefaultEndpointsProtocol to other than https without a BlobEndpoint \
                 or EndpointSuffix: the public endpoint is https only"
                    .into(),
            ));
        }
    }
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azurite_and_azure_connection_strings() {
        let azurite = parse(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;\
             AccountKey=Eby8vdM0==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
            "connection_string",
        )
        .unwrap();
        assert_eq!(azurite.account.as_deref(), Some("devstoreaccount1"));
        // A value keeps its own `=`.
        assert_eq!(azurite.key.as_deref(), Some("Eby8vdM0=="));
        assert_eq!(
            azurite.endpoint.as_deref(),
            Some("http://127.0.0.1:10000/devstoreaccount1")
        );
        let azure = parse(
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=k;\
             EndpointSuffix=core.chinacloudapi.cn",
            "connection_string",
        )
        .unwrap();
        assert_eq!(
            azure.endpoint.as_deref(),
            Some("https://acme.blob.core.chinacloudapi.cn")
        );
        let sas = parse(
            "BlobEndpoint=https://acme.blob.core.windows.net;AccountName=acme;\
             SharedAccessSignature=sv=2022-11-02&ss=b&sig=abc%3D",
            "connection_string",
        )
        .unwrap();
        assert_eq!(sas.sas.as_deref(), Some("sv=2022-11-02&ss=b&sig=abc%3D"));
        let dev = parse("UseDevelopmentStorage=true", "connection_string").unwrap();
        assert!(dev.emulator);
        assert_eq!(
            secret_parts("AccountName=a;AccountKey=k1==;BlobEndpoint=http://h;SharedAccessSignature=sv=1&sig=x"),
            ["k1==", "sv=1&sig=x"]
        );
    }

    #[test]
    fn bad_strings_are_named_without_their_values() {
        for (text, says) in [
            ("AccountName=acme;AccountKey", "is not a connection string"),
            ("AccountKey=hunter2secret", "has no AccountName"),
            (
                "AccountName=a;AccountKey=hunter2secret;AccountKey=hunter2secret",
                "twice",
            ),
            (
                "AccountName=a;AccountKey=hunter2secret;SharedAccessSignature=sig=hunter2secret",
                "both AccountKey and SharedAccessSignature",
            ),
            (
                "UseDevelopmentStorage=true;AccountName=a;AccountKey=hunter2secret",
                "with other parts",
            ),
            (
                "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=hunter2secret",
                "https only",
            ),
            (
                "AccountName=a;AcountKey=hunter2secret",
                "a part `AcountKey`",
            ),
            ("AccountName=a;AccountKey=", "gives `AccountKey` empty"),
            (
                "AccountName=127.0.0.1:1/x;AccountKey=hunter2secret",
                "not a storage account name",
            ),
            (
                "AccountName=a;AccountKey=hunter2secret;EndpointSuffix=evil.example/x",
                "not a domain name",
            ),
            (
                "UseDevelopmentStorage=true;UseDevelopmentStorage=false",
                "twice",
            ),
            (
                "UseDevelopmentStorage=true;EndpointSuffix=x.net",
                "with other parts",
            ),
        ] {
            let err = parse(text, "connection_string").unwrap_err();
            assert_eq!(err.key, "connection_string");
            assert!(err.message.contains(says), "{text}: {}", err.message);
            assert!(!err.message.contains("hunter2"), "{}", err.message);
        }
    }
}
