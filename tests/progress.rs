//! What apply prints while it runs. On a real terminal (tmux), a status area beneath the log
//! shows the counts, each change in flight with its cloud status and elapsed time, and the
//! slowest; off a terminal, with `NO_COLOR`, `TERM=dumb` or `--json`, the output is the line
//! log and nothing else, byte for byte (coloured on a dumb terminal as it always was, since
//! only `NO_COLOR` turns colours off). "Still creating..." comes only after a real interval.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Work, BIN};

/// The quickstart's Fabric stack made strictly sequential (the model waits for the endpoint),
/// so that the log's order is always the same.
fn sequential_stack() -> Work {
    let main = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart/main.hcl"),
    )
    .expect("quickstart main.hcl");
    let main = main.replace("provider \"alaya\" {}", "").replace(
        "resource \"fabric_model\" \"llama\" {\n",
        "resource \"fabric_model\" \"llama\" {\n  depends_on = [fabric_endpoint.chat]\n",
    );
    let work = Work::new(&[("main.hcl", &main)]);
    // The endpoint takes 12.5 s: one "Still creating" line, at 10 s; everything else is quick.
    work.cloud_config(r#"{"timings": {"all_ms": 300, "endpoint_create_ms": 12500}}"#);
    work
}

/// The log with what changes from run to run replaced: ids and durations of changes done.
fn normalised(log: &str) -> String {
    let ids = regex::Regex::new(r"\[id=[^\]]*\]").expect("regex");
    let took = regex::Regex::new(r"complete after [0-9ms]+").expect("regex");
    let log = ids.replace_all(log, "[id=ID]");
    took.replace_all(&log, "complete after Ns").into_owned()
}

fn assert_is_the_line_log(log: &str, how: &str) {
    assert!(!log.contains('\x1b'), "{how}: no escape sequence: {log:?}");
    assert!(!log.contains('\r'), "{how}: no carriage return: {log:?}");
    insta::assert_snapshot!("line_log", normalised(log), how);
}

#[test]
fn off_a_terminal_the_output_is_the_line_log_byte_for_byte() {
    let work = sequential_stack();
    let out = work
        .command(&["apply", "--local-cloud", "--auto-approve"])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .output()
        .expect("run inferform");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let log = String::from_utf8(out.stdout).expect("utf-8");
    assert_is_the_line_log(&log, "stdout is a pipe");
}

/// A private tmux server, killed when dropped.
struct Tmux {
    dir: tempfile::TempDir,
}

impl Tmux {
    /// `None` (with a notice) where tmux is not installed, except under `CI=true`.
    fn start() -> Option<Tmux> {
        let found = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "tmux is required under CI=true"
            );
            eprintln!("skipped: tmux is not installed, so there is no terminal to test on");
            return None;
        }
        Some(Tmux {
            dir: tempfile::tempdir().expect("temp dir"),
        })
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("socket")
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(self.socket())
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// Runs inferform with `args` in `work` on a 120×40 terminal, its environment exactly
    /// `env`, every byte it writes to the terminal copied to a file; returns that file and
    /// the file that appears, holding the exit code, when it ends.
    fn run(&self, work: &Work, args: &[&str], env: &[(&str, &str)]) -> (PathBuf, PathBuf) {
        let raw = self.dir.path().join("raw");
        let done = self.dir.path().join("done");
        let go = self.dir.path().join("go");
        let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let mut cmd = vec!["env".to_string(), "-i".to_string()];
        cmd.push(quote(&format!(
            "INFERFORM_LOCAL_CLOUD_CONFIG={}",
            work.path().join("local-cloud.json").display()
        )));
        for (k, v) in env {
            cmd.push(quote(&format!("{k}={v}")));
        }
        cmd.push(quote(BIN));
        cmd.push("-C".into());
        cmd.push(quote(&work.path().display().to_string()));
        cmd.extend(args.iter().map(|a| quote(a)));
        let script = format!(
            "while [ ! -e {go} ]; do sleep 0.05; done\n{}\necho $? > {done}.tmp && mv {done}.tmp {done}\nsleep 60\n",
            cmd.join(" "),
            go = quote(&go.display().to_string()),
            done = quote(&done.display().to_string()),
        );
        let script_path = self.dir.path().join("run.sh");
        std::fs::write(&script_path, script).expect("write script");
        let started = self.tmux(&[
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            &format!("sh {}", quote(&script_path.display().to_string())),
        ]);
        assert!(started.status.success(), "tmux new-session: {started:?}");
        let piped = self.tmux(&[
            "pipe-pane",
            "-o",
            &format!("cat >> {}", quote(&raw.display().to_string())),
        ]);
        assert!(piped.status.success(), "tmux pipe-pane: {piped:?}");
        std::fs::write(&go, "").expect("go");
        (raw, done)
    }

    /// What the terminal shows now.
    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p"]).stdout).to_string()
    }

    /// Waits for the run to end and returns its exit code and every byte it wrote, with the
    /// terminal's `\r\n` read back as `\n`.
    fn finished(&self, raw: &Path, done: &Path) -> (String, String) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !done.exists() {
            assert!(
                Instant::now() < deadline,
                "the run did not end: {}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // Let `cat` copy the last bytes.
        std::thread::sleep(Duration::from_millis(500));
        let code = std::fs::read_to_string(done).expect("exit code");
        let bytes = std::fs::read(raw).expect("terminal bytes");
        let text = String::from_utf8(bytes)
            .expect("utf-8")
            .replace("\r\n", "\n");
        (code.trim().to_string(), text)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

#[test]
fn on_a_terminal_with_no_color_the_output_is_the_line_log_byte_for_byte() {
    let Some(tmux) = Tmux::start() else { return };
    let work = sequential_stack();
    let (raw, done) = tmux.run(
        &work,
        &["apply", "--local-cloud", "--auto-approve"],
        &[("TERM", "xterm-256color"), ("NO_COLOR", "1")],
    );
    let (code, log) = tmux.finished(&raw, &done);
    assert_eq!(code, "0", "{log}");
    assert_is_the_line_log(&log, "a terminal with NO_COLOR");
}

#[test]
fn on_a_dumb_terminal_the_output_is_the_line_log_byte_for_byte() {
    let Some(tmux) = Tmux::start() else { return };
    let work = sequential_stack();
    let (raw, done) = tmux.run(
        &work,
        &["apply", "--local-cloud", "--auto-approve"],
        &[("TERM", "dumb")],
    );
    let (code, log) = tmux.finished(&raw, &done);
    assert_eq!(code, "0", "{log}");
    // Colours are as they always were on a terminal; nothing else is: no cursor movement.
    assert!(!log.contains('\r'), "no carriage return: {log:?}");
    let sgr = regex::Regex::new(r"\x1b\[[0-9;]*m").expect("regex");
    assert!(
        !sgr.replace_all(&log, "").contains('\x1b'),
        "no escape sequence but colours: {log:?}"
    );
    insta::assert_snapshot!("line_log_coloured", normalised(&log), "TERM=dumb");
}

#[test]
fn on_a_terminal_json_stays_json_lines() {
    let Some(tmux) = Tmux::start() else { return };
    let work = sequential_stack();
    let (raw, done) = tmux.run(
        &work,
        &["apply", "--local-cloud", "--auto-approve", "--json"],
        &[("TERM", "xterm-256color")],
    );
    let (code, log) = tmux.finished(&raw, &done);
    assert_eq!(code, "0", "{log}");
    assert!(!log.contains('\x1b'), "no escape sequence: {log:?}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let progress: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["type"] == "apply_progress")
        .collect();
    assert_eq!(progress.len(), 1, "one progress line, at 10 s: {log}");
    assert_eq!(
        progress[0]["hook"]["resource"]["addr"],
        "fabric_endpoint.chat"
    );
    assert_eq!(progress[0]["hook"]["elapsed_seconds"], 10);
    assert_eq!(progress[0]["hook"]["status"], "CREATING");
}

#[test]
fn on_a_terminal_a_status_area_follows_the_changes_in_flight() {
    let Some(tmux) = Tmux::start() else { return };
    let work = Work::quickstart();
    work.cloud_config(r#"{"timings": {"all_ms": 300, "endpoint_create_ms": 8000}}"#);
    let (raw, done) = tmux.run(
        &work,
        &["apply", "--local-cloud", "--auto-approve"],
        &[("TERM", "xterm-256color")],
    );
    // While the endpoint is being created, the area shows it with its cloud status and time.
    let deadline = Instant::now() + Duration::from_secs(60);
    let area = loop {
        let screen = tmux.screen();
        let elapsed_shown = screen.lines().any(|l| {
            l.trim_start().starts_with("fabric_endpoint.chat")
                && l.contains("Creating")
                && l.contains("CREATING")
                && l.trim_end().ends_with('s')
                && !l.trim_end().ends_with(" 0s")
        });
        if elapsed_shown && screen.contains("in flight") {
            break screen;
        }
        assert!(Instant::now() < deadline, "no status area: {screen}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let counts = area
        .lines()
        .find(|l| l.contains(" in flight · "))
        .unwrap_or_else(|| panic!("{area}"));
    assert!(
        counts.contains("1 in flight · ") && counts.contains("waiting on dependencies · 0 failed"),
        "only the endpoint is in flight: {area}"
    );
    assert!(
        counts.starts_with("3 done") || counts.starts_with("2 done"),
        "the workspace and model are done, the Alaya deployment perhaps: {area}"
    );
    assert!(
        area.contains("Slowest: fabric_endpoint.chat ("),
        "the endpoint is the slowest: {area}"
    );
    // Finished lines scroll above the area as they do in the log.
    let log_line = area
        .lines()
        .position(|l| l.starts_with("fabric_workspace.main: Creation complete after"))
        .unwrap_or_else(|| panic!("{area}"));
    let area_line = area
        .lines()
        .position(|l| l.contains(" in flight · "))
        .unwrap_or(0);
    assert!(log_line < area_line, "{area}");
    assert!(
        !area.contains("Still creating"),
        "the area replaces them: {area}"
    );

    let (code, log) = tmux.finished(&raw, &done);
    assert_eq!(code, "0", "{log}");
    let screen = tmux.screen();
    assert!(
        screen.contains("Apply complete! Resources: 5 added"),
        "{screen}"
    );
    assert!(
        !screen.contains("in flight"),
        "the area is gone at the end: {screen}"
    );
    assert!(
        screen.contains("fabric_service_instance.chat: Creation complete after"),
        "{screen}"
    );
}

#[test]
fn on_a_terminal_refresh_shows_the_reads_in_flight() {
    let Some(tmux) = Tmux::start() else { return };
    let work = Work::quickstart();
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    // Every answer now takes 3 s: the five reads are in flight together for a while.
    work.cloud_config(r#"{"timings": {"all_ms": 300}, "faults": {"latency_ms": 3000}}"#);
    let (raw, done) = tmux.run(
        &work,
        &["refresh", "--local-cloud"],
        &[("TERM", "xterm-256color")],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let area = loop {
        let screen = tmux.screen();
        if screen.contains("0 done · 5 in flight") {
            break screen;
        }
        assert!(Instant::now() < deadline, "no status area: {screen}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        area.lines()
            .any(|l| l.trim_start().starts_with("fabric_endpoint.chat") && l.contains("Reading")),
        "{area}"
    );
    // The log of a refresh is written before the reads, and stays above the area.
    let log_line = area
        .lines()
        .position(|l| l.starts_with("fabric_endpoint.chat: Refreshing state..."))
        .unwrap_or_else(|| panic!("{area}"));
    let area_line = area
        .lines()
        .position(|l| l.contains(" in flight · "))
        .unwrap_or(0);
    assert!(log_line < area_line, "{area}");

    let (code, log) = tmux.finished(&raw, &done);
    assert_eq!(code, "0", "{log}");
    let screen = tmux.screen();
    assert!(
        !screen.contains("in flight"),
        "the area is gone at the end: {screen}"
    );
    assert!(screen.contains("Apply complete!"), "{screen}");
}
