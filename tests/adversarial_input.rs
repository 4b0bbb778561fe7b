//! Adversarial review of issue 25 (user text as keys, files a local store hides) and
//! issue 24 items 4-8 (terminal text, limits, secrets, signing, files). Each test here
//! failed on main at d2e8300 and showed one break (the comment above it says what and
//! why it matters); each passes since the fixes, and stays as a regression test.

mod common;

use serde_json::Value;
use std::path::Path as FsPath;
use std::process::Command;

/// Run the `stratus` command; (success, stdout, stderr).
fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(common::stratus()).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A local folder holding one file the store lists (`b`) and three it does not: `a#1`
/// (object_store's unfinished-upload name), `e<ESC>f` (a control character) and a file
/// below the folder `bad<SOH>dir`.
fn hostile_source(root: &FsPath) {
    std::fs::create_dir_all(root.join("bad\u{1}dir")).unwrap();
    std::fs::write(root.join("a#1"), "aaaa").unwrap();
    std::fs::write(root.join("b"), "bb").unwrap();
    std::fs::write(root.join("e\u{1b}f"), "ccc").unwrap();
    std::fs::write(root.join("bad\u{1}dir/inner"), "ddddd").unwrap();
}

// ---------------------------------------------------------------------------------------
// Break 1 (high): sync and verify of a local folder skip the files the store cannot list,
// without a word, and verify then says "identical".
//
// Issue 25 made the *inventory* count these files (`Report::unlisted`, a warning), but a
// backup tool's sync is where a silently missing file is data loss: `replicate sync src
// dst` copies 1 of 4 files, prints `failed 0`, exits 0, and `replicate verify src dst`
// prints `identical`. A user who syncs a folder and verifies it believes they hold a
// copy of everything. The census exists (`inventory::unlisted::census`); sync/verify/
// repair never run it. Expected: the files it could not copy are counted and named (as
// the inventory does), and verify does not print `identical` while the source holds files
// it cannot see.
#[test]
fn sync_and_verify_of_a_local_folder_name_the_files_they_cannot_see() {
    let dir = tempfile::tempdir().unwrap();
    hostile_source(&dir.path().join("src"));
    std::fs::create_dir_all(dir.path().join("dst")).unwrap();
    let config = dir.path().join("stores.toml");
    std::fs::write(
        &config,
        "[stores.src]\nprovider = \"local\"\nroot = \"src\"\n\
         [stores.dst]\nprovider = \"local\"\nroot = \"dst\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let (ok, out, err) = run(&["sync", "--config", config, "src", "dst"]);
    let copied: Vec<_> = std::fs::read_dir(dir.path().join("dst"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let said = format!("{out}{err}");
    // Either everything was copied, or the command says what it left behind.
    let reported = said.contains("a#1") && said.contains("e\\x1bf") && said.contains("inner");
    assert!(
        copied.len() == 4 || (reported && !ok),
        "sync copied {copied:?} of 4 files, exit success = {ok}, and said nothing about \
         the other 3:\n{said}"
    );

    let (_, out, err) = run(&["verify", "--config", config, "src", "dst"]);
    assert!(
        !out.contains("identical"),
        "verify calls a copy missing 3 of 4 source files identical:\n{out}{err}"
    );
}

// ---------------------------------------------------------------------------------------
// Break 2 (medium): an inventory of a sharded store over local members counts the hidden
// files of one member only.
//
// `unlisted::note_local_folder` keeps "the shallowest local folder listed" and the census
// walks that one folder: with two local members it walks whichever root has fewer path
// components and drops the other member's `NAME#N` / control-named files without a word,
// the exact silence issue 25 was about. (A replicated store reports whichever member it
// listed.) Expected: the census walks every local folder listed (one per member), or a
// composite says it could not count. Fix: keep a set of (root, prefix) folders, not one.
#[test]
fn a_sharded_inventory_counts_the_hidden_files_of_every_local_member() {
    let dir = tempfile::tempdir().unwrap();
    let m1 = dir.path().join("m1");
    let m2 = dir.path().join("deep/er/m2");
    std::fs::create_dir_all(&m1).unwrap();
    std::fs::create_dir_all(&m2).unwrap();
    std::fs::write(m1.join("a#1"), "x").unwrap();
    std::fs::write(m2.join("b#2"), "yy").unwrap();
    std::fs::write(m2.join("c\u{1b}"), "zzz").unwrap();
    let config = dir.path().join("stores.toml");
    std::fs::write(
        &config,
        "[stores.m1]\nprovider = \"local\"\nroot = \"m1\"\n\
         [stores.m2]\nprovider = \"local\"\nroot = \"deep/er/m2\"\n\
         [stores.s]\nprovider = \"sharded\"\nmembers = [\"m1\", \"m2\"]\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    for concurrency in ["1", "8"] {
        let (ok, out, err) = run(&[
            "inventory",
            "--config",
            config,
            "s",
            "--format",
            "json",
            "--concurrency",
            concurrency,
        ]);
        assert!(ok, "{err}");
        let report: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            (
                report["unlisted"]["objects"].as_u64(),
                report["unlisted"]["bytes"].as_u64()
            ),
            (Some(3), Some(6)),
            "the sharded store's members hide 3 files (6 B) between them; the report \
             counts: {}",
            report["unlisted"]
        );
    }
}

// ---------------------------------------------------------------------------------------
// Break 3 (medium): a `${ENV}` value used as a member name is echoed in the error's *key
// path*.
//
// The message is scrubbed (`<redacted>`), but the key path is built from the value:
// `key `members.SuperSecretToken123``. interpolate.rs says "Substituted values are never
// echoed in errors: they may be secrets", and issue 24 item 6 asked that they be scrubbed
// from every error. Fix: scrub the key path too (or name the member by index,
// `members[0]`, as the inline form does).
#[test]
fn an_env_value_used_as_a_member_name_is_not_echoed_in_the_error_key() {
    std::env::set_var("STRATUS_ADV_MEMBER", "SuperSecretToken123");
    for toml in [
        "[stores.a]\nprovider = \"replicated\"\nmembers = [\"${STRATUS_ADV_MEMBER}\"]\n",
        "[stores.a]\nprovider = \"sharded\"\nmembers = [{ store = \"${STRATUS_ADV_MEMBER}\" }]\n",
    ] {
        let error = match stratus::Config::from_toml(toml, "stores.toml", "/tmp") {
            Ok(config) => config.open("a").map(|_| ()).unwrap_err(),
            Err(error) => error,
        };
        let text = format!("{error} / {error:?}");
        assert!(
            !text.contains("SuperSecretToken123") && !text.contains("SecretTo"),
            "the environment's value is echoed: {text}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Break 4 (low): a `${ENV}` value shorter than 6 bytes is echoed whole in errors.
//
// `secret::SCRUB_MIN = 6` leaves short values out of the scrub ("no real credential is
// that short"), but the module docs promise "never echoed", and a short value is still
// the user's environment (a PIN, a tenant code, the tail of a split token
// `${TOKEN_A}${TOKEN_B}`). Either document the 6-byte floor where the promise is made, or
// never quote a substituted value at all (say "the value from ${D}" instead).
#[test]
fn a_short_env_value_is_not_echoed_in_errors() {
    std::env::set_var("STRATUS_ADV_DEADLINE", "9q7z");
    let toml = "[stores.a]\nprovider = \"memory\"\ndeadline = \"${STRATUS_ADV_DEADLINE}\"\n";
    let error = stratus::Config::from_toml(toml, "stores.toml", "/tmp")
        .and_then(|config| config.open("a").map(|_| ()))
        .unwrap_err();
    let text = format!("{error} / {error:?}");
    assert!(
        !text.contains("9q7z"),
        "the environment's value is echoed: {text}"
    );
}

// ---------------------------------------------------------------------------------------
// Break 5 (medium): `limits.in_flight` above tokio's semaphore maximum (2^61 - 1) panics
// when the store is opened.
//
// Issue 24 item 5: "valid-looking limits panic at open ... never a panic". `in_flight` is
// checked as a nonzero usize only; `in_flight = 18446744073709551615` (or 2^61) passes
// validation and then panics inside tokio ("a semaphore may not have more than
// MAX_PERMITS permits"), killing the process (the inventory example aborts with a
// backtrace). Fix: refuse above `tokio::sync::Semaphore::MAX_PERMITS` on load (naming the
// range), or clamp.
#[tokio::test]
async fn a_huge_in_flight_limit_is_refused_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[stores.a]\nprovider = \"local\"\nroot = \"{}\"\n\
         limits = {{ in_flight = 18446744073709551615 }}\n",
        dir.path().display()
    );
    let opened = std::panic::catch_unwind(|| {
        stratus::Config::from_toml(&toml, "stores.toml", "/tmp").and_then(|c| c.open("a"))
    });
    match opened {
        Err(_) => panic!("in_flight = u64::MAX panicked while opening the store"),
        Ok(Err(error)) => assert!(error.to_string().contains("in_flight"), "{error}"),
        Ok(Ok(_)) => {} // accepted (clamped): fine as long as nothing panicked
    }
}

// ---------------------------------------------------------------------------------------
// Break 6 (low): `requests_per_second = nan` and `= inf` (valid TOML floats) pass the
// range check that refuses 0, -1, 9.99e-7 and 1.0000001e9, and the store opens and runs.
//
// The `stratus::config` docs state the accepted range as 1e-6 to 1e9; NaN fails every comparison, so a
// check written as `if x < MIN || x > MAX { refuse }` lets it through, and `inf` gets
// through too. What rate a NaN limit then applies is whatever the conversion makes of it
// (here: no limit at all, silently). Fix: `if !(MIN..=MAX).contains(&x)`.
#[test]
fn a_nan_or_infinite_request_rate_is_refused_on_load() {
    for value in ["nan", "inf", "-nan", "+inf"] {
        let toml = format!(
            "[stores.a]\nprovider = \"memory\"\nlimits = {{ requests_per_second = {value} }}\n"
        );
        let loaded = stratus::Config::from_toml(&toml, "stores.toml", "/tmp");
        let error = loaded.and_then(|c| c.open("a").map(|_| ()));
        assert!(
            error.is_err(),
            "requests_per_second = {value} was accepted (the documented range is 1e-6 to 1e9)"
        );
    }
}
