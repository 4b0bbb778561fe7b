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

/// `text` read; `key` names where it came from in errors.
pub(super) fn parse(text: &str, key: &str) -> Result<Connection, KeyError> {
    let error = |what: String| KeyError::new(key, what);
    let mut connection = Connection::default();
    let (mut protocol, mut suffix) = (None, None);
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = part.split_once('=') else {
            return Err(error(
                "is not a connection string: each part is `Name=value`, parts separated by `;`"
                    .into(),
            ));
        };
        let value = value.trim().to_string();
        let slot = match name.trim().to_ascii_lowercase().as_str() {
            "accountname" => &mut connection.account,
            "accountkey" => &mut connection.key,
            "sharedaccesssignature" => &mut connection.sas,
            "blobendpoint" => &mut connection.endpoint,
            "defaultendpointsprotocol" => &mut protocol,
            "endpointsuffix" => &mut suffix,
            "usedevelopmentstorage" => {
                connection.emulator = value.eq_ignore_ascii_case("true");
                continue;
            }
            // Other services' endpoints, and names a newer SDK may add.
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(error(format!("gives `{}` twice", name.trim())));
        }
    }
    if connection.emulator {
        if connection.account.is_some() || connection.key.is_some() || connection.endpoint.is_some()
        {
            return Err(error(
                "sets UseDevelopmentStorage=true and an account or endpoint: Azurite's \
                 connection string is UseDevelopmentStorage=true alone, or its account, key \
                 and BlobEndpoint written out"
                    .into(),
            ));
        }
        return Ok(connection);
    }
    if connection.account.is_none() {
        return Err(error("has no AccountName".into()));
    }
    if connection.key.is_some() && connection.sas.is_some() {
        return Err(error(
            "gives both AccountKey and SharedAccessSignature: give one".into(),
        ));
    }
    if connection.endpoint.is_none() {
        if let Some(suffix) = suffix {
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
                "UseDevelopmentStorage=true and an account",
            ),
            (
                "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=hunter2secret",
                "https only",
            ),
        ] {
            let err = parse(text, "connection_string").unwrap_err();
            assert_eq!(err.key, "connection_string");
            assert!(err.message.contains(says), "{text}: {}", err.message);
            assert!(!err.message.contains("hunter2"), "{}", err.message);
        }
    }
}
