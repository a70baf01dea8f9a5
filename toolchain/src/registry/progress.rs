//! Transfer progress: indicatif bars on a terminal, one plain line per blob otherwise.

use crate::reference::Digest;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Reports blob transfers.
pub struct Progress {
    bars: Option<MultiProgress>,
    enabled: bool,
}

/// One blob's transfer.
pub struct Transfer {
    bar: Option<ProgressBar>,
    label: String,
    enabled: bool,
}

impl Progress {
    /// Bars when `enabled` and stderr is a terminal, plain lines when only `enabled`.
    pub fn new(enabled: bool) -> Self {
        let bars = (enabled && std::io::stderr().is_terminal()).then(MultiProgress::new);
        Progress { bars, enabled }
    }

    /// Starts reporting a transfer of `size` bytes.
    pub fn start(&self, verb: &str, digest: &Digest, size: u64) -> Transfer {
        let label = format!("{verb} {}", digest.short());
        let bar = self.bars.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new(size));
            bar.set_style(
                ProgressStyle::with_template("{msg:20} [{bar:30}] {bytes}/{total_bytes}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message(label.clone());
            bar
        });
        Transfer {
            bar,
            label,
            enabled: self.enabled,
        }
    }
}

impl Transfer {
    /// Moves the bar to `position` bytes (a download in progress).
    pub fn advance(&self, position: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(position);
        }
    }

    /// Marks the transfer done with a note (`done`, `exists`, …).
    pub fn finish(self, size: u64, note: &str) {
        match self.bar {
            Some(bar) => {
                bar.set_position(size);
                bar.finish_with_message(format!("{} {note}", self.label));
            }
            None if self.enabled => eprintln!("{}: {note} ({size} bytes)", self.label),
            None => {}
        }
    }
}
