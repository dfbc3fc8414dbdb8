//! The one place that prints: stdout for results, stderr for diagnostics and prompts, colours
//! only on a terminal and never with `NO_COLOR`. With `--json`, the human text is replaced by
//! one JSON object per line on stdout, in the shape of Terraform's machine-readable UI.
//! While changes are applied on a terminal (not under `NO_COLOR` or `TERM=dumb`), a status
//! area is redrawn beneath the lines of the log ([`ProgressOut`]); anywhere else the log is
//! all there is.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use inferform_render::RenderOptions;
use inferform_types::Diagnostic;

pub struct Ui {
    pub color: bool,
    /// Machine-readable output: JSON lines instead of text.
    pub json: bool,
    /// Stdout is a terminal that can redraw a status area in place.
    pub live: bool,
}

/// The version of the JSON lines format.
pub const JSON_UI_VERSION: &str = "1.2";

impl Ui {
    pub fn from_env() -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        let terminal = std::io::stdout().is_terminal();
        Ui {
            color: !no_color && terminal,
            json: false,
            live: !no_color && !dumb && terminal,
        }
    }

    /// The same terminal, speaking JSON lines when `json` is set (and announcing its version).
    pub fn with_json(&self, json: bool) -> Ui {
        let ui = Ui {
            color: self.color && !json,
            json,
            live: self.live && !json,
        };
        if json {
            ui.emit(
                "info",
                &format!("inferform {}", env!("CARGO_PKG_VERSION")),
                "version",
                serde_json::json!({"inferform": env!("CARGO_PKG_VERSION"), "ui": JSON_UI_VERSION}),
            );
        }
        ui
    }

    pub fn render(&self) -> RenderOptions {
        RenderOptions { color: self.color }
    }

    /// Prints to stdout as is (nothing in JSON mode).
    pub fn out(&self, text: &str) {
        if self.json {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    pub fn line(&self, text: &str) {
        self.out(&format!("{text}\n"));
    }

    pub fn error_line(&self, text: &str) {
        if self.json {
            self.emit("error", text.trim(), "log", serde_json::json!({}));
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{text}");
    }

    /// One JSON line: `@level`, `@message`, `@module`, `@timestamp`, `type`, and `fields`.
    pub fn emit(&self, level: &str, message: &str, kind: &str, fields: serde_json::Value) {
        emit_json_line(level, message, kind, fields);
    }

    /// One event of the machine-readable UI, as built in `inferform_render::ui_json`.
    pub fn event(&self, event: &inferform_render::ui_json::UiEvent) {
        self.emit(
            event.level,
            &event.message,
            event.kind,
            event.fields.clone(),
        );
    }

    /// Where the progress of changes being applied goes, until [`ProgressOut::close`].
    pub fn progress(&self) -> ProgressOut {
        let area = self.live.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
            bar.set_style(
                ProgressStyle::with_template("{msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        ProgressOut {
            json: self.json,
            style: inferform_render::Style { color: self.color },
            area,
        }
    }

    /// Prints diagnostics (to stderr, or as `diagnostic` lines); returns true when any was an
    /// error.
    pub fn diagnostics<'a>(&self, diags: impl IntoIterator<Item = &'a Diagnostic>) -> bool {
        let mut errors = false;
        let mut stderr = std::io::stderr().lock();
        for d in diags {
            errors |= d.is_error();
            if self.json {
                self.emit(
                    if d.is_error() { "error" } else { "warn" },
                    &d.message,
                    "diagnostic",
                    serde_json::json!({"diagnostic": inferform_render::diagnostic_json(d)}),
                );
            } else {
                let _ = write!(
                    stderr,
                    "{}",
                    inferform_render::render_diagnostic(d, self.render())
                );
            }
        }
        errors
    }

    /// Asks a question on stderr and reads one line of standard input.
    pub fn ask(&self, question: &str) -> Option<String> {
        {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "{question}");
            let _ = stderr.flush();
        }
        let mut answer = String::new();
        match std::io::stdin().read_line(&mut answer) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(answer.trim().to_string()),
        }
    }
}

/// One JSON line on stdout: `@level`, `@message`, `@module`, `@timestamp`, `type`, and
/// `fields`.
fn emit_json_line(level: &str, message: &str, kind: &str, fields: serde_json::Value) {
    let timestamp = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut line = serde_json::json!({
        "@level": level,
        "@message": message,
        "@module": "inferform.ui",
        "@timestamp": timestamp,
        "type": kind,
    });
    if let (Some(l), serde_json::Value::Object(f)) = (line.as_object_mut(), fields) {
        l.extend(f);
    }
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Where apply's progress goes: the lines of the log (text or JSON), and on a live terminal
/// the status area beneath them, which the log scrolls above. Shared by the apply's tasks.
#[derive(Clone)]
pub struct ProgressOut {
    json: bool,
    style: inferform_render::Style,
    area: Option<ProgressBar>,
}

impl ProgressOut {
    /// Whether a status area is drawn (and "Still ..." lines are left to it).
    pub fn live(&self) -> bool {
        self.area.is_some()
    }

    pub fn json(&self) -> bool {
        self.json
    }

    pub fn style(&self) -> inferform_render::Style {
        self.style
    }

    /// One line of the log, above the status area when there is one.
    pub fn line(&self, text: &str) {
        if self.json {
            return;
        }
        match &self.area {
            Some(area) => area.println(text),
            None => {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{text}");
                let _ = stdout.flush();
            }
        }
    }

    /// One JSON line (in JSON mode only).
    pub fn emit(&self, level: &str, message: &str, kind: &str, fields: serde_json::Value) {
        if self.json {
            emit_json_line(level, message, kind, fields);
        }
    }

    /// A message on stderr, with the status area out of the way while it is written.
    pub fn error_line(&self, text: &str) {
        let write = || {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "{text}");
        };
        match &self.area {
            Some(area) => area.suspend(write),
            None => write(),
        }
    }

    /// Redraws the status area (nothing without one).
    pub fn area(&self, text: String) {
        if let Some(area) = &self.area {
            area.set_message(text);
        }
    }

    /// Removes the status area, leaving the log as it was printed.
    pub fn close(&self) {
        if let Some(area) = &self.area {
            area.finish_and_clear();
        }
    }

    /// The terminal's width in columns, for the status area's lines.
    pub fn width(&self) -> usize {
        console::Term::stdout().size().1 as usize
    }
}
