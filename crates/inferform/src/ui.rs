//! The one place that prints: stdout for results, stderr for diagnostics and prompts, colours
//! only on a terminal and never with `NO_COLOR`.

use std::io::{IsTerminal, Write};

use inferform_render::RenderOptions;
use inferform_types::Diagnostic;

pub struct Ui {
    pub color: bool,
}

impl Ui {
    pub fn from_env() -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ui {
            color: !no_color && std::io::stdout().is_terminal(),
        }
    }

    pub fn render(&self) -> RenderOptions {
        RenderOptions { color: self.color }
    }

    /// Prints to stdout as is.
    pub fn out(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    pub fn line(&self, text: &str) {
        self.out(&format!("{text}\n"));
    }

    pub fn error_line(&self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{text}");
    }

    /// Prints diagnostics to stderr; returns true when any was an error.
    pub fn diagnostics<'a>(&self, diags: impl IntoIterator<Item = &'a Diagnostic>) -> bool {
        let mut errors = false;
        let mut stderr = std::io::stderr().lock();
        for d in diags {
            errors |= d.is_error();
            let _ = write!(
                stderr,
                "{}",
                inferform_render::render_diagnostic(d, self.render())
            );
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
