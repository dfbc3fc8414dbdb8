//! What apply, destroy and refresh show while they run: the lines of the log (`Creating...`,
//! `Still creating... [10s elapsed]`, `Creation complete after 3s`) and, on a terminal, the
//! status area drawn beneath them: how many changes are done, in flight, waiting on
//! dependencies and failed, each change in flight with its cloud status and elapsed time, and
//! the slowest changes so far.

use std::time::Duration;

use inferform_engine::Action;

use crate::Style;

/// How often a change still in flight is reported in the line log, as Terraform does.
pub const STILL_INTERVAL: Duration = Duration::from_secs(10);

/// The most changes in flight the status area lists one per line; the rest are counted.
pub const MAX_IN_FLIGHT_LINES: usize = 8;

/// How many of the slowest changes the status area names.
pub const SLOWEST: usize = 3;

/// A duration as the log writes it: `42s`, `2m5s`.
pub fn elapsed(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

/// `fabric_endpoint.chat: Creating...`
pub fn started_line(addr: &str, action: Action, style: Style) -> String {
    format!("{}: {}...", style.bold(addr), action.progressive())
}

/// `fabric_endpoint.chat: Creation complete after 12s [id=...]`
pub fn finished_line(
    addr: &str,
    action: Action,
    id: Option<&str>,
    took: Duration,
    style: Style,
) -> String {
    let id = id.map(|i| format!(" [id={i}]")).unwrap_or_default();
    format!(
        "{}: {} after {}{id}",
        style.bold(addr),
        action.completed(),
        elapsed(took)
    )
}

/// `Still creating...`: what a change still in flight is doing.
pub fn still(action: Action) -> &'static str {
    match action {
        Action::Create => "Still creating...",
        Action::Update => "Still modifying...",
        Action::Replace { .. } => "Still replacing...",
        Action::Delete => "Still destroying...",
        _ => "Still working...",
    }
}

/// `fabric_endpoint.chat: Still creating... [10s elapsed, status CREATING]`
pub fn still_line(
    addr: &str,
    action: Action,
    secs: u64,
    status: Option<&str>,
    style: Style,
) -> String {
    let status = status.map(|s| format!(", status {s}")).unwrap_or_default();
    format!(
        "{}: {} [{secs}s elapsed{status}]",
        style.bold(addr),
        still(action)
    )
}

/// A change in flight, as the status area shows it.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub addr: String,
    pub action: Action,
    /// The cloud's status last seen, if the provider reported one.
    pub status: Option<String>,
    pub elapsed: Duration,
}

/// Where an apply stands at one moment.
#[derive(Clone, Debug, Default)]
pub struct ProgressSnapshot {
    /// Steps finished.
    pub done: usize,
    /// Steps failed.
    pub failed: usize,
    /// Steps not started yet: they wait for the steps they depend on.
    pub waiting: usize,
    /// Steps running, in any order.
    pub in_flight: Vec<InFlight>,
    /// Steps that have finished (or failed) with how long they took, in any order.
    pub finished: Vec<(String, Duration)>,
}

/// The status area: a counts line, the changes in flight (longest running first, at most
/// [`MAX_IN_FLIGHT_LINES`]), and the slowest changes so far. No line is wider than `width`
/// columns, so that the terminal never wraps one and the area redraws in place.
pub fn status_area(s: &ProgressSnapshot, width: usize, style: Style) -> String {
    let mut lines = vec![format!(
        "{} done · {} in flight · {} waiting on dependencies · {} failed",
        s.done,
        s.in_flight.len(),
        s.waiting,
        s.failed
    )];
    let mut flying: Vec<&InFlight> = s.in_flight.iter().collect();
    flying.sort_by(|a, b| b.elapsed.cmp(&a.elapsed).then(a.addr.cmp(&b.addr)));
    let addr_width = flying
        .iter()
        .take(MAX_IN_FLIGHT_LINES)
        .map(|f| f.addr.chars().count())
        .max()
        .unwrap_or(0);
    for f in flying.iter().take(MAX_IN_FLIGHT_LINES) {
        let status = f.status.as_deref().unwrap_or("-");
        lines.push(format!(
            "  {:<addr_width$}  {:<11}  {:<12}  {}",
            f.addr,
            f.action.progressive(),
            status,
            elapsed(f.elapsed)
        ));
    }
    if flying.len() > MAX_IN_FLIGHT_LINES {
        lines.push(format!(
            "  … and {} more in flight",
            flying.len() - MAX_IN_FLIGHT_LINES
        ));
    }
    let mut slow: Vec<(&str, Duration, bool)> = s
        .in_flight
        .iter()
        .map(|f| (f.addr.as_str(), f.elapsed, true))
        .chain(s.finished.iter().map(|(a, d)| (a.as_str(), *d, false)))
        .collect();
    slow.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if !slow.is_empty() {
        let named: Vec<String> = slow
            .iter()
            .take(SLOWEST)
            .map(|(addr, d, running)| {
                let running = if *running { ", running" } else { "" };
                format!("{addr} ({}{running})", elapsed(*d))
            })
            .collect();
        lines.push(format!("Slowest: {}", named.join(", ")));
    }
    let mut out: Vec<String> = lines.iter().map(|l| clip(l, width)).collect();
    out[0] = style.bold(&out[0]);
    out.join("\n")
}

/// `line`, cut to `width` characters with an ellipsis when longer.
fn clip(line: &str, width: usize) -> String {
    let width = width.max(2);
    if line.chars().count() <= width {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flight(addr: &str, action: Action, status: Option<&str>, secs: u64) -> InFlight {
        InFlight {
            addr: addr.into(),
            action,
            status: status.map(str::to_string),
            elapsed: Duration::from_secs(secs),
        }
    }

    #[test]
    fn the_area_counts_lists_what_is_in_flight_and_names_the_slowest() {
        let s = ProgressSnapshot {
            done: 2,
            failed: 1,
            waiting: 3,
            in_flight: vec![
                flight("fabric_model.llama", Action::Create, Some("RUNNING"), 4),
                flight("fabric_endpoint.chat", Action::Create, Some("CREATING"), 75),
                flight("alaya_expert_deployment.vllm", Action::Delete, None, 9),
            ],
            finished: vec![
                ("fabric_workspace.main".into(), Duration::from_secs(1)),
                (
                    "fabric_service_instance.old".into(),
                    Duration::from_secs(30),
                ),
            ],
        };
        insta::assert_snapshot!(status_area(&s, 130, Style { color: false }), @r"
        2 done · 3 in flight · 3 waiting on dependencies · 1 failed
          fabric_endpoint.chat          Creating     CREATING      1m15s
          alaya_expert_deployment.vllm  Destroying   -             9s
          fabric_model.llama            Creating     RUNNING       4s
        Slowest: fabric_endpoint.chat (1m15s, running), fabric_service_instance.old (30s), alaya_expert_deployment.vllm (9s, running)
        ");
    }

    #[test]
    fn no_line_is_wider_than_the_terminal_and_extra_changes_are_counted() {
        let s = ProgressSnapshot {
            waiting: 0,
            in_flight: (0..10)
                .map(|i| {
                    flight(
                        &format!("inferform_data.item[{i}]"),
                        Action::Create,
                        None,
                        i,
                    )
                })
                .collect(),
            ..ProgressSnapshot::default()
        };
        let area = status_area(&s, 40, Style { color: false });
        assert!(area.lines().all(|l| l.chars().count() <= 40), "{area}");
        assert_eq!(
            area.lines().count(),
            1 + MAX_IN_FLIGHT_LINES + 1 + 1,
            "{area}"
        );
        assert!(area.contains("… and 2 more in flight"), "{area}");
        assert!(
            area.contains("inferform_data.item[9]"),
            "longest first: {area}"
        );
        assert!(!area.contains("item[1] "), "{area}");
    }

    #[test]
    fn the_log_lines_read_as_terraform_writes_them() {
        let plain = Style { color: false };
        assert_eq!(
            still_line(
                "fabric_endpoint.chat",
                Action::Create,
                10,
                Some("CREATING"),
                plain
            ),
            "fabric_endpoint.chat: Still creating... [10s elapsed, status CREATING]"
        );
        assert_eq!(
            finished_line(
                "fabric_endpoint.chat",
                Action::Delete,
                None,
                Duration::from_secs(125),
                plain
            ),
            "fabric_endpoint.chat: Destruction complete after 2m5s"
        );
    }
}
