//! Transfer progress: byte-accurate indicatif bars on a terminal, one plain status line per
//! blob otherwise, nothing with `-q`.
//!
//! Bars are drawn only when [`shell::progress_enabled`] (stderr is a terminal, no `-q`); in a
//! pipe or a CI log each blob gets one cargo-style status line when it is done
//! (`    Uploaded blob 0123456789ab (4.0 MiB)`), so logs carry no control codes.
//!
//! ```
//! use cargo_wasme::registry::progress::Progress;
//! let digest = cargo_wasme::reference::Digest::of(b"layer");
//! let progress = Progress::new(true);
//! let transfer = progress.start("push", &digest, 5);
//! transfer.advance(3); // after each chunk
//! transfer.set_position(5); // e.g. where a resumed upload stands
//! transfer.finish(5, "Uploaded");
//! ```

use crate::reference::Digest;
use crate::shell;
use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressStyle};

/// Reports blob transfers.
pub struct Progress {
    bars: Option<MultiProgress>,
    enabled: bool,
}

/// One blob's transfer. Cheap to share by reference across awaits; every method takes `&self`
/// except [`Transfer::finish`].
pub struct Transfer {
    bar: Option<ProgressBar>,
    digest: String,
    enabled: bool,
}

impl Progress {
    /// Reports when `enabled`: bars when [`shell::progress_enabled`], plain lines otherwise
    /// (none with `-q`).
    pub fn new(enabled: bool) -> Self {
        let bars = (enabled && shell::progress_enabled()).then(MultiProgress::new);
        Progress { bars, enabled }
    }

    /// Starts reporting a transfer of `size` bytes; `verb` (`push`, `pull`) labels the bar.
    pub fn start(&self, verb: &str, digest: &Digest, size: u64) -> Transfer {
        let bar = self.bars.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new(size));
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:20} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(format!("{verb} {}", digest.short()));
            bar
        });
        Transfer {
            bar,
            digest: digest.short().to_string(),
            enabled: self.enabled,
        }
    }

    /// Prints `line` as a warning without tearing the bars.
    pub fn warn(&self, line: impl std::fmt::Display) {
        match &self.bars {
            Some(m) => m.suspend(|| shell::warn(line)),
            None => shell::warn(line),
        }
    }
}

impl Transfer {
    /// `bytes` more have been transferred (call per chunk read or written).
    pub fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// The transfer stands at `position` bytes (a resumed upload, a restarted download).
    pub fn set_position(&self, position: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(position);
        }
    }

    /// Marks the transfer done: `status` is the cargo-style verb of the plain line
    /// (`Uploaded`, `Exists`, `Downloaded`, `Cached`).
    pub fn finish(self, size: u64, status: &str) {
        match self.bar {
            Some(bar) => {
                bar.set_position(size);
                bar.finish_with_message(format!("{} {}", status.to_lowercase(), self.digest));
            }
            None if self.enabled => shell::status(
                status,
                format!("blob {} ({})", self.digest, HumanBytes(size)),
            ),
            None => {}
        }
    }
}

/// A long step: a spinner with the elapsed time on a terminal (wasm-opt, which reports no
/// progress), turned into a byte bar when the step reports bytes (layer compression, through
/// [`crate::image::layer::observe_compression`]); nothing without a terminal (the step's
/// status line says what happened when it is done).
pub struct Activity {
    bar: Option<ProgressBar>,
    /// Whether compression reports to this one.
    compressing: bool,
}

/// The activity layer compression reports to.
static COMPRESSING: std::sync::Mutex<Option<ProgressBar>> = std::sync::Mutex::new(None);

fn on_compression(done: u64, total: u64) {
    if let Ok(current) = COMPRESSING.lock()
        && let Some(bar) = current.as_ref()
    {
        if bar.length() != Some(total) {
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>12.cyan.bold} {msg} [{bar:30}] {bytes}/{total_bytes} [{elapsed}]",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_length(total);
        }
        bar.set_position(done);
    }
}

impl Activity {
    /// Starts the spinner: `{verb} {message} [elapsed]`, cargo-style, when
    /// [`shell::progress_enabled`].
    pub fn start(verb: &str, message: impl std::fmt::Display) -> Self {
        let bar = shell::progress_enabled().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{prefix:>12.cyan.bold} {msg} {spinner} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(verb.to_string());
            bar.set_message(message.to_string());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Activity {
            bar,
            compressing: false,
        }
    }

    /// [`Activity::start`] for packaging: the spinner becomes a byte bar as the layer is
    /// compressed.
    pub fn packaging(message: impl std::fmt::Display) -> Self {
        let mut activity = Activity::start("Packaging", message);
        if activity.bar.is_some() {
            crate::image::layer::observe_compression(on_compression);
            if let Ok(mut current) = COMPRESSING.lock() {
                *current = activity.bar.clone();
                activity.compressing = true;
            }
        }
        activity
    }

    /// Removes the spinner (dropping the activity does the same, so an early `?` leaves no
    /// stale line).
    pub fn finish(self) {}
}

impl Drop for Activity {
    fn drop(&mut self) {
        if self.compressing
            && let Ok(mut current) = COMPRESSING.lock()
        {
            *current = None;
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Shows an [`Activity`] spinner whenever the harness runs `wasm-opt` (which can take a
/// minute on a large module). Idempotent; call it before building.
pub fn show_wasm_opt() {
    use std::sync::Mutex;
    use wasme_build::optimize::{WasmOptEvent, observe_wasm_opt};
    static CURRENT: Mutex<Option<Activity>> = Mutex::new(None);
    fn observer(event: WasmOptEvent) {
        let Ok(mut current) = CURRENT.lock() else {
            return;
        };
        match event {
            WasmOptEvent::Started { bytes } => {
                *current = Some(Activity::start(
                    "Optimizing",
                    format!("with wasm-opt ({})", HumanBytes(bytes)),
                ));
            }
            WasmOptEvent::Finished => {
                if let Some(activity) = current.take() {
                    activity.finish();
                }
            }
        }
    }
    observe_wasm_opt(observer);
}
