//! A presigned URL: anyone holding it may GET (or PUT) one object until it expires, with
//! no credentials. Signing is local (no request is sent); the store's provider must be
//! S3, GCS or Azure. `stratus sign STORE KEY` (cli/) does this for a store of a file.
//!
//! ```text
//! cargo run --example sign
//! cargo run --example sign -- fixtures/stores/emulators.toml seaweedfs docs/report.pdf
//! ```

use std::time::Duration;
use stratus::object_store::signer::Method;
use stratus::Config;

/// An S3 store with made-up credentials: a signature needs them, not a server.
const EXAMPLE: &str = r#"
[stores.aws]
provider = "s3"
bucket = "my-bucket"
region = "eu-west-1"
access_key_id = "AKIAEXAMPLE"
secret_access_key = "example-secret-key"
"#;

#[tokio::main]
async fn main() -> stratus::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (config, store, key) = match args.as_slice() {
        [file, store, key] => (Config::load(file)?, store.as_str(), key.as_str()),
        _ => (
            Config::from_toml(EXAMPLE, "example", ".")?,
            "aws",
            "docs/report.pdf",
        ),
    };
    let signer = config.signer(store)?;
    // Text a person typed as a key: every character kept (`café`, `a#b`).
    let key = stratus::key::parse_key(key)?;
    for (method, expires) in [(Method::GET, 3600), (Method::PUT, 600)] {
        let url = signer
            .signed_url(method.clone(), &key, Duration::from_secs(expires))
            .await
            .map_err(|e| stratus::Error::in_store(store, e))?;
        println!("{method} for {expires} s: {url}");
    }
    Ok(())
}
