//! Progress while changes are applied or objects read: the log of an apply, and on a terminal
//! the status area beneath it, drawn through [`ProgressOut`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inferform_engine::{Action, ApplyObserver};
use inferform_render::progress::{
    self, finished_line, started_line, status_area, still_line, ProgressSnapshot, SLOWEST,
    STILL_INTERVAL,
};
use inferform_render::Style;
use inferform_types::ResourceInstanceAddr;

use crate::ui::ProgressOut;

/// Follows an apply: prints each change's start and end as Terraform does, "Still ..." for a
/// change in flight every [`STILL_INTERVAL`] of its own (never before), and on a terminal keeps
/// the status area beneath the log up to date. Following a refresh, it keeps only the area:
/// the log of a refresh is written before it starts.
pub struct Progress {
    out: ProgressOut,
    /// Whether changes are logged line by line (an apply) or only drawn in the area.
    log: bool,
    board: Mutex<Board>,
}

/// Where the apply's steps stand.
struct Board {
    /// Steps the apply will run: one per change, two for a destroy-then-create replacement.
    total: usize,
    done: usize,
    failed: usize,
    in_flight: BTreeMap<String, InFlight>,
    /// The slowest finished or failed steps so far, with how long they took (at most
    /// [`SLOWEST`], longest first): all the status area names.
    finished: Vec<(String, Duration)>,
}

impl Board {
    /// Keeps a finished step among the slowest when it is one of them.
    fn keep_if_slow(&mut self, addr: String, took: Duration) {
        self.finished.push((addr, took));
        self.finished.sort_by_key(|f| std::cmp::Reverse(f.1));
        self.finished.truncate(SLOWEST);
    }
}

/// A change in progress: what it does, when it started, the cloud status last seen, and when
/// (counted from its start) it is next reported as still going.
struct InFlight {
    action: Action,
    start: Instant,
    status: Option<String>,
    next_report: Duration,
}

impl Progress {
    /// For an apply of `changes`: one step per change, two for a destroy-then-create
    /// replacement.
    pub fn of_changes(out: ProgressOut, changes: &[(ResourceInstanceAddr, Action)]) -> Progress {
        let total = changes
            .iter()
            .map(|(_, a)| match a {
                Action::NoOp => 0,
                // Both kinds of replacement are two steps: a create, and a destroy (of the
                // old object, or of the deposed one).
                Action::Replace { .. } => 2,
                _ => 1,
            })
            .sum();
        Progress::new(out, total, true)
    }

    /// For the refresh of `objects` objects: the status area only.
    pub fn of_reads(out: ProgressOut, objects: usize) -> Progress {
        Progress::new(out, objects, false)
    }

    fn new(out: ProgressOut, total: usize, log: bool) -> Progress {
        Progress {
            out,
            log,
            board: Mutex::new(Board {
                total,
                done: 0,
                failed: 0,
                in_flight: BTreeMap::new(),
                finished: Vec::new(),
            }),
        }
    }

    /// Redraws (and logs "Still ...") every second until the returned task is aborted.
    pub fn tick_every_second(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_secs(1));
            interval.tick().await;
            loop {
                interval.tick().await;
                self.tick();
            }
        })
    }

    fn board(&self) -> std::sync::MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hook(addr: &ResourceInstanceAddr, action: Action) -> serde_json::Value {
        inferform_render::ui_json::hook_json(addr, action)
    }

    /// Called every second: reports the changes due a "Still ..." line, redraws the area.
    fn tick(&self) {
        let mut board = self.board();
        for (addr, flight) in board.in_flight.iter_mut() {
            let running = flight.start.elapsed();
            if running < flight.next_report {
                continue;
            }
            while flight.next_report <= running {
                flight.next_report += STILL_INTERVAL;
            }
            self.still(addr, flight, running.as_secs());
        }
        self.redraw(&board);
    }

    /// The "Still ..." line of one change (left to the status area on a live terminal).
    fn still(&self, addr: &str, flight: &InFlight, secs: u64) {
        if !self.log {
            return;
        }
        if self.out.json() {
            if let Ok(a) = addr.parse::<ResourceInstanceAddr>() {
                let mut hook = Self::hook(&a, flight.action);
                hook["elapsed_seconds"] = secs.into();
                if let Some(status) = &flight.status {
                    hook["status"] = status.as_str().into();
                }
                let message = still_line(
                    addr,
                    flight.action,
                    secs,
                    flight.status.as_deref(),
                    Style { color: false },
                );
                self.out.emit(
                    "info",
                    &message,
                    "apply_progress",
                    serde_json::json!({"hook": hook}),
                );
            }
        } else if !self.out.live() {
            self.out.line(&still_line(
                addr,
                flight.action,
                secs,
                flight.status.as_deref(),
                self.out.style(),
            ));
        }
    }

    /// `Creation complete after 3s [id=...]`, or its `apply_complete` line; `a` names what
    /// finished (the address, or one of its deposed objects).
    fn log_finished(
        &self,
        a: &str,
        addr: &ResourceInstanceAddr,
        action: Action,
        id: Option<&str>,
        took: Duration,
    ) {
        let mut hook = Self::hook(addr, action);
        hook["elapsed_seconds"] = took.as_secs().into();
        if let Some(id) = id {
            hook["id_key"] = "id".into();
            hook["id_value"] = id.into();
        }
        self.out.emit(
            "info",
            &format!(
                "{a}: {} after {}",
                action.completed(),
                progress::elapsed(took)
            ),
            "apply_complete",
            serde_json::json!({"hook": hook}),
        );
        self.out
            .line(&finished_line(a, action, id, took, self.out.style()));
    }

    fn redraw(&self, board: &Board) {
        if !self.out.live() {
            return;
        }
        let in_flight = board
            .in_flight
            .iter()
            .map(|(addr, f)| progress::InFlight {
                addr: addr.clone(),
                action: f.action,
                status: f.status.clone(),
                elapsed: f.start.elapsed(),
            })
            .collect::<Vec<_>>();
        let snapshot = ProgressSnapshot {
            done: board.done,
            failed: board.failed,
            waiting: board
                .total
                .saturating_sub(board.done + board.failed + in_flight.len()),
            in_flight,
            finished: board.finished.clone(),
        };
        self.out
            .area(status_area(&snapshot, self.out.width(), self.out.style()));
    }
}

/// How progress names a deposed object: `ADDR (deposed object KEY)`, as Terraform does.
fn deposed_label(addr: &ResourceInstanceAddr, key: &str) -> String {
    format!("{addr} (deposed object {key})")
}

impl Progress {
    /// A step on what `a` names (the address, or one of its deposed objects) starts.
    fn start(&self, a: String, addr: &ResourceInstanceAddr, action: Action) {
        let mut board = self.board();
        board.in_flight.insert(
            a.clone(),
            InFlight {
                action,
                start: Instant::now(),
                status: None,
                next_report: STILL_INTERVAL,
            },
        );
        if self.log {
            let style = Style { color: false };
            self.out.emit(
                "info",
                &started_line(&a, action, style),
                "apply_start",
                serde_json::json!({"hook": Self::hook(addr, action)}),
            );
            self.out.line(&started_line(&a, action, self.out.style()));
        }
        self.redraw(&board);
    }

    /// A step on what `a` names finished.
    fn finish(
        &self,
        a: String,
        addr: &ResourceInstanceAddr,
        action: Action,
        id: Option<&str>,
        took: Duration,
    ) {
        let mut board = self.board();
        board.in_flight.remove(&a);
        board.done += 1;
        board.keep_if_slow(a.clone(), took);
        if self.log {
            self.log_finished(&a, addr, action, id, took);
        }
        self.redraw(&board);
    }

    /// A step on what `a` names failed.
    fn fail(&self, a: String) {
        let mut board = self.board();
        if let Some(flight) = board.in_flight.remove(&a) {
            board.keep_if_slow(a, flight.start.elapsed());
        }
        board.failed += 1;
        self.redraw(&board);
    }
}

impl ApplyObserver for Progress {
    fn started(&self, addr: &ResourceInstanceAddr, action: Action) {
        self.start(addr.to_string(), addr, action)
    }

    fn started_deposed(&self, addr: &ResourceInstanceAddr, key: &str, action: Action) {
        self.start(deposed_label(addr, key), addr, action)
    }

    /// A status is only remembered: it is shown with the next "Still ..." line, and at once in
    /// the status area.
    fn status(&self, addr: &ResourceInstanceAddr, status: &str) {
        let mut board = self.board();
        if let Some(flight) = board.in_flight.get_mut(&addr.to_string()) {
            flight.status = Some(status.to_string());
        }
        self.redraw(&board);
    }

    fn finished(
        &self,
        addr: &ResourceInstanceAddr,
        action: Action,
        id: Option<&str>,
        took: Duration,
    ) {
        self.finish(addr.to_string(), addr, action, id, took)
    }

    fn finished_deposed(
        &self,
        addr: &ResourceInstanceAddr,
        key: &str,
        action: Action,
        took: Duration,
    ) {
        self.finish(deposed_label(addr, key), addr, action, None, took)
    }

    fn failed(&self, addr: &ResourceInstanceAddr, _action: Action, _error: &str) {
        self.fail(addr.to_string())
    }

    fn failed_deposed(
        &self,
        addr: &ResourceInstanceAddr,
        key: &str,
        _action: Action,
        _error: &str,
    ) {
        self.fail(deposed_label(addr, key))
    }
}
