//! `credential_process`: an AWS profile whose keys come from running a program, as the AWS
//! CLI runs it (aws-vault, granted, SSO and vault helpers all work this way).
//!
//! The command line is split as a POSIX shell would split it, without a shell, and run
//! with the terminal's input and error output (a helper may ask for an MFA code); its
//! standard output is one JSON object:
//!
//! ```json
//! {"Version": 1, "AccessKeyId": "...", "SecretAccessKey": "...",
//!  "SessionToken": "...", "Expiration": "2026-12-04T10:00:00Z"}
//! ```
//!
//! The keys are kept until [`REFRESH_BEFORE`] ahead of their `Expiration` (for ever without
//! one), then the program runs again. Nothing it prints is ever quoted: a parse error
//! names the field and the place, not the value. The program may take at most
//! [`RUN_LIMIT`] and print at most [`OUTPUT_LIMIT`] bytes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use object_store::aws::AwsCredential;
use object_store::CredentialProvider;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Keys are renewed this long before they expire (the AWS SDKs' advisory refresh).
pub(super) const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// How long the program may run (long enough to answer an MFA prompt).
pub(super) const RUN_LIMIT: Duration = Duration::from_secs(5 * 60);

/// The most the program may print: its answer is a few hundred bytes.
pub(super) const OUTPUT_LIMIT: usize = 64 << 10;

/// The keys a profile's `credential_process` gives, renewed before they expire.
pub(super) struct ProcessCredentials {
    profile: String,
    /// The program and its arguments.
    argv: Vec<String>,
    cached: Renewing,
}

/// Keys, and when they expire (never, without an expiry).
pub(super) type Keys = (AwsCredential, Option<DateTime<Utc>>);

/// Keys kept until [`REFRESH_BEFORE`] ahead of their expiry, then fetched again; one
/// caller fetches while the others wait for its answer.
#[derive(Default)]
pub(super) struct Renewing {
    state: tokio::sync::Mutex<State>,
    /// How many fetches failed: a caller that sees it move while it waited for the lock
    /// waited for a failure.
    failures: AtomicU64,
    /// The least time keys are kept once fetched, however near their expiry: without it,
    /// keys that come within [`REFRESH_BEFORE`] of their expiry (a clock ahead of the
    /// server's) would be fetched again for every request. Zero: renewed as they come
    /// within it.
    keep_at_least: Duration,
    /// Whether callers that waited while a fetch failed get its error rather than each
    /// fetching again in turn (each waiting out the same dead server's timeouts).
    share_failures: bool,
}

#[derive(Default)]
struct State {
    kept: Option<Kept>,
    /// The last fetch's error, while no fetch has succeeded since.
    failure: Option<String>,
}

/// Keys as they are handed out, when they expire, and when they were fetched.
type Kept = (Arc<AwsCredential>, Option<DateTime<Utc>>, DateTime<Utc>);

impl Renewing {
    /// Keys kept for at least `keep_at_least` once fetched (the fetch must give keys that
    /// last that long), and a failed fetch's error given to the callers that waited for
    /// it.
    pub(super) fn keeping_at_least(keep_at_least: Duration) -> Self {
        Self {
            keep_at_least,
            share_failures: true,
            ..Self::default()
        }
    }

    /// The kept keys while fresh, else those `fetch` gives (an error is `store`'s).
    pub(super) async fn get<F>(
        &self,
        store: &'static str,
        fetch: impl FnOnce() -> F,
    ) -> object_store::Result<Arc<AwsCredential>>
    where
        F: std::future::Future<Output = Result<Keys, String>>,
    {
        let error = |message: String| object_store::Error::Generic {
            store,
            source: message.into(),
        };
        let failed_before = self.failures.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        if let Some((credential, expires, fetched)) = &state.kept {
            let now = Utc::now();
            if fresh(*expires, now) || now < *fetched + self.keep_at_least {
                return Ok(Arc::clone(credential));
            }
        }
        if self.share_failures && self.failures.load(Ordering::Acquire) != failed_before {
            if let Some(message) = &state.failure {
                return Err(error(message.clone()));
            }
        }
        match fetch().await {
            Ok((credential, expires)) => {
                let credential = Arc::new(credential);
                state.kept = Some((Arc::clone(&credential), expires, Utc::now()));
                state.failure = None;
                Ok(credential)
            }
            Err(message) => {
                state.failure = Some(message.clone());
                self.failures.fetch_add(1, Ordering::Release);
                Err(error(message))
            }
        }
    }
}

impl std::fmt::Debug for ProcessCredentials {
    // The program's name only: its arguments may hold a token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessCredentials")
            .field("profile", &self.profile)
            .field("program", &self.argv.first())
            .finish_non_exhaustive()
    }
}

impl ProcessCredentials {
    /// The provider for `command` of the AWS profile `profile`; an error when the command
    /// line does not split (an unclosed quote) or is empty.
    pub(super) fn new(profile: &str, command: &str) -> Result<Self, String> {
        let argv = shlex::split(command)
            .filter(|argv| !argv.is_empty())
            .ok_or_else(|| {
                format!(
                    "the credential_process of the AWS profile `{profile}` is not a command \
                     line (empty, or a quote left open)"
                )
            })?;
        Ok(Self {
            profile: profile.to_string(),
            argv,
            cached: Renewing::default(),
        })
    }

    /// What the program was, for messages: its name and the profile.
    fn what(&self) -> String {
        format!(
            "the credential_process `{}` of the AWS profile `{}`",
            crate::text::terminal(&self.argv[0]),
            self.profile
        )
    }

    /// Run the program once and read its answer.
    async fn run(&self) -> Result<Keys, String> {
        use tokio::io::AsyncReadExt;
        let mut child = tokio::process::Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .stdin(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::inherit())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("{} could not be started ({e})", self.what()))?;
        let mut stdout = child.stdout.take().expect("piped");
        let mut output = Vec::new();
        let ran = tokio::time::timeout(RUN_LIMIT, async {
            (&mut stdout)
                .take(OUTPUT_LIMIT as u64 + 1)
                .read_to_end(&mut output)
                .await?;
            drop(stdout);
            child.wait().await
        })
        .await;
        let status = match ran {
            Err(_) => {
                return Err(format!(
                    "{} did not finish within {} s",
                    self.what(),
                    RUN_LIMIT.as_secs()
                ))
            }
            Ok(Err(e)) => return Err(format!("{} failed ({e})", self.what())),
            Ok(Ok(status)) => status,
        };
        if !status.success() {
            return Err(format!(
                "{} failed ({status}; what it printed to standard error is above)",
                self.what()
            ));
        }
        if output.len() > OUTPUT_LIMIT {
            return Err(format!(
                "{} printed more than {} KiB (its answer is one small JSON object)",
                self.what(),
                OUTPUT_LIMIT >> 10
            ));
        }
        parse(&output).map_err(|e| format!("{} printed {e}", self.what()))
    }
}

/// The program's answer: keys and their expiry. Errors say what is wrong and where,
/// never a value.
fn parse(output: &[u8]) -> Result<Keys, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        version: serde_json::Value,
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
        session_token: Option<String>,
        expiration: Option<String>,
    }
    let answer: Answer = serde_json::from_slice(output).map_err(|e| {
        // serde_json's message can quote a value (`invalid type: string "..."`): only
        // its category and place are shown.
        let what = match e.classify() {
            serde_json::error::Category::Io | serde_json::error::Category::Eof => {
                "an answer cut short"
            }
            serde_json::error::Category::Syntax => "something that is not JSON",
            serde_json::error::Category::Data => "JSON that is not the expected object",
        };
        format!(
            "{what} (line {}, column {}; expected {{\"Version\": 1, \"AccessKeyId\": ..., \
             \"SecretAccessKey\": ..., \"SessionToken\": ..., \"Expiration\": ...}})",
            e.line(),
            e.column()
        )
    })?;
    if answer.version != serde_json::json!(1) {
        return Err("an answer whose Version is not 1 (the only version there is)".into());
    }
    let present = |v: Option<String>, name: &str| {
        v.filter(|v| !v.is_empty())
            .ok_or_else(|| format!("an answer without {name}"))
    };
    let key_id = present(answer.access_key_id, "AccessKeyId")?;
    let secret_key = present(answer.secret_access_key, "SecretAccessKey")?;
    let expires = match answer.expiration.filter(|e| !e.is_empty()) {
        None => None,
        Some(text) => Some(
            DateTime::parse_from_rfc3339(&text)
                .map_err(|_| "an Expiration that is not an RFC 3339 time".to_string())?
                .with_timezone(&Utc),
        ),
    };
    let credential = AwsCredential {
        key_id,
        secret_key,
        token: answer.session_token.filter(|t| !t.is_empty()),
    };
    Ok((credential, expires))
}

/// Whether keys expiring at `expires` are still good to use at `now`.
fn fresh(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires.is_none_or(|at| now + REFRESH_BEFORE < at)
}

#[async_trait]
impl CredentialProvider for ProcessCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        self.cached.get("S3", || self.run()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_read_and_its_errors_quote_nothing() {
        let (c, expires) = parse(
            br#"{"Version": 1, "AccessKeyId": "AKIA1", "SecretAccessKey": "s3cr3t",
                "SessionToken": "tok", "Expiration": "2026-12-04T10:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(
            (c.key_id.as_str(), c.token.as_deref()),
            ("AKIA1", Some("tok"))
        );
        assert_eq!(expires.unwrap().to_rfc3339(), "2026-12-04T10:00:00+00:00");
        let (c, expires) =
            parse(br#"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "s"}"#).unwrap();
        assert!(c.token.is_none() && expires.is_none());
        for (bad, words) in [
            (&br#"{"Version": "s3cr3tVALUE", "AccessKeyId": 1}"#[..], "not the expected"),
            (br#"{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "s3cr3tVALUE"}"#, "Version"),
            (br#"{"Version": 1, "SecretAccessKey": "s3cr3tVALUE"}"#, "AccessKeyId"),
            (br#"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "s3cr3tVALUE", "Expiration": "s3cr3tVALUE"}"#, "RFC 3339"),
            (b"s3cr3tVALUE", "not JSON"),
            (br#"{"Version": 1, "AccessKeyId": "s3cr3tVALUE"#, "cut short"),
        ] {
            let message = parse(bad).unwrap_err();
            assert!(message.contains(words), "{message}");
            assert!(!message.contains("s3cr3tVALUE"), "{message}");
        }
    }

    #[test]
    fn keys_are_renewed_ahead_of_their_expiry() {
        let now = Utc::now();
        assert!(fresh(None, now));
        assert!(fresh(Some(now + chrono::Duration::minutes(6)), now));
        assert!(!fresh(Some(now + chrono::Duration::minutes(4)), now));
        assert!(!fresh(Some(now - chrono::Duration::minutes(1)), now));
    }

    #[test]
    fn a_command_line_splits_as_a_shell_would_and_debug_hides_its_arguments() {
        let p = ProcessCredentials::new("ops", "'/opt/my tools/creds' --token 'abc def'").unwrap();
        assert_eq!(p.argv, ["/opt/my tools/creds", "--token", "abc def"]);
        let debug = format!("{p:?}");
        assert!(
            debug.contains("my tools") && !debug.contains("abc def"),
            "{debug}"
        );
        assert!(ProcessCredentials::new("ops", "creds 'open").is_err());
        assert!(ProcessCredentials::new("ops", "  ").is_err());
    }

    #[tokio::test]
    async fn a_failing_or_silent_program_is_named_and_a_good_one_is_cached() {
        let dir = tempfile::tempdir().unwrap();
        let count = dir.path().join("count");
        let script = dir.path().join("creds.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho x >> '{}'\necho '{{\"Version\": 1, \"AccessKeyId\": \"A\", \
                 \"SecretAccessKey\": \"s\"}}'\n",
                count.display()
            ),
        )
        .unwrap();
        let p = ProcessCredentials::new("ops", &format!("sh '{}'", script.display())).unwrap();
        for _ in 0..3 {
            assert_eq!(p.get_credential().await.unwrap().key_id, "A");
        }
        // No Expiration: run once, kept.
        assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 1);
        let failing = ProcessCredentials::new("ops", "sh -c 'exit 3'").unwrap();
        let message = failing.get_credential().await.unwrap_err().to_string();
        assert!(
            message.contains("profile `ops`") && message.contains("3"),
            "{message}"
        );
        let missing = ProcessCredentials::new("ops", "/nonexistent/creds").unwrap();
        let message = missing.get_credential().await.unwrap_err().to_string();
        assert!(message.contains("could not be started"), "{message}");
    }
}
