//! The terminal browser (`inventory --browse`, feature `browse`) driven as a user would,
//! in tmux: keys sent with `send-keys`, the screen read with `capture-pane`. Over the
//! sample tree (the rows equal the report's), and over SeaweedFS under a request limit, so
//! the scan is slow enough to browse while it runs.
//!
//! `scripts/test.sh` installs tmux where it can; without it these tests print SKIPPED, or
//! fail when `STRATUS_REQUIRE_TMUX=1`.
#![cfg(feature = "browse")]

mod common;

use common::Backend;
use futures::StreamExt;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use std::process::Command;
use std::time::{Duration, Instant};
use stratus::inventory::{scan, ScanOptions};

/// A tmux server of this test's own, killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str, env: &[(&str, &str)]) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            if std::env::var("STRATUS_REQUIRE_TMUX").as_deref() == Ok("1") {
                panic!("no tmux on PATH but STRATUS_REQUIRE_TMUX=1");
            }
            eprintln!("SKIPPED: no tmux on PATH (scripts/test.sh installs it)");
            return None;
        }
        let socket = common::unique_prefix("browse").replace(['/', '-'], "_");
        let tmux = Tmux { socket };
        let mut new = Command::new("tmux");
        new.args([
            "-L",
            &tmux.socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "110",
            "-y",
            "32",
        ]);
        for (k, v) in env {
            new.args(["-e", &format!("{k}={v}")]);
        }
        // The pane stays a moment after the program ends, so the test sees it end.
        new.arg(format!("{command}; echo EXITED $?; sleep 30"));
        let out = new
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(tmux)
    }

    fn screen(&self, escapes: bool) -> String {
        let mut args = vec!["-L", &self.socket, "capture-pane", "-p", "-t", "t"];
        if escapes {
            args.push("-e");
        }
        String::from_utf8(Command::new("tmux").args(args).output().unwrap().stdout).unwrap()
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            let status = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "t", key])
                .status()
                .unwrap();
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// The screen once `wanted` is on it (at most `secs` seconds).
    fn wait_for(&self, wanted: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen(false);
            if screen.contains(wanted) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "`{wanted}` never appeared:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// The rows of the table on the screen: (bytes text, objects, name), in screen order.
fn rows(screen: &str) -> Vec<(String, String)> {
    screen
        .lines()
        .filter(|l| l.contains('[') && l.contains('%'))
        .map(|l| {
            let after_share = &l[l.find('%').unwrap() + 1..];
            let mut fields = after_share.split_whitespace();
            let objects = fields.next().unwrap_or_default().to_string();
            let name = fields.collect::<Vec<_>>().join(" ");
            (objects, name)
        })
        .collect()
}

/// Colour escapes (foreground 30-37, 90-97, 256-colour or RGB), not bold or reverse.
fn has_colour(screen: &str) -> bool {
    screen.split('\x1b').any(|part| {
        let Some(codes) = part
            .strip_prefix('[')
            .and_then(|p| p.split_once('m'))
            .map(|(c, _)| c)
        else {
            return false;
        };
        codes
            .split(';')
            .any(|c| matches!(c.parse::<u32>(), Ok(30..=37 | 90..=97 | 38)))
    })
}

/// `stratus inventory --config CONFIG`, as a shell command.
fn inventory(config: &str) -> String {
    format!(
        "{} inventory --config {config}",
        common::stratus().display()
    )
}

/// The sample tree's config (the tests run in the repository's root).
const SAMPLE: &str = "fixtures/stores/local.toml";

#[tokio::test]
async fn browsing_the_sample_tree_shows_the_reports_prefixes_and_answers_keys() {
    let config = stratus::Config::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/stores/local.toml"
    ))
    .unwrap();
    let store = config.open("sample").unwrap();
    let report = scan(store.as_ref(), None, &ScanOptions::default().with_depth(3))
        .await
        .unwrap();
    let Some(tmux) = Tmux::start(&format!("{} --browse --depth 3", inventory(SAMPLE)), &[]) else {
        return;
    };
    let screen = tmux.wait_for("scan done", 30);
    assert!(
        screen.contains(&format!("{} objects", report.objects)),
        "{screen}"
    );
    // The top level: the report's depth-1 prefixes, most bytes first.
    let mut top: Vec<_> = report
        .prefixes
        .entries()
        .into_iter()
        .filter(|e| e.depth == 1)
        .collect();
    top.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.prefix.cmp(&b.prefix)));
    let shown = rows(&screen);
    for (i, e) in top.iter().enumerate() {
        assert_eq!(
            shown[i],
            (e.objects.to_string(), format!("{}/", e.prefix)),
            "row {i}:\n{screen}"
        );
    }
    assert!(
        has_colour(&tmux.screen(true)),
        "colour on a terminal without NO_COLOR"
    );

    // Open the biggest prefix: its children, by bytes.
    tmux.keys(&["Enter"]);
    let biggest = &top[0].prefix;
    let screen = tmux.wait_for(&format!("/{biggest}/ "), 5);
    let mut children: Vec<_> = report
        .prefixes
        .entries()
        .into_iter()
        .filter(|e| e.depth == 2 && e.prefix.starts_with(&format!("{biggest}/")))
        .collect();
    children.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.prefix.cmp(&b.prefix)));
    let shown = rows(&screen);
    for (i, e) in children.iter().enumerate() {
        let name = e.prefix.rsplit('/').next().unwrap();
        assert_eq!(shown[i].1, format!("{name}/"), "child {i}:\n{screen}");
    }
    // Back up (h), move down (j), open (l): the second prefix.
    tmux.keys(&["h", "j", "l"]);
    tmux.wait_for(&format!("/{}/ ", top[1].prefix), 5);
    tmux.keys(&["Left"]);
    // Sort by name, then by name reversed.
    tmux.keys(&["n"]);
    let screen = tmux.wait_for("sorted by name A-Z", 5);
    let names: Vec<String> = rows(&screen)
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n.ends_with('/'))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "{screen}");
    tmux.keys(&["n"]);
    tmux.wait_for("sorted by name Z-A", 5);
    tmux.keys(&["c"]);
    tmux.wait_for("sorted by objects", 5);
    // Help, closed by any key; then quit.
    tmux.keys(&["?"]);
    tmux.wait_for("this help", 5);
    tmux.keys(&["x"]);
    let screen = tmux.screen(false);
    assert!(!screen.contains("this help"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("EXITED 0", 5);
}

#[test]
fn no_colour_with_no_color_set() {
    let Some(tmux) = Tmux::start(
        &format!("{} --browse", inventory(SAMPLE)),
        &[("NO_COLOR", "1")],
    ) else {
        return;
    };
    tmux.wait_for("scan done", 30);
    let screen = tmux.screen(true);
    assert!(!has_colour(&screen), "colour despite NO_COLOR");
    assert!(
        screen.contains("\x1b[1;7m") || screen.contains("\x1b[7"),
        "the selection still shows"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("EXITED 0", 5);
}

#[test]
fn without_a_terminal_browse_is_refused() {
    let out = Command::new(common::stratus())
        .args(["inventory", "--config", SAMPLE, "--browse"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a terminal"));
}

/// SeaweedFS under `requests_per_second = 4`, 4,000 objects in 60 folders: the parallel
/// listing makes a few dozen requests (delimiter listings and probes per folder; a
/// listing's pages count as one request), so it takes several seconds, and the browser
/// answers while it runs (the tree fills in, keys work), then shows the final figures.
#[tokio::test]
async fn the_browser_is_usable_while_the_scan_runs() {
    let Some(fixture) = common::Fixture::new(Backend::SeaweedFs, "browse") else {
        return;
    };
    // 16 puts at a time: SeaweedFS answers 500 to thousands at once on a loaded machine.
    futures::stream::iter(0..4000)
        .map(|i| {
            let store = std::sync::Arc::clone(&fixture.store);
            async move {
                let key = Path::from(format!("dir{:02}/sub{}/f{i:05}", i % 20, i % 3));
                store.put(&key, vec![1u8; 10].into()).await
            }
        })
        .buffer_unordered(16)
        .for_each(|put| async move {
            put.unwrap();
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[stores.slow]\n{}limits = {{ requests_per_second = 4 }}\n",
        Backend::SeaweedFs.store_toml(&fixture.prefix).unwrap()
    );
    let file = dir.path().join("slow.toml");
    std::fs::write(&file, toml).unwrap();
    let Some(tmux) = Tmux::start(
        &format!(
            "{} --browse --concurrency 8",
            inventory(&file.display().to_string())
        ),
        &[],
    ) else {
        return;
    };
    // While it scans: some rows already, and the keys answer.
    let screen = tmux.wait_for("dir", 20);
    assert!(screen.contains("scanning…"), "{screen}");
    tmux.keys(&["n"]);
    let screen = tmux.wait_for("sorted by name A-Z", 5);
    assert!(screen.contains("scanning…"), "still scanning:\n{screen}");
    // Then the final figures.
    let screen = tmux.wait_for("scan done", 60);
    assert!(screen.contains("4,000 objects"), "{screen}");
    let names: Vec<String> = rows(&screen).into_iter().map(|(_, n)| n).collect();
    assert_eq!(names[..3], ["dir00/", "dir01/", "dir02/"], "{screen}");
    assert!(
        rows(&screen).iter().all(|(objects, _)| objects == "200"),
        "{screen}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("EXITED 0", 5);
    drop(tmux);

    // Quitting while it scans stops the scan and exits cleanly.
    let Some(tmux) = Tmux::start(
        &format!(
            "{} --browse --concurrency 8",
            inventory(&file.display().to_string())
        ),
        &[],
    ) else {
        return;
    };
    tmux.wait_for("scanning…", 20);
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("EXITED", 10);
    assert!(
        screen.contains("EXITED 0") && !screen.contains("panicked"),
        "{screen}"
    );
}
