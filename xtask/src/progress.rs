//! Live display of a run: human lines as they come, a progress bar driven by `progress`
//! records on a terminal, plain periodic lines otherwise (CI logs).

use crate::records::Progress;
use crate::report::progress_line;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often plain (non-TTY) mode prints progress or a heartbeat.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

pub struct View {
    /// Show human lines at all (test cases run quietly and show logs only on failure).
    show: bool,
    tty: bool,
    bar: Option<ProgressBar>,
    started: Instant,
    last_plain: Option<Instant>,
    last_output: Instant,
}

impl View {
    pub fn new(show: bool) -> Self {
        Self {
            show,
            tty: std::io::stdout().is_terminal(),
            bar: None,
            started: Instant::now(),
            last_plain: None,
            last_output: Instant::now(),
        }
    }

    /// Print a line for humans (above the bar, if one is drawn).
    pub fn line(&mut self, s: &str) {
        if !self.show {
            return;
        }
        self.last_output = Instant::now();
        match &self.bar {
            Some(b) => b.println(s),
            None => println!("{s}"),
        }
    }

    /// Account for a `progress` record.
    pub fn progress(&mut self, p: &Progress) {
        if !self.show {
            return;
        }
        let label = match (&p.run, &p.variant) {
            (Some(r), Some(v)) => format!("{r} {v}"),
            (Some(r), None) => r.clone(),
            (None, Some(v)) => v.clone(),
            (None, None) => "run".into(),
        };
        if self.tty {
            let bar = self.bar.get_or_insert_with(|| {
                let b = ProgressBar::new(p.total.max(1));
                let style = ProgressStyle::with_template(
                    "{msg:>16} [{bar:40.cyan/blue}] {pos}/{len} ({percent}%) {elapsed}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
                b.set_style(style);
                b.enable_steady_tick(Duration::from_millis(250));
                b
            });
            bar.set_length(p.total.max(1));
            bar.set_position(p.done.min(p.total));
            bar.set_message(label);
        } else {
            let due = self.last_plain.is_none_or(|t| t.elapsed() >= PLAIN_EVERY);
            if due || p.done >= p.total {
                self.last_plain = Some(Instant::now());
                self.last_output = Instant::now();
                println!("progress: {}", progress_line(p));
            }
        }
    }

    /// Called periodically: in plain mode, say we are still waiting when nothing was printed.
    pub fn tick(&mut self, last_line: Option<&str>) {
        if !self.show || self.tty || self.last_output.elapsed() < PLAIN_EVERY * 3 {
            return;
        }
        self.last_output = Instant::now();
        println!(
            "xtask: still running after {} s (last line: {})",
            self.started.elapsed().as_secs(),
            last_line.unwrap_or("none")
        );
    }

    /// Remove the bar.
    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
