//! The engine's progress ([`Event::Progress`]) as compose v2 shows it: one line per
//! object, `Container demo-web-1  Started`. On a terminal (stderr), each line is redrawn
//! in place with indicatif: a spinner while the object is in an `-ing` state
//! (`Creating`, `Starting`, ...), a `✔` once it has reached one; elsewhere each change
//! is a plain line of its own. Warnings ([`Event::Warning`]) are printed above.

use super::image::unexpected;
use super::CliError;
use crate::engine::protocol::{Event, Reply, Request};
use crate::engine::Client;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Sends `request` (named `what` in errors), shows its progress, and expects
/// [`Reply::Ok`].
pub(super) fn call(client: &Client, request: &Request, what: &'static str) -> Result<(), CliError> {
    let mut progress = Progress::new();
    let result = client
        .call(request, &[])
        .and_then(|call| call.finish(|event, _| progress.event(event)));
    progress.finish();
    match result? {
        Reply::Ok => Ok(()),
        other => Err(unexpected(what, &other)),
    }
}

/// Shows progress events as they come.
pub(super) struct Progress {
    /// `None`: plain lines.
    bars: Option<Bars>,
}

/// The redrawn lines of a terminal.
struct Bars {
    multi: MultiProgress,
    objects: Vec<Object>,
    /// The widest title so far (the states are aligned after it).
    width: usize,
}

/// One object's line.
struct Object {
    object: String,
    state: String,
    bar: ProgressBar,
}

/// How often a spinner turns.
const TICK: Duration = Duration::from_millis(100);

impl Progress {
    /// Redrawn lines when stderr is a terminal, plain lines otherwise.
    pub(super) fn new() -> Progress {
        let bars = std::io::stderr().is_terminal().then(|| Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            objects: Vec::new(),
            width: 0,
        });
        Progress { bars }
    }

    /// Shows a progress event or a warning; other events are not progress.
    pub(super) fn event(&mut self, event: Event) {
        match event {
            Event::Progress { object, state } => self.progress(object, state),
            Event::Warning { message } => self.warn(&message),
            _ => {}
        }
    }

    /// Prints a warning above the progress lines.
    pub(super) fn warn(&self, message: &str) {
        let line = format!("rcompose: warning: {message}");
        match &self.bars {
            Some(bars) => bars.multi.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn progress(&mut self, object: String, state: String) {
        let Some(bars) = &mut self.bars else {
            eprintln!("{}", plain_line(&object, &state));
            return;
        };
        let width = title(&object).chars().count();
        let known = bars.objects.iter().position(|o| o.object == object);
        let index = match known {
            Some(index) => index,
            None => {
                let bar = bars.multi.add(ProgressBar::new_spinner());
                bars.objects.push(Object {
                    object,
                    state: String::new(),
                    bar,
                });
                bars.objects.len() - 1
            }
        };
        let Some(changed) = bars.objects.get_mut(index) else {
            return;
        };
        changed.state = state;
        if width > bars.width {
            bars.width = width;
            for object in &bars.objects {
                object.draw(bars.width);
            }
        } else {
            changed.draw(bars.width);
        }
    }

    /// Leaves the lines as they are.
    pub(super) fn finish(self) {
        if let Some(bars) = self.bars {
            for object in bars.objects {
                object.bar.disable_steady_tick();
                object.bar.finish();
            }
        }
    }
}

impl Object {
    fn draw(&self, width: usize) {
        let line = aligned_line(&self.object, &self.state, width);
        if working(&self.state) {
            let style = ProgressStyle::with_template("{spinner:.blue} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            self.bar.set_style(style);
            self.bar.enable_steady_tick(TICK);
        } else {
            self.bar.disable_steady_tick();
            let style = ProgressStyle::with_template("{prefix:.green} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            self.bar.set_style(style);
            self.bar.set_prefix("✔");
        }
        self.bar.set_message(line);
    }
}

/// Whether `state` is one an object passes through (`creating`), rather than one it
/// reaches (`created`).
pub(super) fn working(state: &str) -> bool {
    state.ends_with("ing")
}

/// `container demo-web-1` -> `Container demo-web-1`.
fn title(object: &str) -> String {
    capitalize(object)
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A change as a line of its own: `Container demo-web-1  Starting`.
pub(super) fn plain_line(object: &str, state: &str) -> String {
    format!("{}  {}", title(object), capitalize(state))
}

/// A terminal line after its spinner or `✔`, the state aligned after `width` columns
/// of title: `Container demo-web-1  Started`.
pub(super) fn aligned_line(object: &str, state: &str, width: usize) -> String {
    format!("{:<width$}  {}", title(object), capitalize(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_like_compose() {
        assert_eq!(
            plain_line("container demo-web-1", "starting"),
            "Container demo-web-1  Starting"
        );
        assert_eq!(
            plain_line("network demo_default", "created"),
            "Network demo_default  Created"
        );
        assert_eq!(plain_line("", ""), "  ");
        assert_eq!(
            aligned_line("network demo_default", "created", 20),
            "Network demo_default  Created"
        );
        assert_eq!(
            aligned_line("volume demo_data", "removed", 20),
            "Volume demo_data      Removed"
        );
        assert_eq!(
            aligned_line("container demo-web-1", "started", 5),
            "Container demo-web-1  Started"
        );
    }

    #[test]
    fn ing_states_spin() {
        for state in ["creating", "starting", "stopping", "removing", "waiting"] {
            assert!(working(state), "{state}");
        }
        for state in ["created", "started", "healthy", "exited", "recreated", ""] {
            assert!(!working(state), "{state}");
        }
    }
}
