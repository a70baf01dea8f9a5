//! The user-facing output of `cargo wasme`, in cargo's style: one home for it.
//!
//! * **stderr** carries status lines (`   Compiling add-header`, `    Finished …`), warnings
//!   (`warning: …`), errors (`error: …` with a `help: …` line) and progress bars. Colour and
//!   bars appear only on a terminal (and never with `--color never`, `NO_COLOR` or
//!   `CARGO_TERM_COLOR=never`); `-q` hides everything but errors.
//! * **stdout** carries only results: a digest, a manifest, or, with `--message-format json`,
//!   one JSON object per line. `digest=$(cargo wasme push …)` therefore works.
//!
//! The settings are process-wide (set once by the CLI with [`init`]); library code reports
//! through the free functions here, so a test or a build script that never calls [`init`] gets
//! the defaults: human output, normal verbosity, colour only on a terminal.
//!
//! ```
//! use cargo_wasme::shell;
//! shell::status("Packaged", "add-header:latest (sha256:0123…)");
//! shell::warn("wasm-opt is not on PATH: the module is stored unoptimised");
//! assert!(!shell::is_json());
//! ```

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};
use serde::Serialize;
use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

/// How much is printed on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// Errors only (`-q`).
    Quiet,
    /// Status lines, warnings, errors, progress on a terminal.
    #[default]
    Normal,
    /// Also `tracing` debug output (`-v`; `-vv` for trace).
    Verbose,
}

/// When to colour stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// Colour when stderr is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Always colour (also into pipes).
    Always,
    /// Never colour.
    Never,
}

/// The form of results on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MessageFormat {
    /// Text for people.
    #[default]
    Human,
    /// One JSON object per line (each with a `"reason"` field, as cargo's messages have).
    Json,
}

/// The process-wide output settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shell {
    /// How much goes to stderr.
    pub verbosity: Verbosity,
    /// Colour on stderr.
    pub color: ColorWhen,
    /// Results on stdout as text or JSON lines.
    pub message_format: MessageFormat,
}

static SHELL: OnceLock<Shell> = OnceLock::new();

/// Sets the process-wide settings; the first call wins (later calls are ignored).
///
/// `ColorWhen::Auto` honours `CARGO_TERM_COLOR` (`always`/`never`), then `NO_COLOR` and
/// `CLICOLOR_FORCE` (through `anstream`), then whether stderr is a terminal.
pub fn init(shell: Shell) {
    let color = match shell.color {
        ColorWhen::Auto => match std::env::var("CARGO_TERM_COLOR").as_deref() {
            Ok("always") => ColorWhen::Always,
            Ok("never") => ColorWhen::Never,
            _ => ColorWhen::Auto,
        },
        other => other,
    };
    let choice = match color {
        ColorWhen::Auto => ColorChoice::Auto,
        ColorWhen::Always => ColorChoice::Always,
        ColorWhen::Never => ColorChoice::Never,
    };
    choice.write_global();
    let _ = SHELL.set(Shell { color, ..shell });
}

/// The current settings ([`Shell::default`] when [`init`] was never called).
pub fn get() -> Shell {
    SHELL.get().copied().unwrap_or_default()
}

/// True with `--message-format json`.
pub fn is_json() -> bool {
    get().message_format == MessageFormat::Json
}

/// True with `-q`.
pub fn is_quiet() -> bool {
    get().verbosity == Verbosity::Quiet
}

/// True when progress bars should be drawn: stderr is a terminal and not `-q`.
pub fn progress_enabled() -> bool {
    !is_quiet() && std::io::stderr().is_terminal()
}

const STATUS: Style = AnsiColor::Green.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const HELP: Style = AnsiColor::Cyan.on_default().bold();

/// A cargo-style status line on stderr: `verb` right-aligned in 12 columns, then `message`
/// (`   Compiling add-header v0.1.0`). Hidden with `-q`.
pub fn status(verb: &str, message: impl Display) {
    if is_quiet() {
        return;
    }
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "{STATUS}{verb:>12}{STATUS:#} {message}");
}

/// `warning: message` on stderr. Hidden with `-q`.
pub fn warn(message: impl Display) {
    if is_quiet() {
        return;
    }
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "{WARNING}warning{WARNING:#}: {message}");
}

/// `note: message` on stderr (supplementary facts). Hidden with `-q`.
pub fn note(message: impl Display) {
    if is_quiet() {
        return;
    }
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "{HELP}note{HELP:#}: {message}");
}

/// `error: message` on stderr, then `help: help` when given. Always shown.
pub fn error(message: impl Display, help: Option<&str>) {
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "{ERROR}error{ERROR:#}: {message}");
    if let Some(help) = help {
        let _ = writeln!(err, "  {HELP}help{HELP:#}: {help}");
    }
}

/// A plain line on stderr (tables, reports meant for people). Hidden with `-q`.
pub fn info(message: impl Display) {
    if is_quiet() {
        return;
    }
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "{message}");
}

/// One result line on stdout (a digest, a reference). Printed in human mode only; in JSON
/// mode results go through [`json`].
pub fn result(line: impl Display) {
    if is_json() {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// One JSON object on one stdout line, in JSON mode only. `reason` names the message kind
/// (`"image-built"`, `"test-result"`, …) and is added as the object's `"reason"` field.
pub fn json(reason: &str, value: &impl Serialize) {
    if !is_json() {
        return;
    }
    let mut object = match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(map)) => map,
        Ok(other) => {
            let mut map = serde_json::Map::new();
            map.insert("value".into(), other);
            map
        }
        Err(e) => {
            error(format!("cannot serialise a {reason} message: {e}"), None);
            return;
        }
    };
    object.insert("reason".into(), serde_json::Value::String(reason.into()));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", serde_json::Value::Object(object));
}

/// An error and its causes on one line, `outer: cause: root`, as anyhow's `{:#}` writes it —
/// except that a cause whose text the line already holds is not repeated. Many errors (ours
/// with `{source}` in their message, the OS's, the registry client's) already print their
/// cause; `{:#}` would print it twice. `main`, `cache` and `test` print errors through this.
///
/// ```
/// use cargo_wasme::shell::chain;
/// let io = std::io::Error::other("disk full");
/// let e = anyhow::Error::new(io).context("cannot write x: disk full").context("storing");
/// assert_eq!(chain(e.as_ref()), "storing: cannot write x: disk full");
/// ```
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = e.source();
    }
    line
}

/// An error that carries a `help:` line: `main` prints it under the `error:` line. Attach one
/// with [`WithHelp::help`]; the error's message and causes are unchanged.
///
/// ```
/// use cargo_wasme::shell::{Help, WithHelp};
/// let r: Result<(), std::io::Error> = Err(std::io::Error::other("no such image"));
/// let e = r.help("run `cargo wasme images` to see what is there").unwrap_err();
/// assert_eq!(e.to_string(), "no such image");
/// assert_eq!(Help::find(&e), Some("run `cargo wasme images` to see what is there"));
/// ```
#[derive(Debug)]
pub struct Help {
    help: String,
    error: anyhow::Error,
}

impl Help {
    /// The help text of the first [`Help`] in `error`'s chain.
    pub fn find(error: &anyhow::Error) -> Option<&str> {
        error
            .chain()
            .find_map(|e| e.downcast_ref::<Help>())
            .map(|h| h.help.as_str())
    }
}

impl Display for Help {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Help {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let inner: &(dyn std::error::Error + 'static) = self.error.as_ref();
        inner.source()
    }
}

/// Attaches a `help:` line to an error ([`Help`]).
pub trait WithHelp<T> {
    /// The same result, its error carrying `help`.
    fn help(self, help: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> WithHelp<T> for Result<T, E> {
    fn help(self, help: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| with_help(e, help))
    }
}

/// `error` carrying a `help:` line ([`Help`]).
pub fn with_help(error: impl Into<anyhow::Error>, help: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Help {
        help: help.into(),
        error: error.into(),
    })
}

/// The JSON message of a command whose result is one image (`image-pushed`, `image-pulled`,
/// …): `{"reason": …, "reference": …, "digest": …, "size": …}`.
#[derive(Debug, Clone, Serialize)]
pub struct ImageMessage<'a> {
    /// The image reference the command worked on (`registry/repo:tag`).
    pub reference: &'a str,
    /// The manifest digest (`sha256:…`).
    pub digest: &'a str,
    /// The bytes of the image (manifest, config and layers).
    pub size: u64,
}

/// Reports one image result: its digest alone on stdout in human mode, an [`ImageMessage`]
/// line with `reason` in JSON mode. `digest=$(cargo wasme push …)` works with either.
pub fn image_result(reason: &str, message: &ImageMessage<'_>) {
    result(message.digest);
    json(reason, message);
}

/// `-q` and `--color` as cargo takes them, so cargo's own `Compiling`/`Finished` lines follow
/// the same settings as ours.
pub fn cargo_output_flags() -> Vec<String> {
    let settings = get();
    let mut flags = Vec::new();
    if settings.verbosity == Verbosity::Quiet {
        flags.push("--quiet".to_string());
    }
    match settings.color {
        ColorWhen::Always => flags.extend(["--color".into(), "always".into()]),
        ColorWhen::Never => flags.extend(["--color".into(), "never".into()]),
        ColorWhen::Auto => {}
    }
    flags
}
