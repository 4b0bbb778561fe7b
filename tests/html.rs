//! The HTML report in a real browser: headless Chromium opens each generated page; the
//! figures it shows must equal the JSON report, the script must run (the treemap's views
//! switch, a link to a prefix opens zoomed in), nothing may be logged to the console (a
//! blocked request or a script error would be) and nothing may be fetched. Screenshots go
//! to `target/html/` (look at them).
//!
//! `scripts/test.sh` installs Debian's `chromium` where it can; without it these tests
//! print SKIPPED, or fail when `STRATUS_REQUIRE_BROWSER=1`.

#![cfg(feature = "html")]

mod common;

use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use std::path::PathBuf;
use std::process::Command;
use stratus::inventory::{html, scan, Report, ScanOptions};

fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        if std::env::var("STRATUS_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("no chromium on PATH but STRATUS_REQUIRE_BROWSER=1");
        }
        eprintln!("SKIPPED: no chromium on PATH (scripts/test.sh installs Debian's chromium)");
    }
    found
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/html");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What the browser made of a page: the DOM after its script ran, and every console line.
struct Loaded {
    dom: String,
    console: Vec<String>,
    net_log: String,
}

fn load(
    browser: &std::path::Path,
    file: &std::path::Path,
    fragment: &str,
    screenshot: Option<&str>,
) -> Loaded {
    let url = format!("file://{}{fragment}", file.display());
    let scratch = tempfile::tempdir().unwrap();
    let net_log = scratch.path().join("net.json");
    let mut command = Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-pings",
        "--window-size=1280,1600",
    ]);
    command.arg(format!(
        "--user-data-dir={}",
        scratch.path().join("profile").display()
    ));
    command.arg(format!("--log-net-log={}", net_log.display()));
    match screenshot {
        Some(png) => command.arg(format!("--screenshot={}", out_dir().join(png).display())),
        None => command.arg("--dump-dom"),
    };
    let out = command.arg(&url).output().unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(String::from)
        .collect();
    Loaded {
        dom: String::from_utf8(out.stdout).unwrap(),
        console,
        net_log: std::fs::read_to_string(&net_log).unwrap_or_default(),
    }
}

/// Hosts the browser contacted, but Chromium's own background services (time, accounts,
/// updates), which it reaches whatever the page.
fn page_requests(net_log: &str) -> Vec<String> {
    let own = ["google.com", "gvt1.com", "googleapis.com", "gstatic.com"];
    let mut hosts: Vec<String> = net_log
        .match_indices("://")
        .filter_map(|(at, _)| {
            let scheme_start = net_log[..at].rfind('"')? + 1;
            let scheme = &net_log[scheme_start..at];
            if scheme != "http" && scheme != "https" {
                return None;
            }
            let rest = &net_log[at + 3..];
            let end = rest.find(['/', '"', ' ', ':', '\\']).unwrap_or(rest.len());
            Some(rest[..end].to_string())
        })
        .filter(|host| {
            !own.iter()
                .any(|o| host == o || host.ends_with(&format!(".{o}")))
        })
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// The value of `attribute` on the element whose `key` attribute is `value`.
fn attribute_of(dom: &str, key: &str, value: &str, attribute: &str) -> Option<String> {
    let needle = format!("{key}=\"{value}\"");
    let at = dom.find(&needle)?;
    let start = dom[..at].rfind('<')?;
    let end = at + dom[at..].find('>')?;
    let tag = &dom[start..end];
    let wanted = format!("{attribute}=\"");
    let from = tag.find(&wanted)? + wanted.len();
    Some(tag[from..from + tag[from..].find('"')?].to_string())
}

/// Every figure of `report` that the page shows, against the DOM.
fn check_figures(dom: &str, report: &Report) {
    for (field, value) in [
        ("objects", report.objects.to_string()),
        ("bytes", report.bytes.to_string()),
        ("zero_byte_objects", report.zero_byte_objects.to_string()),
        ("largest", report.largest.unwrap().to_string()),
        ("newest", report.newest.unwrap().to_rfc3339()),
        ("as_of", report.as_of.to_rfc3339()),
    ] {
        assert_eq!(
            attribute_of(dom, "data-field", field, "data-value").as_deref(),
            Some(value.as_str()),
            "{field}"
        );
    }
    // Every kept prefix is a rectangle with its figures (at least once: in its parent's
    // view, and nested in its grandparent's).
    let entries = report.prefixes.entries();
    assert!(entries.len() > 3);
    for e in entries {
        if e.bytes == 0 {
            continue; // no area
        }
        let bytes = attribute_of(dom, "data-prefix", &escape(&e.prefix), "data-bytes");
        if e.depth == 1
            || dom.contains(&format!(
                "data-view=\"{}\"",
                escape(e.prefix.rsplit_once('/').unwrap().0)
            ))
        {
            assert_eq!(bytes, Some(e.bytes.to_string()), "prefix {}", e.prefix);
        }
    }
    for o in report.top.largest() {
        assert_eq!(
            attribute_of(dom, "data-key", &escape(&o.key), "data-size"),
            Some(o.size.to_string()),
            "largest {}",
            o.key
        );
    }
    if let Some(classes) = &report.classes {
        for (class, c) in classes {
            assert_eq!(
                attribute_of(dom, "data-class", class, "data-bytes"),
                Some(c.bytes.to_string()),
                "class {class}"
            );
        }
    } else {
        assert!(dom.contains("Not available from a listing"));
    }
    let size_rows = dom.matches("data-bucket=").count();
    let buckets = report.sizes.buckets().count()
        + report.ages.buckets().filter(|(_, c)| !c.is_empty()).count();
    assert_eq!(size_rows, buckets, "one bar per histogram bucket");
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The page's own checks, before any browser: self-contained, and small.
fn check_self_contained(page: &str) {
    for forbidden in ["http://", "https://", "src=", "href=", "@import", "url("] {
        assert!(
            !page.contains(forbidden),
            "the page refers to something outside: {forbidden}"
        );
    }
    assert!(page.contains("Content-Security-Policy"));
}

/// Which treemap views are shown (not `display="none"`).
fn shown_views(dom: &str) -> Vec<String> {
    dom.match_indices("<g class=\"view\"")
        .map(|(at, _)| &dom[at..at + dom[at..].find('>').unwrap()])
        .filter(|tag| !tag.contains("display=\"none\""))
        .map(|tag| {
            let from = tag.find("data-view=\"").unwrap() + 11;
            tag[from..from + tag[from..].find('"').unwrap()].to_string()
        })
        .collect()
}

fn check_in_browser(
    browser: &std::path::Path,
    name: &str,
    page: &str,
    report: &Report,
    zoom: &str,
) {
    check_self_contained(page);
    let file = out_dir().join(format!("{name}.html"));
    std::fs::write(&file, page).unwrap();
    let loaded = load(browser, &file, "", None);
    assert!(
        loaded.console.is_empty(),
        "{name}: console: {:?}",
        loaded.console
    );
    let fetched = page_requests(&loaded.net_log);
    assert!(fetched.is_empty(), "{name}: network requests: {fetched:?}");
    check_figures(&loaded.dom, report);
    assert_eq!(shown_views(&loaded.dom), [""], "{name}: the top view only");
    // A link to a prefix opens zoomed in: that view only, and the breadcrumb says so.
    let zoomed = load(browser, &file, &format!("#{zoom}"), None);
    assert!(
        zoomed.console.is_empty(),
        "{name}: console: {:?}",
        zoomed.console
    );
    assert_eq!(shown_views(&zoomed.dom), [zoom], "{name}: zoomed");
    assert!(
        zoomed
            .dom
            .contains(&format!("<span id=\"where\">{zoom}/</span>")),
        "{name}: breadcrumb"
    );
    assert!(
        !zoomed
            .dom
            .contains("<button id=\"back\" type=\"button\" disabled"),
        "{name}: back enabled"
    );
    load(browser, &file, "", Some(&format!("{name}.png")));
    assert!(
        out_dir()
            .join(format!("{name}.png"))
            .metadata()
            .unwrap()
            .len()
            > 10_000
    );
}

async fn sample_report() -> Report {
    let config = stratus::Config::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/stores/local.toml"
    ))
    .unwrap();
    let store = config.open("sample").unwrap();
    scan(store.as_ref(), None, &ScanOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_html_report_shows_the_reports_figures_in_a_browser() {
    let Some(browser) = chromium() else { return };
    let report = sample_report().await;
    let page = html::render(&report, "the sample tree");
    check_in_browser(&browser, "sample", &page, &report, "logs");
}

#[cfg(feature = "reports")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_of_an_inventory_report_shows_its_classes() {
    let Some(browser) = chromium() else { return };
    let store: std::sync::Arc<dyn object_store::ObjectStore> = std::sync::Arc::new(
        object_store::local::LocalFileSystem::new_with_prefix(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/inventory-reports/s3-parquet"
        ))
        .unwrap(),
    );
    let manifest = Path::from("inventory/source-bucket/daily/2026-11-20T00-00Z/manifest.json");
    let report = stratus::inventory::reports::read(store, &manifest, None, &ScanOptions::default())
        .await
        .unwrap();
    let page = html::render(&report, "source-bucket");
    check_in_browser(&browser, "s3-inventory", &page, &report, "logs");
}

#[tokio::test]
async fn a_diff_page_colours_what_grew() {
    let Some(browser) = chromium() else { return };
    let store = InMemory::new();
    for (key, size) in [
        ("logs/a/1", 1000),
        ("logs/b/2", 500),
        ("img/x/1", 800),
        ("tmp/y/1", 300),
        ("img/x/2", 10),
    ] {
        store
            .put(&Path::from(key), vec![0u8; size].into())
            .await
            .unwrap();
    }
    let before = scan(&store, None, &ScanOptions::default()).await.unwrap();
    store
        .put(&Path::from("logs/a/3"), vec![0u8; 4000].into())
        .await
        .unwrap();
    store.delete(&Path::from("tmp/y/1")).await.unwrap();
    store
        .put(&Path::from("new/z/1"), vec![0u8; 700].into())
        .await
        .unwrap();
    let after = scan(&store, None, &ScanOptions::default()).await.unwrap();
    let diff = before.diff(&after);
    let page = html::render_diff(&diff, &after, "memory");
    check_in_browser(&browser, "diff", &page, &after, "logs");
    let dom = load(&browser, &out_dir().join("diff.html"), "", None).dom;
    assert_eq!(
        attribute_of(&dom, "data-changed", "logs/a", "data-bytes-delta").as_deref(),
        Some("4000")
    );
    assert!(
        dom.contains("hsl(210, 70%, 62%)"),
        "the new prefix in the appeared colour"
    );
    assert!(dom.contains("data-changed=\"tmp\" data-bytes-delta=\"-300\""));
}

/// The checks bite: a page that fetches something (its request blocked by the policy, or
/// made when there is none) and a page whose script fails are caught.
#[test]
fn the_browser_checks_catch_requests_and_script_errors() {
    let Some(browser) = chromium() else { return };
    let csp = r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'">"#;
    let pages = [
        (
            "blocked",
            format!(
                r#"<!doctype html><html><head>{csp}</head><body><img src="https://example.com/x.png"></body></html>"#
            ),
        ),
        (
            "fetched",
            r#"<!doctype html><html><body><img src="http://127.0.0.1:9/x.png"></body></html>"#
                .to_string(),
        ),
        (
            "failing",
            format!(
                r#"<!doctype html><html><head>{csp}</head><body><script>nosuch();</script></body></html>"#
            ),
        ),
    ];
    for (name, page) in pages {
        let file = out_dir().join(format!("control-{name}.html"));
        std::fs::write(&file, page).unwrap();
        let loaded = load(&browser, &file, "", None);
        let caught = !loaded.console.is_empty() || !page_requests(&loaded.net_log).is_empty();
        assert!(caught, "{name}: not caught");
    }
}

#[test]
fn a_thousand_prefix_report_is_under_a_mebibyte() {
    // 40 x 25 prefixes to depth 2: 1,040 kept.
    let mut report = Report::new(chrono::Utc::now(), 2, 2000, 20);
    for a in 0..40 {
        for b in 0..25 {
            for c in 0..3 {
                let key = format!("top-{a:02}/second-{b:02}/object-{c}.bin");
                let meta = object_store::ObjectMeta {
                    location: Path::from(key.as_str()),
                    last_modified: chrono::Utc::now(),
                    size: 1000 + (a * 25 + b) as u64 * 37,
                    e_tag: None,
                    version: None,
                };
                report.add(&key, &meta);
            }
        }
    }
    report.finish();
    assert!(report.prefixes.entries().len() >= 1000);
    let page = html::render(&report, "a big bucket");
    check_self_contained(&page);
    assert!(page.len() < 1 << 20, "{} bytes", page.len());
    std::fs::write(out_dir().join("thousand.html"), &page).unwrap();
}

#[test]
fn no_control_character_reaches_the_page_raw() {
    // Every character the terminal escapes, in a prefix, a largest object's key, a storage
    // class and the title; in a page and in a diff page. A line break may stay (HTML reads
    // it as a space); anything else must be written visibly.
    let controls: Vec<char> = (0..=0x206f_u32)
        .filter_map(char::from_u32)
        .filter(|&c| stratus::text::is_terminal_control(c))
        .collect();
    let report = |grow: u64| {
        let mut report = Report::new(chrono::Utc::now(), 2, 2000, 200);
        for (i, c) in controls.iter().enumerate() {
            let key = format!("top{c}{i}/in{c}side/object{c}.bin");
            let meta = object_store::ObjectMeta {
                location: Path::from(key.as_str()),
                last_modified: chrono::Utc::now(),
                size: 100 + i as u64 * grow,
                e_tag: None,
                version: None,
            };
            report.add(&key, &meta);
        }
        report.finish();
        report
    };
    let (older, newer) = (report(1), report(3));
    let diff = older.diff(&newer);
    let title: String = controls.iter().collect();
    for page in [
        html::render(&newer, &title),
        html::render_diff(&diff, &newer, &title),
    ] {
        let raw: Vec<char> = page
            .chars()
            .filter(|&c| c != '\n' && stratus::text::is_terminal_control(c))
            .collect();
        assert!(raw.is_empty(), "raw in the page: {raw:?}");
        assert!(page.contains("top\\x1b"), "ESC is shown as \\x1b");
        assert!(page.contains("\\u{202e}"), "U+202E is shown as \\u{{202e}}");
    }
}

#[test]
fn a_control_and_its_escape_written_out_stay_two_views() {
    // The page shows U+202E as `\u{202e}`; a prefix holding that text literally must still
    // be a view of its own (one click must not open both).
    let mut report = Report::new(chrono::Utc::now(), 2, 2000, 20);
    for key in ["dir\u{202e}evil/a/x.bin", "dir\\u{202e}evil/a/x.bin"] {
        let meta = object_store::ObjectMeta {
            location: Path::from(key),
            last_modified: chrono::Utc::now(),
            size: 10,
            e_tag: None,
            version: None,
        };
        report.add(key, &meta);
    }
    report.finish();
    let page = html::render(&report, "two names");
    let views: Vec<&str> = page
        .match_indices("data-view=\"")
        .map(|(at, found)| {
            let rest = &page[at + found.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    let distinct: std::collections::BTreeSet<&&str> = views.iter().collect();
    assert_eq!(views.len(), 3, "the top and one view per prefix: {views:?}");
    assert_eq!(distinct.len(), views.len(), "{views:?}");
}
