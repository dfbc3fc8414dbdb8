//! Shell completions and the man page, through the real binary: the bash script completes a
//! resource address from state as bash itself runs it, and every script and page is what its
//! shell or `man` expects.

mod support;

use std::path::Path;
use std::process::Command;

use support::{Work, BIN};

const CONFIG: &str = r#"
resource "inferform_data" "alpha" {
  input = "a"
}

resource "inferform_data" "beta" {
  count = 2
  input = count.index
}
"#;

/// A working directory whose state tracks `inferform_data.alpha` and `inferform_data.beta[0..1]`.
fn applied() -> Work {
    let work = Work::new(&[("main.hcl", CONFIG)]);
    let out = work.run(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out:?}");
    work
}

/// Runs bash's completion function on `line` (the words typed so far, the last one being
/// completed) in `dir`, the way bash does on TAB, and returns the candidates, one a line.
fn bash_complete(dir: &Path, script: &Path, words: &[&str]) -> String {
    let bin_dir = Path::new(BIN).parent().expect("binary's folder");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let array = words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let program = format!(
        "source '{}'\nCOMP_WORDS=({array})\nCOMP_CWORD={}\nCOMP_LINE=\"${{COMP_WORDS[*]}}\"\nCOMP_POINT=${{#COMP_LINE}}\n_inferform_addresses inferform \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        words.len() - 1,
    );
    let out = Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(program)
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("INFERFORM_WORKSPACE")
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn bash_script(work: &Work) -> std::path::PathBuf {
    let out = work.run(&["completion", "bash"]);
    assert_eq!(out.code, 0, "{out:?}");
    let path = work.path().join("inferform.bash");
    std::fs::write(&path, &out.stdout).expect("write the script");
    path
}

#[test]
fn bash_completes_addresses_from_state() {
    let work = applied();
    let script = bash_script(&work);
    let all = "inferform_data.alpha\ninferform_data.beta[0]\ninferform_data.beta[1]\n";
    // `state show`, `state rm` (each of its arguments), `import`, `--target` and `--replace`.
    assert_eq!(
        bash_complete(work.path(), &script, &["inferform", "state", "show", ""]),
        all
    );
    assert_eq!(
        bash_complete(
            work.path(),
            &script,
            &[
                "inferform",
                "state",
                "rm",
                "inferform_data.alpha",
                "inferform_data.b"
            ]
        ),
        "inferform_data.beta[0]\ninferform_data.beta[1]\n"
    );
    assert_eq!(
        bash_complete(
            work.path(),
            &script,
            &["inferform", "import", "inferform_data.a"]
        ),
        "inferform_data.alpha\n"
    );
    assert_eq!(
        bash_complete(
            work.path(),
            &script,
            &["inferform", "plan", "--var", "x=1", "--target", ""]
        ),
        all
    );
    assert_eq!(
        bash_complete(
            work.path(),
            &script,
            &["inferform", "apply", "--replace", "inferform_data.beta"]
        ),
        "inferform_data.beta[0]\ninferform_data.beta[1]\n"
    );
    // -C names the directory whose state is read, as it does for the command itself.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let dir = work.path().display().to_string();
    assert_eq!(
        bash_complete(
            elsewhere.path(),
            &script,
            &[
                "inferform",
                "-C",
                &dir,
                "state",
                "show",
                "inferform_data.al"
            ]
        ),
        "inferform_data.alpha\n"
    );
    // Elsewhere, clap_complete's own completion answers: subcommands, not addresses.
    let subcommands = bash_complete(work.path(), &script, &["inferform", "state", "s"]);
    assert!(subcommands.contains("show"), "{subcommands}");
    assert!(!subcommands.contains("inferform_data"), "{subcommands}");
}

#[test]
fn addresses_are_read_without_the_lock_and_nothing_is_printed_on_errors() {
    let work = applied();
    let out = work.run(&["__complete-addresses"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "inferform_data.alpha\ninferform_data.beta[0]\ninferform_data.beta[1]\n"
    );
    // No state at all, or a workspace that does not exist: nothing, and success.
    let empty = Work::new(&[("main.hcl", CONFIG)]);
    let out = empty.run(&["__complete-addresses"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    let out = work
        .command(&["__complete-addresses"])
        .env("INFERFORM_WORKSPACE", "no such/workspace")
        .output()
        .expect("run");
    assert_eq!(
        (
            out.status.code(),
            out.stdout.is_empty(),
            out.stderr.is_empty()
        ),
        (Some(0), true, true)
    );
    // A configuration naming a backend nobody initialized is an error for every other command;
    // here it is silence.
    let pg = Work::new(&[(
        "main.hcl",
        "inferform {\n  backend \"pg\" {}\n}\nresource \"inferform_data\" \"a\" {}\n",
    )]);
    let out = pg.run(&["__complete-addresses"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    // It is hidden from help.
    let help = work.run(&["--help"]);
    assert!(!help.stdout.contains("__complete"), "{}", help.stdout);
}

#[test]
fn every_shell_gets_a_script_that_completes_addresses() {
    let work = Work::new(&[]);
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = work.run(&["completion", shell]);
        assert_eq!(out.code, 0, "{shell}: {out:?}");
        assert!(
            out.stdout.contains("__complete-addresses"),
            "{shell} script never asks for addresses"
        );
        assert!(out.stdout.contains("validate"), "{shell}: no subcommands");
    }
    // PowerShell (not run here): clap_complete's completer is wrapped, and only the wrapper
    // is registered.
    let ps = work.run(&["completion", "powershell"]).stdout;
    assert_eq!(ps.matches("Register-ArgumentCompleter").count(), 1, "{ps}");
    assert_eq!(ps.matches("$global:__inferformClap = {").count(), 1, "{ps}");
    let zsh = work.run(&["completion", "zsh"]).stdout;
    assert!(zsh.starts_with("#compdef inferform\n"), "{zsh}");
    assert!(!zsh.contains(":ADDR:_default"), "an ADDR left to _default");
    // bash itself accepts the script.
    let script = bash_script(&work);
    let status = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .expect("bash -n");
    assert!(status.success());
    let out = work.run(&["completion", "tcsh"]);
    assert_eq!(out.code, 2, "{out:?}");
}

/// Whether `shell` can be started here; a notice when not.
fn have(shell: &str) -> bool {
    let ok = Command::new(shell)
        .arg("-c")
        .arg("exit 0")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("notice: {shell} is not installed; its script was not run");
    }
    ok
}

#[test]
fn zsh_and_fish_accept_their_scripts_and_fish_completes_addresses() {
    let work = applied();
    let bin_dir = Path::new(BIN).parent().expect("binary's folder");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    if have("zsh") {
        let script = work.path().join("_inferform");
        std::fs::write(&script, work.run(&["completion", "zsh"]).stdout).expect("write");
        let out = Command::new("zsh")
            .arg("-n")
            .arg(&script)
            .output()
            .expect("zsh");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if have("fish") {
        let script = work.path().join("inferform.fish");
        std::fs::write(&script, work.run(&["completion", "fish"]).stdout).expect("write");
        let complete = |line: &str| {
            let out = Command::new("fish")
                .arg("--no-config")
                .arg("-c")
                .arg(format!("source {}; complete -C '{line}'", script.display()))
                .current_dir(work.path())
                .env("PATH", &path)
                .output()
                .expect("fish");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let show = complete("inferform state show ");
        assert!(show.contains("inferform_data.alpha"), "{show}");
        assert!(show.contains("inferform_data.beta[1]"), "{show}");
        let target = complete("inferform plan --target ");
        assert!(target.contains("inferform_data.beta[0]"), "{target}");
    }
}

#[test]
fn the_man_page_documents_every_command() {
    let work = Work::new(&[]);
    let out = work.run(&["man"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(".TH inferform 1"), "{}", out.stdout);
    for command in ["plan", "apply", "state", "completion", "man"] {
        assert!(
            out.stdout.contains(&format!("inferform\\-{command}(1)")),
            "no {command} in the page"
        );
    }
    assert!(!out.stdout.contains("__complete"), "a hidden command shown");
    let page = work.run(&["man", "state", "show"]);
    assert_eq!(page.code, 0, "{page:?}");
    assert!(
        page.stdout.contains(".TH inferform-state-show 1"),
        "{}",
        page.stdout
    );
    assert!(page.stdout.contains("\\-\\-serial"), "{}", page.stdout);
    let plan = work.run(&["man", "plan"]).stdout;
    assert!(plan.contains("\\-\\-target"), "{plan}");
    let bad = work.run(&["man", "nope"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stderr.contains("inferform::man::unknown_command"),
        "{bad:?}"
    );
    // Where groff is installed, the page formats without a warning.
    if Command::new("groff").arg("--version").output().is_ok() {
        let path = work.path().join("inferform.1");
        std::fs::write(&path, &out.stdout).expect("write the page");
        let formatted = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&path)
            .output()
            .expect("groff");
        assert!(
            formatted.stderr.is_empty(),
            "groff: {}",
            String::from_utf8_lossy(&formatted.stderr)
        );
    }
}
