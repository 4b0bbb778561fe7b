//! Which config file the command reads (`--config`, `STRATUS_CONFIG`, the platform's
//! config folder), and `stratus config check`.

use crate::finish::{Failure, Outcome};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use stratus::billed::Billed;
use stratus::config::{ProviderConfig, StoreConfig};
use stratus::object_store::ObjectStore;
use stratus::requests::Requests;
use stratus::text::terminal;
use stratus::Config;

/// What lists a store's versions and unfinished uploads.
pub type BilledLister = Arc<dyn Billed>;

/// `stratus config ...`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Load the config file and show every store: its provider, where it points and
    /// what it is built as (secrets hidden). Each store is built, as a command using it
    /// would: a local store with `create_root = true` gets its folder.
    Check,
}

/// Where the config file comes from (the `--config` flag, if given), and the request
/// books of every store the command opened, for the summary it ends with.
pub struct Context {
    flag: Option<PathBuf>,
    books: Mutex<Vec<Requests>>,
    /// The `s3` stores the command loaded or parsed, by the name the user gave: where a
    /// redirect from a bucket of another region is explained.
    s3: Mutex<Vec<(String, StoreConfig)>>,
}

impl Context {
    pub fn new(flag: Option<PathBuf>) -> Self {
        Self {
            flag,
            books: Mutex::new(Vec::new()),
            s3: Mutex::new(Vec::new()),
        }
    }

    fn keep(&self, book: &Requests) {
        self.books.lock().expect("request books").push(book.clone());
    }

    /// Remember `store` (named `name`) if it is an `s3` store.
    fn remember(&self, name: &str, store: &StoreConfig) {
        if matches!(store.kind, ProviderConfig::S3(_)) {
            let mut known = self.s3.lock().expect("s3 stores");
            known.retain(|(n, _)| n != name);
            known.push((name.to_string(), store.clone()));
        }
    }

    /// For a failure that is S3's redirect from a bucket of another region: a line per
    /// `s3` store the command used whose bucket S3 says is elsewhere than its `region`
    /// (one HEAD each, not counted: the summary is printed already).
    pub async fn wrong_regions(&self) -> Vec<String> {
        let known = self.s3.lock().expect("s3 stores").clone();
        let mut lines = Vec::new();
        for (name, store) in known {
            let ProviderConfig::S3(s3) = &store.kind else {
                continue;
            };
            let Ok(Some(actual)) = store.bucket_region(&Requests::new()).await else {
                continue;
            };
            let said = s3.region.as_deref().unwrap_or("us-east-1");
            if actual != said {
                lines.push(format!(
                    "store `{}`: bucket `{}` is in {actual}, not {said}: set `region = \"{actual}\"`",
                    terminal(&name),
                    terminal(&s3.bucket)
                ));
            }
        }
        lines
    }

    /// A line per store that sent requests (and their cost, where the config gives
    /// `prices`), over every config and URL the command opened.
    pub fn requests(&self) -> Vec<String> {
        let books = self.books.lock().expect("request books");
        books.iter().flat_map(Requests::summary).collect()
    }

    /// The store at `url` (`s3://bucket/prefix`, `file:///data`), its requests counted.
    pub async fn open_url(&self, url: &str) -> Result<Arc<dyn ObjectStore>, Failure> {
        Ok(self.open_url_billed(url, false).await?.0)
    }

    /// [`Self::open_url`], and when `billed`, what lists the store's versions and
    /// unfinished uploads (its requests counted with the store's).
    pub async fn open_url_billed(
        &self,
        url: &str,
        billed: bool,
    ) -> Result<(Arc<dyn ObjectStore>, Option<BilledLister>), Failure> {
        let book = Requests::new();
        let mut config = stratus::config::parse_url(url)?;
        // The title leaves the query out: it may carry keys.
        let shown = url.split(['?', '#']).next().unwrap_or_default();
        if let Some(region) = config.resolve_region(&book).await? {
            note_region(shown, &region);
        }
        self.remember(shown, &config);
        let store = config.build_counted(&book)?;
        let billed = match billed {
            true => Some(config.billed_counted(&book)?),
            false => None,
        };
        self.keep(&book);
        Ok((store, billed))
    }

    /// The config file: `--config`, else `STRATUS_CONFIG`, else `stores.toml` in the
    /// platform's config folder when it exists; the error names all three places.
    pub fn path(&self) -> Result<PathBuf, Failure> {
        if let Some(path) = &self.flag {
            return Ok(path.clone());
        }
        if let Some(path) = std::env::var_os("STRATUS_CONFIG").filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(path));
        }
        let platform = platform_file();
        match &platform {
            Some(path) if path.exists() => Ok(path.clone()),
            _ => Err(Failure::Message(format!(
                "no config file: give --config FILE, set STRATUS_CONFIG, or create {}",
                platform.map_or_else(
                    || format!("{} (its folder is not set here)", PLATFORM_FILE),
                    |p| p.display().to_string()
                )
            ))),
        }
    }

    /// The config file, loaded, and its path as given.
    pub fn load(&self) -> Result<(Config, String), Failure> {
        let path = self.path()?;
        let config = Config::load(&path)?;
        self.keep(config.requests());
        for name in config.names() {
            self.remember(name, config.get(name)?);
        }
        Ok((config, path.display().to_string()))
    }

    /// [`Self::load`], every `s3` store that nothing gives a region given its bucket's
    /// (one HEAD each, counted as the store's: [`Config::resolve_regions`]), with a note
    /// on standard error for each.
    pub async fn load_resolved(&self) -> Result<(Config, String), Failure> {
        let (mut config, path) = self.load()?;
        for (name, region) in config.resolve_regions().await? {
            note_region(&name, &region);
            self.remember(&name, config.get(&name)?);
        }
        Ok((config, path))
    }
}

/// The note a store whose region was asked of S3 gets.
fn note_region(name: &str, region: &str) {
    eprintln!(
        "note: store `{}`: its bucket is in {region} (S3 said so; set `region = \"{region}\"` \
         to spare the request)",
        terminal(name)
    );
}

/// The platform's config file, as the docs name it.
#[cfg(windows)]
const PLATFORM_FILE: &str = "%APPDATA%\\stratus\\stores.toml";
#[cfg(not(windows))]
const PLATFORM_FILE: &str = "$XDG_CONFIG_HOME/stratus/stores.toml or ~/.config/stratus/stores.toml";

/// `stratus/stores.toml` in the platform's config folder: `%APPDATA%` on Windows,
/// `$XDG_CONFIG_HOME` (when set to an absolute path) or `~/.config` elsewhere.
fn platform_file() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let folder = if cfg!(windows) {
        var("APPDATA")?
    } else {
        match var("XDG_CONFIG_HOME").filter(|p| p.is_absolute()) {
            Some(folder) => folder,
            None => var("HOME")?.join(".config"),
        }
    };
    Some(folder.join("stratus").join("stores.toml"))
}

/// `stratus config check`: each store's name, provider, `Display` (the layers it is
/// built with, secrets redacted) and place. A store that cannot be built is named with
/// its error; any such store makes the check fail.
pub fn check(context: &Context) -> Outcome {
    let (config, path) = context.load()?;
    println!("config: {}", terminal(&path));
    match config.default_name() {
        Ok(name) => println!("default store: {}", terminal(name)),
        Err(_) => println!("default store: none (name the store on the command line)"),
    }
    let mut failed = 0;
    for name in config.names() {
        let store = config.get(name)?;
        println!("\n{}  ({})", terminal(name), store.provider());
        match config.place(name)? {
            Some(place) => println!("  place: {}", terminal(&place)),
            None => println!("  place: its members'"),
        }
        if let Some(credentials) = config.credentials(name)? {
            println!("  credentials: {}", terminal(&credentials));
        }
        match config.open(name) {
            Ok(store) => println!("  store: {}", terminal(&store.to_string())),
            Err(e) => {
                failed += 1;
                println!("  error: {}", e.brief());
                if let Some(advice) = e.advice() {
                    println!("    → {}", terminal(advice));
                }
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(Failure::Message(format!(
            "{n} of the stores in {} cannot be built (above)",
            terminal(&path)
        ))),
    }
}
