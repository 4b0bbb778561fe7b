//! `ca_file`: certificate authorities a cloud store's client trusts besides the system's
//! (a private CA in front of MinIO or Ceph, a company's TLS-inspecting proxy).
//!
//! The file is PEM, one certificate or a bundle, read as every user-named file is
//! (a regular file, at most [`MAX_CA_FILE_BYTES`]). The authorities are added to the
//! system's roots (which `SSL_CERT_FILE` also extends), for every connection the client
//! makes, its credential requests included: they are put into the client options the
//! client connects with ([`Trusting`]), whatever else set those options.

use crate::config::KeyError;
use object_store::client::{ClientOptions, HttpClient, HttpConnector};
use object_store::Certificate;
use std::path::Path;

/// The largest `ca_file` read: the whole Mozilla bundle is about 220 KB.
pub(crate) const MAX_CA_FILE_BYTES: u64 = 4 << 20;

/// The authorities in `ca_file` or, when it is unset, in the file the first set variable
/// of `variables` names (`AWS_CA_BUNDLE`, as the AWS CLI reads it); none when neither is.
pub(crate) fn authorities(
    ca_file: Option<&Path>,
    variables: &[&str],
) -> Result<Vec<Certificate>, KeyError> {
    let (path, source) = match ca_file {
        Some(path) => (path.to_path_buf(), "this file".to_string()),
        None => match variables
            .iter()
            .find_map(|var| crate::config::env_value(var).map(|path| (path, *var)))
        {
            Some((path, var)) => (path.into(), format!("the file {var} names")),
            None => return Ok(Vec::new()),
        },
    };
    let problem = |message: String| KeyError::new("ca_file", message);
    let bytes = crate::file::read_regular(&path, MAX_CA_FILE_BYTES, "certificate file").map_err(
        |e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                problem(format!("{source} ({}) does not exist", path.display()))
            }
            _ => problem(format!("{source} cannot be read: {e}")),
        },
    )?;
    let certificates = Certificate::from_pem_bundle(&bytes)
        .map_err(|e| problem(format!("{source} ({}) is not PEM: {e}", path.display())))?;
    if certificates.is_empty() {
        return Err(problem(format!(
            "{source} ({}) holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
            path.display()
        )));
    }
    Ok(certificates)
}

/// A connector whose clients trust `authorities` besides what the options say.
#[derive(Debug)]
pub(crate) struct Trusting<C> {
    pub authorities: Vec<Certificate>,
    pub inner: C,
}

impl<C: HttpConnector> HttpConnector for Trusting<C> {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let options = self
            .authorities
            .iter()
            .cloned()
            .fold(options.clone(), ClientOptions::with_root_certificate);
        self.inner.connect(&options)
    }
}
