//! The AWS shared files (`~/.aws/credentials`, `~/.aws/config`) for `s3` stores, read as
//! the AWS CLI, boto3 and s5cmd read them: a profile's static keys and session token, its
//! `credential_process` ([`super::aws_process`]) or its `role_arn` ([`super::aws_role`]),
//! its region and its `endpoint_url`. object_store reads only the `AWS_*` variables, web
//! identity and the metadata services.
//!
//! Which profile: the store's `profile` key, else `AWS_PROFILE`, else `default`. Where:
//! `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`, else `~/.aws/credentials` and
//! `~/.aws/config` (`[name]` in the first, `[profile name]` in the second, `[default]`
//! in both). The credentials file wins where both give a key; as for the AWS CLI, a
//! `role_arn` comes first, then static keys in the credentials file, then a
//! `credential_process`, then static keys in the config file. A role is assumed with its
//! `source_profile` (that profile's keys or process when it has static keys in either
//! file, as botocore decides; else its own role: a chain, cycles refused; else its
//! process) or `credential_source` (`Environment`, `Ec2InstanceMetadata`,
//! `EcsContainer`). Profiles that take another identity stratus does not take on (SSO,
//! web identity in a profile, an MFA code) are refused by name, not passed over for the
//! metadata service.

use crate::config::KeyError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A shared file is read up to this size; longer ones are refused (a real one holds a
/// few profiles, a few hundred bytes each).
const FILE_LIMIT: u64 = 1 << 20;

/// What a profile gives.
#[derive(Default)]
pub(super) struct Profile {
    pub name: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// The command line that prints the keys, when the profile's keys come from one.
    pub credential_process: Option<String>,
    /// The role the profile acts as (`role_arn`), when it names one: it comes before
    /// the profile's own keys and process, as for the AWS CLI.
    pub role: Option<Box<Role>>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// A profile's `role_arn`, assumed through STS ([`super::aws_role`]).
pub(super) struct Role {
    pub arn: String,
    /// The credentials that ask for the role.
    pub source: Source,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    pub duration_seconds: Option<u32>,
}

/// Where the credentials that assume a role come from.
pub(super) enum Source {
    /// `source_profile`: that profile's keys, its `credential_process`, or the role it
    /// assumes in turn (a chain).
    Profile(Profile),
    /// `credential_source = Environment`: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`.
    Environment,
    /// `credential_source = Ec2InstanceMetadata`: the instance's role, from the metadata
    /// service (object_store's provider).
    Ec2InstanceMetadata,
    /// `credential_source = EcsContainer`: the container's credentials
    /// (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, or `..._FULL_URI` with
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`; object_store's provider).
    EcsContainer,
}

impl Profile {
    /// Whether the profile gives static keys.
    pub fn has_keys(&self) -> bool {
        self.access_key_id.is_some()
    }

    /// The secrets this profile and the profiles its role is assumed with hold.
    pub fn secrets(&self) -> Vec<String> {
        let mut all: Vec<String> = [&self.secret_access_key, &self.session_token]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if let Some(Role {
            source: Source::Profile(source),
            ..
        }) = self.role.as_deref()
        {
            all.extend(source.secrets());
        }
        all
    }
}

/// Profiles a role's `source_profile` chain may pass through (the AWS CLI has no limit
/// but refuses a cycle; a real chain is two or three long).
const MAX_CHAIN: usize = 8;

/// The profile the store's `profile` key (`named`) or the environment selects. `None`
/// when none is named and no `default` profile exists; an error when a named one does not
/// exist, a file cannot be read, or the profile needs a credential source stratus does not
/// run.
pub(super) fn load(named: Option<&str>) -> Result<Option<Profile>, KeyError> {
    load_with(named, &|name| std::env::var(name).ok())
}

/// [`load`] with the environment variables `var` gives.
fn load_with(
    named: Option<&str>,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Profile>, KeyError> {
    let env = |name: &str| var(name).filter(|v| !v.is_empty());
    // AWS_DEFAULT_PROFILE: the AWS CLI v1's name for it, still read by botocore.
    let from_env = env("AWS_PROFILE").or_else(|| env("AWS_DEFAULT_PROFILE"));
    let (name, asked) = match (named, &from_env) {
        (Some(name), _) => (name.to_string(), true),
        (None, Some(name)) => (name.clone(), true),
        (None, None) => ("default".to_string(), false),
    };
    let home = env("HOME").map(PathBuf::from);
    let path = |var: &str, file: &str| {
        env(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(file)))
    };
    let credentials_path = path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config_path = path("AWS_CONFIG_FILE", "config");
    let files = Files {
        credentials: read(credentials_path.as_deref())?,
        config: read(config_path.as_deref())?,
        credentials_path,
        config_path,
    };
    if !files.has(&name) {
        if !asked {
            return Ok(None);
        }
        let by = if named.is_some() {
            "this store's `profile`"
        } else {
            "AWS_PROFILE"
        };
        return Err(files.missing(&name, by));
    }
    files.profile(&name, &[]).map(Some)
}

/// The two shared files, parsed (`None`: no such file), and where they are.
struct Files {
    credentials: Option<Sections>,
    config: Option<Sections>,
    credentials_path: Option<PathBuf>,
    config_path: Option<PathBuf>,
}

/// A section's keys and values.
type Section = HashMap<String, Option<String>>;

impl Files {
    /// Profile `name`'s section in the credentials file (`[name]`) and in the config file
    /// (`[profile name]`; `default` may also be written `[default]`).
    fn sections(&self, name: &str) -> (Option<&Section>, Option<&Section>) {
        let in_credentials = self.credentials.as_ref().and_then(|f| f.get(name));
        // `[profile NAME]` with any whitespace between the two words, as botocore splits it.
        let in_config = self.config.as_ref().and_then(|f| {
            f.iter()
                .find(|(section, _)| {
                    let mut words = section.split_whitespace();
                    words.next() == Some("profile")
                        && words.next() == Some(name)
                        && words.next().is_none()
                })
                .map(|(_, keys)| keys)
                .or_else(|| f.get("default").filter(|_| name == "default"))
        });
        (in_credentials, in_config)
    }

    /// Whether profile `name` has `aws_access_key_id` or `aws_secret_access_key` in
    /// either file (botocore's test for taking a source profile's own credentials rather
    /// than its role, and for allowing it to be its own source).
    fn has_static_keys(&self, name: &str) -> bool {
        let (a, b) = self.sections(name);
        [a, b].into_iter().any(|section| {
            value(section, "aws_access_key_id").is_some()
                || value(section, "aws_secret_access_key").is_some()
        })
    }

    fn has(&self, name: &str) -> bool {
        let (a, b) = self.sections(name);
        a.is_some() || b.is_some()
    }

    /// "profile `name` (named by `by`) is in neither file".
    fn missing(&self, name: &str, by: &str) -> KeyError {
        let shown = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or("(no HOME)".to_string(), |p| p.display().to_string())
        };
        KeyError::new(
            "profile",
            format!(
                "the AWS profile `{name}` ({by}) is in neither {} nor {}",
                shown(&self.credentials_path),
                shown(&self.config_path)
            ),
        )
    }

    /// Profile `name`, which exists; `chain`: the profiles whose role it is the source
    /// of, nearest last.
    fn profile(&self, name: &str, chain: &[&str]) -> Result<Profile, KeyError> {
        let (in_credentials, in_config) = self.sections(name);
        let problem = |message: String| {
            KeyError::new("profile", format!("the AWS profile `{name}` {message}"))
        };
        // The credentials file first: where both files give a key, its value is the one used.
        let get = |key: &str| value(in_credentials, key).or_else(|| value(in_config, key));
        // Keys and token are a set, taken from one file: the credentials file when its
        // section has a key, else the config file (never a key from one and a token from
        // the other).
        let has_keys = |section: Option<&Section>| {
            value(section, "aws_access_key_id").is_some()
                || value(section, "aws_secret_access_key").is_some()
        };
        let process = get("credential_process").filter(|_| !has_keys(in_credentials));
        let keys_from = if has_keys(in_credentials) {
            in_credentials
        } else if process.is_some() {
            None
        } else {
            in_config
        };
        let mut profile = Profile {
            access_key_id: value(keys_from, "aws_access_key_id"),
            secret_access_key: value(keys_from, "aws_secret_access_key"),
            session_token: value(keys_from, "aws_session_token"),
            credential_process: process,
            role: None,
            region: get("region"),
            endpoint_url: get("endpoint_url"),
            name: name.to_string(),
        };
        if profile.access_key_id.is_some() != profile.secret_access_key.is_some() {
            return Err(problem(
                "gives only one of aws_access_key_id and aws_secret_access_key (in one \
                 file: the AWS CLI takes them as a pair)"
                    .into(),
            ));
        }
        // What makes the AWS CLI act as an identity stratus does not take on: refused,
        // with or without static keys, not passed over for the metadata service.
        let refused = ["web_identity_token_file", "mfa_serial"]
            .into_iter()
            .map(str::to_string)
            .find(|key| get(key).is_some())
            .or_else(|| {
                [in_credentials, in_config]
                    .into_iter()
                    .flatten()
                    .flat_map(|section| section.keys())
                    .find(|key| key.to_ascii_lowercase().starts_with("sso_"))
                    .map(|key| key.to_ascii_lowercase())
            });
        if let Some(key) = refused {
            return Err(problem(format!(
                "gets its credentials by `{key}`, which stratus does not do yet; export \
                 them instead (`aws configure export-credentials --profile {name} --format \
                 env`), or give a profile with static keys, a credential_process or a \
                 role_arn"
            )));
        }
        let Some(arn) = get("role_arn") else {
            if let Some(key) = ["source_profile", "credential_source"]
                .into_iter()
                .find(|key| get(key).is_some())
            {
                return Err(problem(format!(
                    "sets `{key}` without `role_arn`: it says where the keys that assume a \
                     role come from, and no role is named"
                )));
            }
            return Ok(profile);
        };
        if !arn.starts_with("arn:") || arn.len() > 2048 {
            return Err(problem(
                "has a `role_arn` that is not an ARN (expected arn:aws:iam::ACCOUNT:role/NAME)"
                    .into(),
            ));
        }
        let source = match (get("source_profile"), get("credential_source")) {
            (Some(_), Some(_)) => {
                return Err(problem(
                    "sets both `source_profile` and `credential_source`: the AWS CLI takes \
                     one of them"
                        .into(),
                ))
            }
            (None, None) => {
                return Err(problem(
                    "has a `role_arn` but neither `source_profile` nor `credential_source` \
                     to assume it with"
                        .into(),
                ))
            }
            (None, Some(source)) => match source.as_str() {
                "Environment" => Source::Environment,
                "Ec2InstanceMetadata" => Source::Ec2InstanceMetadata,
                "EcsContainer" => Source::EcsContainer,
                _ => {
                    return Err(problem(
                        "has a `credential_source` that is none of Environment, \
                         Ec2InstanceMetadata and EcsContainer"
                            .into(),
                    ))
                }
            },
            (Some(source), None) if source == name => {
                // Itself: the AWS CLI takes this profile's own credentials (keys, else
                // its process) to assume its role, when it has static keys in either file.
                if !self.has_static_keys(name) {
                    return Err(problem(
                        "is its own `source_profile` but has no keys to assume its role with"
                            .into(),
                    ));
                }
                let keys = Profile {
                    name: profile.name.clone(),
                    access_key_id: profile.access_key_id.clone(),
                    secret_access_key: profile.secret_access_key.clone(),
                    session_token: profile.session_token.clone(),
                    credential_process: profile.credential_process.clone(),
                    ..Profile::default()
                };
                Source::Profile(keys)
            }
            (Some(source), None) => {
                if chain.contains(&source.as_str()) {
                    return Err(problem(format!(
                        "takes part in a cycle of `source_profile`s ({} -> {name} -> {source})",
                        chain.join(" -> ")
                    )));
                }
                if chain.len() + 1 >= MAX_CHAIN {
                    return Err(problem(format!(
                        "is at the end of a chain of more than {MAX_CHAIN} roles"
                    )));
                }
                if !self.has(&source) {
                    return Err(self.missing(&source, &format!("the `source_profile` of `{name}`")));
                }
                let mut within: Vec<&str> = chain.to_vec();
                within.push(name);
                let mut source_profile = self.profile(&source, &within)?;
                // As for the AWS CLI: a source profile with static keys (in either file)
                // gives its own credentials (keys, else its process), never its role.
                if self.has_static_keys(&source) {
                    source_profile.role = None;
                }
                if !source_profile.has_keys()
                    && source_profile.credential_process.is_none()
                    && source_profile.role.is_none()
                {
                    return Err(problem(format!(
                        "assumes its role with the profile `{source}`, which has no keys, \
                         credential_process or role of its own"
                    )));
                }
                Source::Profile(source_profile)
            }
        };
        let duration_seconds = match get("duration_seconds") {
            None => None,
            Some(text) => match text.parse::<u32>() {
                Ok(seconds) if (900..=43_200).contains(&seconds) => Some(seconds),
                _ => {
                    return Err(problem(
                        "has a `duration_seconds` that is not a whole number from 900 to \
                         43200 (STS's bounds)"
                            .into(),
                    ))
                }
            },
        };
        let session_name = get("role_session_name");
        if let Some(session) = &session_name {
            let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
            if !(2..=64).contains(&session.len()) || !session.chars().all(allowed) {
                return Err(problem(
                    "has a `role_session_name` that is not 2 to 64 of the characters STS \
                     allows (letters, digits and +=,.@_-)"
                        .into(),
                ));
            }
        }
        profile.role = Some(Box::new(Role {
            arn,
            source,
            external_id: get("external_id"),
            session_name,
            duration_seconds,
        }));
        Ok(profile)
    }
}

/// A file's sections: name (as written) to keys and values.
type Sections = HashMap<String, Section>;

/// `key` of `section` (keys are matched without regard to case, as the AWS CLI does);
/// `None` when absent or empty.
fn value(section: Option<&Section>, key: &str) -> Option<String> {
    section?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| v.as_deref())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The file at `path`, parsed; `None` when there is no such file.
fn read(path: Option<&Path>) -> Result<Option<Sections>, KeyError> {
    let Some(path) = path else { return Ok(None) };
    let error = |what: String| KeyError::new("profile", format!("{}: {what}", path.display()));
    // Opened without blocking and refused unless a regular file: a FIFO there would
    // hang the command, a device would never end.
    let file = match crate::file::open_regular(path, "shared AWS file") {
        Ok((file, _)) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(error(format!("cannot be read ({e})"))),
    };
    let mut text = String::new();
    use std::io::Read;
    file.take(FILE_LIMIT + 1)
        .read_to_string(&mut text)
        .map_err(|e| error(format!("cannot be read ({e})")))?;
    if text.len() as u64 > FILE_LIMIT {
        return Err(error(format!(
            "is over {} KiB, more than an AWS shared file holds",
            FILE_LIMIT >> 10
        )));
    }
    parse(text.strip_prefix('\u{feff}').unwrap_or(&text))
        .map(Some)
        .map_err(error)
}

/// `text` as the AWS CLI's parser (Python's `configparser`) reads it: `[section]` names
/// as written, `key = value` (or `key: value`) with values as written, whole-line `#` and
/// `;` comments only (a `#` in a secret is part of it), lines before any section ignored.
fn parse(text: &str) -> Result<Sections, String> {
    let mut defaults = configparser::ini::Ini::new_cs().defaults();
    defaults.enable_inline_comments = false;
    defaults.multiline = false;
    // Lines before any section go to a section no profile can be named.
    defaults.default_section = "\u{0}before any section".to_string();
    let mut ini = configparser::ini::Ini::new_from_defaults(defaults);
    // Its messages name a line and what is wrong, never the line's text.
    ini.read(text.to_string())
        .map_err(|e| format!("is not an INI file ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// `load_with` over these two files' texts (`None`: no such file), HOME elsewhere.
    fn load_from(
        named: Option<&str>,
        credentials: Option<&str>,
        config: Option<&str>,
        more: &[(&str, &str)],
    ) -> (tempfile::TempDir, Result<Option<Profile>, KeyError>) {
        let dir = tempfile::tempdir().unwrap();
        let mut vars: HashMap<String, String> = HashMap::new();
        vars.insert("HOME".into(), dir.path().join("home").display().to_string());
        for (var, file, text) in [
            ("AWS_SHARED_CREDENTIALS_FILE", "credentials", credentials),
            ("AWS_CONFIG_FILE", "config", config),
        ] {
            let path = dir.path().join(file);
            if let Some(text) = text {
                std::fs::write(&path, text).unwrap();
            }
            vars.insert(var.into(), path.display().to_string());
        }
        for (k, v) in more {
            vars.insert(k.to_string(), v.to_string());
        }
        let result = load_with(named, &|name| vars.get(name).cloned());
        (dir, result)
    }

    #[test]
    fn the_credentials_file_wins_and_the_config_file_adds_region_and_endpoint() {
        let (_dir, got) = load_from(
            Some("ops"),
            Some("[ops]\naws_access_key_id = AKIAFROMCREDS\naws_secret_access_key = a\\b\"c+/=\n"),
            Some(
                "[profile ops]\naws_access_key_id = AKIAFROMCONFIG\n\
                 aws_secret_access_key = other\nregion = eu-west-1\n\
                 endpoint_url = https://minio.internal:9000\n",
            ),
            &[],
        );
        let profile = got.unwrap().unwrap();
        assert_eq!(profile.access_key_id.as_deref(), Some("AKIAFROMCREDS"));
        // As written: no escapes, no quotes taken away.
        assert_eq!(profile.secret_access_key.as_deref(), Some("a\\b\"c+/="));
        assert_eq!(profile.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            profile.endpoint_url.as_deref(),
            Some("https://minio.internal:9000")
        );
    }

    #[test]
    fn files_read_as_the_aws_cli_reads_them() {
        // A byte-order mark, CRLF, keys in any case, a `#` and `;` inside a value (no inline
        // comments), keys before any section belonging to no profile.
        let (_dir, got) = load_from(
            Some("ops"),
            Some(
                "\u{feff}aws_access_key_id = STRAY\r\n# comment\r\n[ops]\r\n\
                 AWS_ACCESS_KEY_ID = AKIAOPS\r\naws_secret_access_key = ab#cd;ef\r\n",
            ),
            None,
            &[],
        );
        let profile = got.unwrap().unwrap();
        assert_eq!(profile.access_key_id.as_deref(), Some("AKIAOPS"));
        assert_eq!(profile.secret_access_key.as_deref(), Some("ab#cd;ef"));
        let (_dir, got) = load_from(
            None,
            Some("aws_access_key_id = STRAY\naws_secret_access_key = S\n"),
            None,
            &[],
        );
        assert!(
            got.unwrap().is_none(),
            "keys before any section are no profile"
        );
    }

    #[test]
    fn a_config_section_may_space_its_two_words_as_botocore_reads_them() {
        for header in ["[profile ops]", "[profile   ops]", "[profile\tops]"] {
            let (_dir, got) = load_from(
                Some("ops"),
                None,
                Some(&format!(
                    "{header}\naws_access_key_id = K\naws_secret_access_key = S\n"
                )),
                &[],
            );
            assert_eq!(
                got.unwrap().unwrap().access_key_id.as_deref(),
                Some("K"),
                "{header}"
            );
        }
        let (_dir, got) = load_from(Some("ops"), None, Some("[profileops]\nregion = x\n"), &[]);
        assert!(got.is_err());
    }

    #[test]
    fn keys_and_token_are_one_set_from_one_file() {
        // Keys in the credentials file, a stale token in the config file: not mixed.
        let (_dir, got) = load_from(
            Some("ops"),
            Some("[ops]\naws_access_key_id = AKIACREDS\naws_secret_access_key = S\n"),
            Some("[profile ops]\naws_session_token = STALE\nregion = eu-west-1\n"),
            &[],
        );
        let profile = got.unwrap().unwrap();
        assert_eq!(profile.access_key_id.as_deref(), Some("AKIACREDS"));
        assert_eq!(profile.session_token, None);
        assert_eq!(profile.region.as_deref(), Some("eu-west-1"));
        // Half a pair in each file is refused, not put together.
        let (_dir, got) = load_from(
            Some("ops"),
            Some("[ops]\naws_access_key_id = AKIACREDS\n"),
            Some("[profile ops]\naws_secret_access_key = S\n"),
            &[],
        );
        assert!(got.err().unwrap().message.contains("only one of"));
        // All three from the config file when the credentials file has none; `[profile
        // default]` is the default profile too.
        let (_dir, got) = load_from(
            None,
            None,
            Some(
                "[profile default]\naws_access_key_id = K\naws_secret_access_key = S\n\
                 aws_session_token = T\n",
            ),
            &[],
        );
        let profile = got.unwrap().unwrap();
        assert_eq!(profile.access_key_id.as_deref(), Some("K"));
        assert_eq!(profile.session_token.as_deref(), Some("T"));
    }

    #[test]
    fn which_profile_the_key_the_environment_or_default() {
        let files = "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\
                     [env]\naws_access_key_id = E\naws_secret_access_key = ES\n";
        let key = |named, more: &[(&str, &str)]| {
            let (_dir, got) = load_from(named, Some(files), None, more);
            let p = got.unwrap().unwrap();
            (p.access_key_id.unwrap(), p.name)
        };
        let pair = |k: &str, n: &str| (k.to_string(), n.to_string());
        assert_eq!(key(None, &[]), pair("D", "default"));
        assert_eq!(key(None, &[("AWS_PROFILE", "env")]), pair("E", "env"));
        assert_eq!(
            key(None, &[("AWS_DEFAULT_PROFILE", "env")]),
            pair("E", "env")
        );
        assert_eq!(
            key(
                None,
                &[("AWS_DEFAULT_PROFILE", "env"), ("AWS_PROFILE", "default")]
            ),
            pair("D", "default")
        );
        assert_eq!(
            key(Some("default"), &[("AWS_PROFILE", "env")]),
            pair("D", "default")
        );
        // No default and none named: nothing, and no error.
        let (_dir, got) = load_from(None, None, None, &[]);
        assert!(got.unwrap().is_none());
    }

    #[test]
    fn a_named_profile_that_is_nowhere_is_an_error_naming_both_files() {
        let (dir, got) = load_from(Some("prod"), Some("[dev]\n"), None, &[]);
        let err = got.err().unwrap();
        assert_eq!(err.key, "profile");
        assert!(err.message.contains("`prod`"), "{}", err.message);
        assert!(
            err.message
                .contains(&dir.path().join("credentials").display().to_string()),
            "{}",
            err.message
        );
        assert!(
            err.message
                .contains(&dir.path().join("config").display().to_string()),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_credential_process_comes_after_the_credentials_files_keys_and_before_the_configs() {
        let process = "[profile x]\nCREDENTIAL_PROCESS = /usr/bin/vault-helper --p x\n\
                       aws_access_key_id = FROMCONFIG\naws_secret_access_key = s\n";
        let (_dir, got) = load_from(Some("x"), None, Some(process), &[]);
        let profile = got.unwrap().unwrap();
        assert_eq!(
            profile.credential_process.as_deref(),
            Some("/usr/bin/vault-helper --p x")
        );
        assert_eq!(profile.access_key_id, None);
        let (_dir, got) = load_from(
            Some("x"),
            Some("[x]\naws_access_key_id = FROMCREDS\naws_secret_access_key = s\n"),
            Some(process),
            &[],
        );
        let profile = got.unwrap().unwrap();
        assert_eq!(profile.credential_process, None);
        assert_eq!(profile.access_key_id.as_deref(), Some("FROMCREDS"));
    }

    #[test]
    fn credential_sources_stratus_does_not_run_are_refused_by_name() {
        for (line, says) in [
            ("sso_session = corp", "sso_session"),
            ("sso_account_id = 1\nsso_role_name = r", "sso_"),
            (
                "role_arn = arn:aws:iam::1:role/r\nweb_identity_token_file = /t",
                "web_identity_token_file",
            ),
            (
                "role_arn = arn:aws:iam::1:role/r\nsource_profile = x\nmfa_serial = arn:mfa\n\
                 aws_access_key_id = K\naws_secret_access_key = S",
                "mfa_serial",
            ),
        ] {
            let (_dir, got) = load_from(
                None,
                None,
                Some(&format!("[profile x]\n{line}\n")),
                &[("AWS_PROFILE", "x")],
            );
            let err = got.err().unwrap();
            assert!(err.message.contains(says), "{}", err.message);
            assert!(
                err.message.contains("export-credentials"),
                "{}",
                err.message
            );
        }
    }

    /// Profile `x` of this config file, or the error's message.
    fn role_of(config: &str, more: &[(&str, &str)]) -> Result<Profile, String> {
        let (_dir, got) = load_from(Some("x"), None, Some(config), more);
        got.map(Option::unwrap).map_err(|e| e.message)
    }

    #[test]
    fn a_role_is_assumed_with_its_source_profile_down_a_chain() {
        let config = "[profile x]\nrole_arn = arn:aws:iam::1:role/top\nsource_profile = mid\n\
                      external_id = ext-1\nrole_session_name = ops.run@host\n\
                      duration_seconds = 900\nregion = eu-west-1\n\
                      [profile mid]\nrole_arn = arn:aws:iam::1:role/mid\nsource_profile = base\n\
                      [profile base]\ncredential_process = /bin/creds\n";
        let x = role_of(config, &[]).unwrap();
        let role = x.role.as_deref().unwrap();
        assert_eq!(role.arn, "arn:aws:iam::1:role/top");
        assert_eq!(role.external_id.as_deref(), Some("ext-1"));
        assert_eq!(role.session_name.as_deref(), Some("ops.run@host"));
        assert_eq!(role.duration_seconds, Some(900));
        assert_eq!(x.region.as_deref(), Some("eu-west-1"));
        let Source::Profile(mid) = &role.source else {
            panic!("source")
        };
        let Source::Profile(base) = &mid.role.as_deref().unwrap().source else {
            panic!("source")
        };
        assert_eq!(base.credential_process.as_deref(), Some("/bin/creds"));
        // A source profile's own keys come before its role (as for the AWS CLI).
        let keyed = config.replace(
            "source_profile = base\n",
            "source_profile = base\naws_access_key_id = MIDKEY\naws_secret_access_key = s\n",
        );
        let x = role_of(&keyed, &[]).unwrap();
        let Source::Profile(mid) = &x.role.as_deref().unwrap().source else {
            panic!("source")
        };
        assert!(mid.role.is_none() && mid.access_key_id.as_deref() == Some("MIDKEY"));
        // Its own source: the profile's keys assume its role.
        let own = "[profile x]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = x\n\
                   aws_access_key_id = OWN\naws_secret_access_key = s3cr3tOWN\n";
        let x = role_of(own, &[]).unwrap();
        let Source::Profile(keys) = &x.role.as_deref().unwrap().source else {
            panic!("source")
        };
        assert!(keys.role.is_none() && keys.access_key_id.as_deref() == Some("OWN"));
        assert!(x.secrets().contains(&"s3cr3tOWN".to_string()));
        let env =
            "[profile x]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Environment\n";
        assert!(matches!(
            role_of(env, &[]).unwrap().role.unwrap().source,
            Source::Environment
        ));
    }

    #[test]
    fn a_role_that_cannot_be_assumed_is_an_error_naming_why() {
        let role = "[profile x]\nrole_arn = arn:aws:iam::1:role/r\n";
        for (config, says) in [
            (role.to_string(), "neither `source_profile` nor `credential_source`"),
            (format!("{role}source_profile = y\ncredential_source = Environment\n"), "both"),
            (format!("{role}source_profile = nowhere\n"), "`nowhere` (the `source_profile` of `x`)"),
            (format!("{role}source_profile = y\n[profile y]\nregion = us-east-1\n"), "no keys, credential_process or role"),
            (format!("{role}source_profile = y\n[profile y]\nrole_arn = arn:aws:iam::1:role/y\nsource_profile = x\n"), "cycle"),
            (format!("{role}source_profile = x\n"), "its own `source_profile` but has no keys"),
            (format!("{role}credential_source = Metadata\n"), "none of Environment"),
            ("[profile x]\nrole_arn = r\nsource_profile = x\n".to_string(), "not an ARN"),
            (format!("{role}credential_source = Environment\nduration_seconds = 60\n"), "900 to 43200"),
            (format!("{role}credential_source = Environment\nrole_session_name = a b\n"), "role_session_name"),
            ("[profile x]\nsource_profile = y\n".to_string(), "without `role_arn`"),
        ] {
            let message = role_of(&config, &[]).err().unwrap();
            assert!(message.contains(says), "{config}: {message}");
        }
        // A chain longer than MAX_CHAIN.
        let long: String = (0..MAX_CHAIN + 1)
            .map(|i| {
                let name = if i == 0 {
                    "x".to_string()
                } else {
                    format!("p{i}")
                };
                format!(
                    "[profile {name}]\nrole_arn = arn:aws:iam::1:role/r{i}\nsource_profile = p{}\n",
                    i + 1
                )
            })
            .collect();
        let message = role_of(&long, &[]).err().unwrap();
        assert!(message.contains("chain of more than"), "{message}");
    }

    #[test]
    fn half_a_key_pair_and_bad_files_are_errors_that_quote_no_value() {
        let (_dir, got) = load_from(
            Some("ops"),
            Some("[ops]\naws_secret_access_key = hunter2SECRET\n"),
            None,
            &[],
        );
        let err = got.err().unwrap();
        assert!(err.message.contains("only one of"), "{}", err.message);
        assert!(!err.message.contains("hunter2"), "{}", err.message);
        let (_dir, got) = load_from(
            Some("ops"),
            Some("[ops\naws_secret_access_key = hunter2SECRET\n"),
            None,
            &[],
        );
        let err = got.err().unwrap();
        assert!(
            err.message.contains("not an INI file (line"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("hunter2"), "{}", err.message);
        // A FIFO would block a plain open until a writer came: refused at once.
        #[cfg(unix)]
        {
            let dir = tempfile::tempdir().unwrap();
            let fifo = dir.path().join("credentials");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            if made.is_ok_and(|s| s.success()) {
                let err = read(Some(&fifo)).err().unwrap();
                assert!(
                    err.message.contains("not a regular file"),
                    "{}",
                    err.message
                );
            }
        }
        let big = format!("[ops]\n{}", "# padding\n".repeat(120_000));
        let (_dir, got) = load_from(Some("ops"), Some(&big), None, &[]);
        assert!(got.err().unwrap().message.contains("is over 1024 KiB"));
    }

    fn source_of(profile: &Profile) -> &Profile {
        match &profile.role.as_deref().unwrap().source {
            Source::Profile(source) => source,
            _ => panic!("not a profile"),
        }
    }

    #[test]
    fn precedence_as_botocore() {
        // A three-profile cycle.
        let cycle = "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = y\n\
                     [profile y]\nrole_arn = arn:aws:iam::1:role/y\nsource_profile = z\n\
                     [profile z]\nrole_arn = arn:aws:iam::1:role/z\nsource_profile = x\n";
        let message = role_of(cycle, &[]).err().unwrap();
        assert!(message.contains("x -> y -> z -> x"), "{message}");
        // role_arn and keys (not its own source): the role wins.
        let both = "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = b\n\
                    aws_access_key_id = XK\naws_secret_access_key = XS\n\
                    [profile b]\naws_access_key_id = BK\naws_secret_access_key = BS\n";
        let x = role_of(both, &[]).unwrap();
        assert_eq!(source_of(&x).access_key_id.as_deref(), Some("BK"));
        // Keys of any case, the source `default` written `[default]` in the config file.
        let cased = "[profile x]\nROLE_ARN = arn:aws:iam::1:role/x\nSource_Profile = default\n\
                     [default]\nAWS_ACCESS_KEY_ID = DK\naws_secret_access_key = DS\n";
        let x = role_of(cased, &[]).unwrap();
        assert_eq!(source_of(&x).access_key_id.as_deref(), Some("DK"));
        // role_arn in the credentials file.
        let (_dir, got) = load_from(
            Some("x"),
            Some("[x]\nrole_arn = arn:aws:iam::1:role/c\nsource_profile = b\n"),
            Some("[profile b]\naws_access_key_id = BK\naws_secret_access_key = BS\n"),
            &[],
        );
        assert_eq!(
            got.unwrap().unwrap().role.unwrap().arn,
            "arn:aws:iam::1:role/c"
        );
        // A source profile named with spaces.
        let (_dir, got) = load_from(
            Some("x"),
            Some("[my base]\naws_access_key_id = BK\naws_secret_access_key = BS\n"),
            Some("[profile x]\nrole_arn = arn:aws:iam::1:role/c\nsource_profile = my base\n"),
            &[],
        );
        assert_eq!(source_of(&got.unwrap().unwrap()).name, "my base");
        // A source profile's role assumed with the environment.
        let env = "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = y\n\
                   [profile y]\nrole_arn = arn:aws:iam::1:role/y\ncredential_source = Environment\n";
        let x = role_of(env, &[]).unwrap();
        assert!(matches!(
            source_of(&x).role.as_deref().unwrap().source,
            Source::Environment
        ));
        // An ARN too long, or with control characters kept for the terminal to escape.
        let long = format!(
            "[profile x]\nrole_arn = arn:{}\ncredential_source = Environment\n",
            "a".repeat(3000)
        );
        assert!(role_of(&long, &[]).err().unwrap().contains("not an ARN"));
    }

    #[test]
    fn a_source_profile_with_static_keys_in_its_config_section_and_a_process_runs_it() {
        // botocore: a source profile with static keys anywhere takes its profile's
        // providers (credentials-file keys, process, config-file keys), never its role.
        let config = "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = y\n\
                      [profile y]\nrole_arn = arn:aws:iam::1:role/y\nsource_profile = z\n\
                      credential_process = /bin/creds\n\
                      aws_access_key_id = YK\naws_secret_access_key = YS\n\
                      [profile z]\naws_access_key_id = ZK\naws_secret_access_key = ZS\n";
        let x = role_of(config, &[]).unwrap();
        let y = source_of(&x);
        assert!(y.role.is_none(), "y's role assumed, not its process");
        assert_eq!(y.credential_process.as_deref(), Some("/bin/creds"));
        // Its own source, its keys in the config file beside a process: the process's
        // keys assume the role (botocore allows the self-reference for any static keys).
        let own = "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = x\n\
                   credential_process = /bin/creds\n\
                   aws_access_key_id = XK\naws_secret_access_key = XS\n";
        let x = role_of(own, &[]).unwrap();
        let own = source_of(&x);
        assert!(own.role.is_none());
        assert_eq!(own.credential_process.as_deref(), Some("/bin/creds"));
    }
}
