//! `inferform completion SHELL`, `inferform man`, and the hidden `__complete-addresses` that the
//! completion scripts call.
//!
//! The scripts are clap_complete's, generated from the same clap definition as the parser, so
//! a new flag is completed without anyone remembering to. clap_complete cannot know that an
//! `ADDR` is a resource address in state, so each script gets a few lines of its shell that
//! complete every argument named `ADDR` (`--target`, `--replace`, `state show|rm|mv`, `import`,
//! `invoke`) from `inferform __complete-addresses`, run in the directory `-C` names.

use std::path::Path;

use clap::CommandFactory;

use crate::ui::Ui;
use crate::Cli;

/// The shells a script can be written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

/// The name the scripts complete, and call for addresses.
const BIN: &str = "inferform";

pub fn run(shell: Shell, ui: &Ui) -> u8 {
    ui.out(&script(shell));
    0
}

/// The whole completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut cmd = Cli::command();
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut buf = Vec::new();
    clap_complete::generate(generator, &mut cmd, BIN, &mut buf);
    let generated = String::from_utf8_lossy(&buf).into_owned();
    match shell {
        Shell::Bash => format!("{generated}\n{}", bash_addresses(&cmd)),
        Shell::Zsh => zsh(&generated),
        Shell::Fish => format!("{generated}\n{}", fish_addresses(&cmd)),
        Shell::Powershell => powershell(&generated),
    }
}

/// Every long and short option, anywhere in the command tree, that takes a value: a word after
/// one of these is that option's value, not a subcommand or a positional argument.
fn options_with_values(cmd: &clap::Command) -> Vec<String> {
    let mut out = Vec::new();
    let mut walk = vec![cmd.clone()];
    while let Some(c) = walk.pop() {
        for arg in c.get_arguments() {
            if arg.is_positional() || !arg.get_action().takes_values() {
                continue;
            }
            // `--refresh`/`--lock` take a value only as `--refresh=false`.
            if arg.get_num_args().is_some_and(|n| n.min_values() == 0) {
                continue;
            }
            if let Some(long) = arg.get_long() {
                out.push(format!("--{long}"));
            }
            if let Some(short) = arg.get_short() {
                out.push(format!("-{short}"));
            }
        }
        walk.extend(c.get_subcommands().cloned());
    }
    out.sort();
    out.dedup();
    out
}

/// The long options whose value is a resource address.
fn address_options(cmd: &clap::Command) -> Vec<String> {
    let mut out = Vec::new();
    let mut walk = vec![cmd.clone()];
    while let Some(c) = walk.pop() {
        for arg in c.get_arguments() {
            let is_addr = arg
                .get_value_names()
                .is_some_and(|names| names.iter().any(|n| n.as_str() == "ADDR"));
            if !arg.is_positional() && is_addr {
                if let Some(long) = arg.get_long() {
                    out.push(format!("--{long}"));
                }
            }
        }
        walk.extend(c.get_subcommands().cloned());
    }
    out.sort();
    out.dedup();
    out
}

/// The subcommand paths (`state show`, `import`) whose positional arguments are addresses.
fn address_positionals(cmd: &clap::Command) -> Vec<String> {
    fn walk(c: &clap::Command, path: &str, out: &mut Vec<String>) {
        let is_addr = c.get_positionals().any(|arg| {
            arg.get_value_names()
                .is_some_and(|names| names.iter().any(|n| n.as_str() == "ADDR"))
        });
        if is_addr && !path.is_empty() {
            out.push(path.to_string());
        }
        for sub in c.get_subcommands() {
            let p = if path.is_empty() {
                sub.get_name().to_string()
            } else {
                format!("{path} {}", sub.get_name())
            };
            walk(sub, &p, out);
        }
    }
    let mut out = Vec::new();
    walk(cmd, "", &mut out);
    out.sort();
    out
}

/// Bash: a function that completes addresses where one is wanted and hands every other case
/// to clap_complete's `_inferform`, registered in its place.
fn bash_addresses(cmd: &clap::Command) -> String {
    let valued = options_with_values(cmd).join("|");
    let addr_opts = address_options(cmd).join("|");
    let paths = address_positionals(cmd)
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join("|");
    format!(
        r#"# Resource addresses from state, for every argument named ADDR.
_inferform_addresses() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local want="" dir="." i w words=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${{COMP_WORDS[i]}}"
        case "$w" in
            -C|--chdir) dir="${{COMP_WORDS[i+1]}}"; ((i++)) ;;
            --chdir=*) dir="${{w#--chdir=}}" ;;
            {valued}) ((i++)) ;;
            -*) ;;
            *) words+=("$w") ;;
        esac
    done
    case "$prev" in
        {addr_opts}) want=1 ;;
    esac
    if [[ -z "$want" && "$cur" != -* ]]; then
        case "${{words[*]}}" in
            {paths}) want=1 ;;
            "state rm "*) want=1 ;;
        esac
    fi
    if [[ -n "$want" ]]; then
        local addr
        COMPREPLY=()
        while IFS= read -r addr; do
            [[ "$addr" == "$cur"* ]] && COMPREPLY+=("$addr")
        done < <("${{COMP_WORDS[0]}}" -C "$dir" __complete-addresses 2>/dev/null)
        return 0
    fi
    _{BIN} "$@"
}}
if [[ "${{BASH_VERSINFO[0]}}" -eq 4 && "${{BASH_VERSINFO[1]}}" -ge 4 || "${{BASH_VERSINFO[0]}}" -gt 4 ]]; then
    complete -F _inferform_addresses -o nosort -o bashdefault -o default {BIN}
else
    complete -F _inferform_addresses -o bashdefault -o default {BIN}
fi
"#
    )
}

/// Zsh: clap_complete leaves an `ADDR` value to `_default`; point it at a function that offers
/// the addresses in state instead.
fn zsh(generated: &str) -> String {
    let helper = r#"
# Resource addresses from state, for every argument named ADDR.
(( $+functions[_inferform_addresses] )) ||
_inferform_addresses() {
    local dir=. i
    for (( i = 1; i < CURRENT; i++ )); do
        case "${words[i]}" in
            -C|--chdir) dir="${words[i+1]}" ;;
            --chdir=*) dir="${words[i]#--chdir=}" ;;
        esac
    done
    local -a addrs
    addrs=("${(@f)$(inferform -C "$dir" __complete-addresses 2>/dev/null)}")
    addrs=(${addrs:#})
    compadd -Q -a addrs
}
"#;
    let mut out = String::new();
    for line in generated.lines() {
        if line.contains(":ADDR:_default") {
            out.push_str(&line.replace(":ADDR:_default", ":ADDR:_inferform_addresses"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    // The helper must exist before compdef runs the completion function, so it goes first.
    match out.find('\n') {
        Some(first) => format!("{}{helper}{}", &out[..=first], &out[first + 1..]),
        None => format!("{helper}{out}"),
    }
}

/// Fish: extra `complete` lines beside clap_complete's; fish offers the union.
fn fish_addresses(cmd: &clap::Command) -> String {
    // Single quotes: fish expands variables inside double quotes when the line is read.
    let addrs = format!("'({BIN} -C (__fish_inferform_dir) __complete-addresses 2>/dev/null)'");
    let mut out = String::from(
        "# Resource addresses from state, for every argument named ADDR.\n\
         function __fish_inferform_dir\n    \
         set -l words (commandline -opc)\n    \
         set -l i (contains -i -- -C $words; or contains -i -- --chdir $words)\n    \
         and echo $words[(math $i + 1)]\n    \
         or echo .\n\
         end\n",
    );
    for opt in address_options(cmd) {
        out.push_str(&format!(
            "complete -c {BIN} -l {} -x -a {addrs}\n",
            opt.trim_start_matches("--")
        ));
    }
    for path in address_positionals(cmd) {
        let parts: Vec<&str> = path.split(' ').collect();
        let condition = parts
            .iter()
            .map(|p| format!("__fish_seen_subcommand_from {p}"))
            .collect::<Vec<_>>()
            .join("; and ");
        out.push_str(&format!(
            "complete -c {BIN} -n '{condition}' -f -a {addrs}\n"
        ));
    }
    out
}

/// PowerShell: clap_complete's completer answers options and subcommands; wrap it so that
/// after an address option, or in a command whose argument is an address, the addresses in
/// state are offered. Its script block is kept in a global variable (the completer runs
/// long after the profile that sourced the script) and one completer is registered.
fn powershell(generated: &str) -> String {
    let cmd = Cli::command();
    let opts = address_options(&cmd)
        .iter()
        .map(|o| format!("'{o}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let paths = address_positionals(&cmd)
        .iter()
        .map(|p| format!("'{}'", p.replace(' ', ";")))
        .collect::<Vec<_>>()
        .join(", ");
    let generated = generated.replace(
        "Register-ArgumentCompleter -Native -CommandName 'inferform' -ScriptBlock {",
        "$global:__inferformClap = {",
    );
    format!(
        r#"{generated}
# Resource addresses from state, for every argument named ADDR.
Register-ArgumentCompleter -Native -CommandName 'inferform' -ScriptBlock {{
    param($wordToComplete, $commandAst, $cursorPosition)
    $elements = @($commandAst.CommandElements | ForEach-Object {{ $_.ToString() }})
    $dir = '.'
    $words = @()
    $previous = ''
    for ($i = 1; $i -lt $elements.Count; $i++) {{
        $w = $elements[$i]
        if ($w -eq $wordToComplete -and $i -eq $elements.Count - 1) {{ break }}
        if ($w -eq '-C' -or $w -eq '--chdir') {{ $dir = $elements[$i + 1] }}
        elseif (-not $w.StartsWith('-')) {{ $words += $w }}
        $previous = $w
    }}
    $addressOptions = @({opts})
    $addressCommands = @({paths})
    if (($addressOptions -contains $previous) -or ($addressCommands -contains ($words -join ';'))) {{
        & inferform -C $dir __complete-addresses 2>$null |
            Where-Object {{ $_ -like "$wordToComplete*" }} |
            ForEach-Object {{ [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_) }}
        return
    }}
    & $global:__inferformClap $wordToComplete $commandAst $cursorPosition
}}
"#
    )
}

/// `inferform man [COMMAND...]`: the manual page of inferform, or of one of its commands.
pub fn man(path: &[String], ui: &Ui) -> u8 {
    match man_page(path) {
        Some(page) => {
            ui.out(&page);
            0
        }
        None => {
            ui.diagnostics([&inferform_types::Diagnostic::error(
                "inferform::man::unknown_command",
                format!("inferform has no command `{}`", path.join(" ")),
            )
            .with_help("`inferform man` lists the commands in its COMMANDS section")]);
            1
        }
    }
}

/// The roff page of `inferform` (no `path`) or of the command `path` names (`["state",
/// "show"]`), named as git names its pages: `inferform-state-show(1)`, which is what the
/// SUBCOMMANDS section of the parent's page refers to. `None` for a command that does not exist.
pub fn man_page(path: &[String]) -> Option<String> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut name = BIN.to_string();
    for word in path {
        let sub = cmd
            .get_subcommands()
            .find(|c| c.get_name() == word && !c.is_hide_set())?
            .clone();
        name = format!("{name}-{}", sub.get_name());
        cmd = sub;
    }
    let cmd = cmd.name(name.clone()).bin_name(name.replace('-', " "));
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = clap_mangen::Man::new(cmd)
        .source(format!("inferform {}", env!("CARGO_PKG_VERSION")))
        .render(&mut buf);
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// The hidden `__complete-addresses`: every instance address in the selected workspace's
/// state, read without the lock (a completion must never wait for, or block, a running apply).
/// Any error prints nothing: a completion script has nowhere to show it.
pub fn addresses(dir: &Path, ui: &Ui) -> u8 {
    let read = || -> Option<inferform_state::State> {
        let backend = crate::backend::for_dir(dir).ok()?;
        let workspace = crate::backend::current_workspace(dir).ok()?;
        backend.read(&workspace).ok().flatten()
    };
    if let Some(state) = read() {
        let mut out = String::new();
        for addr in state.resources.keys() {
            out.push_str(addr);
            out.push('\n');
        }
        ui.out(&out);
    }
    0
}
