//! Waiting for a cloud object to settle, and creating without duplicates.
//!
//! [`wait_for`] polls a read with an interval of a tenth of the time waited (200 ms to 5 s, with
//! a little jitter): early polls are frequent, so a short transition is noticed quickly
//! (a status that changes after 1.5 s is seen within a fifth of a second), and a long one costs few
//! requests. Each status change is reported through [`OpContext::report`].
//!
//! [`create_or_adopt`] runs a create; when it fails ambiguously (a 5xx or no answer on a POST,
//! which is never retried blindly), it looks the object up by name and adopts it if present,
//! and otherwise tries again. A refusal of that second try leaves the outcome unknown, for
//! the first try may have made the object that a lagging list does not show yet.

use std::future::Future;
use std::time::Duration;

pub use crate::deadline::{format_duration, Deadline};
use crate::http::RetryPolicy;
pub use crate::outcome::create_refused;
use crate::outcome::{create_failure, is_ambiguous, CreateFailure};
use crate::{ErrorKind, OpContext, Progress, ProviderError};

/// The poll interval: a tenth of the time waited so far (`ratio`), at least `first` and at
/// most `cap`. The first poll comes soon, and however long a wait lasts, the status change is
/// seen within about 10% of it, so a chain of waits stays close to the sum of the real
/// transitions, while a long wait does not flood the API.
#[derive(Clone, Debug)]
pub struct PollBackoff {
    pub first: Duration,
    pub ratio: f64,
    pub cap: Duration,
    /// Each interval is scaled by a random factor in `1 ± jitter`.
    pub jitter: f64,
    waited: Duration,
}

impl Default for PollBackoff {
    fn default() -> Self {
        PollBackoff {
            first: Duration::from_millis(200),
            ratio: 0.1,
            cap: Duration::from_secs(5),
            jitter: 0.1,
            waited: Duration::ZERO,
        }
    }
}

impl PollBackoff {
    pub fn new(first: Duration, ratio: f64, cap: Duration) -> Self {
        PollBackoff {
            first,
            ratio,
            cap,
            jitter: 0.0,
            waited: Duration::ZERO,
        }
    }

    /// The interval before the next poll, without jitter, and advances.
    pub fn next_base(&mut self) -> Duration {
        let current = self
            .waited
            .mul_f64(self.ratio)
            .max(self.first)
            .min(self.cap);
        self.waited += current;
        current
    }

    /// The interval before the next poll, with jitter, and advances.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next_base();
        if self.jitter <= 0.0 {
            return base;
        }
        let scale = rand::random_range((1.0 - self.jitter)..=(1.0 + self.jitter));
        base.mul_f64(scale)
    }
}

/// What one poll saw.
#[derive(Clone, Debug, PartialEq)]
pub enum Observed<T> {
    /// Still changing; keep polling.
    Pending { status: String },
    /// Reached the wanted state.
    Done { status: Option<String>, value: T },
    /// Reached a failed status.
    Failed {
        status: String,
        code: Option<String>,
        message: Option<String>,
    },
}

/// Polls `poll` until it reports [`Observed::Done`] (its value is returned) or
/// [`Observed::Failed`] (an error of kind [`ErrorKind::Failed`]), or the deadline passes (an
/// error of kind [`ErrorKind::Timeout`]). `what` names the object in messages
/// (`fabric_endpoint "chat" (0b5633ba)`) and `target` the state waited for (`RUNNING`).
pub async fn wait_for<T, F, Fut>(
    ctx: &OpContext,
    deadline: Deadline,
    what: &str,
    target: &str,
    mut poll: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Observed<T>, ProviderError>>,
{
    wait_with(
        ctx,
        deadline,
        what,
        target,
        PollBackoff::default(),
        &mut poll,
    )
    .await
}

/// How many reads in a row may fail transiently (after the HTTP client's own retries)
/// before a wait gives up.
const WAIT_READ_FAILURES: u32 = 3;

/// [`wait_for`] with a chosen poll interval.
pub async fn wait_with<T, F, Fut>(
    ctx: &OpContext,
    deadline: Deadline,
    what: &str,
    target: &str,
    mut backoff: PollBackoff,
    poll: &mut F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Observed<T>, ProviderError>>,
{
    let mut last: Option<String> = None;
    let note = |status: &str, last: &mut Option<String>| {
        if last.as_deref() != Some(status) {
            ctx.report(Progress::Status(status.to_string()));
            *last = Some(status.to_string());
        }
    };
    // Reads that failed in a row, each after the client's own retries: a long wait is not
    // given up for a passing outage (a few 5xx or a dropped connection), only for one that
    // lasts.
    let mut failed_reads = 0u32;
    loop {
        let observed = match poll().await {
            Ok(o) => {
                failed_reads = 0;
                o
            }
            Err(e) if is_ambiguous(&e) && failed_reads < WAIT_READ_FAILURES => {
                failed_reads += 1;
                Observed::Pending {
                    status: last.clone().unwrap_or_default(),
                }
            }
            Err(e) => return Err(e),
        };
        match observed {
            Observed::Done { status, value } => {
                if let Some(status) = status {
                    note(&status, &mut last);
                }
                return Ok(value);
            }
            Observed::Failed {
                status,
                code,
                message,
            } => {
                note(&status, &mut last);
                let mut err = ProviderError::new(
                    ErrorKind::Failed,
                    match message {
                        Some(m) if !m.is_empty() => format!("{what} reached status {status}: {m}"),
                        _ => format!("{what} reached status {status}"),
                    },
                );
                err.code = code.filter(|c| !c.is_empty());
                return Err(err);
            }
            Observed::Pending { status } if status.is_empty() => {}
            Observed::Pending { status } => note(&status, &mut last),
        }
        let delay = backoff.next_delay();
        match deadline.remaining() {
            Some(left) if left.is_zero() => {
                return Err(timeout_error(deadline, what, target, last.as_deref()));
            }
            Some(left) => tokio::time::sleep(delay.min(left)).await,
            None => tokio::time::sleep(delay).await,
        }
    }
}

fn timeout_error(
    deadline: Deadline,
    what: &str,
    target: &str,
    last: Option<&str>,
) -> ProviderError {
    let after = deadline
        .timeout()
        .map(|t| format!(" after {}", format_duration(t)))
        .unwrap_or_default();
    let status = last
        .map(|s| format!(" (last status {s})"))
        .unwrap_or_default();
    ProviderError::new(
        ErrorKind::Timeout,
        format!("timed out{after} waiting for {what} to become {target}{status}"),
    )
}

/// Runs `create`; when it fails ambiguously ([`is_ambiguous`]), waits a backoff, asks `find`
/// whether the object exists after all and returns what `find` found, or tries `create` again
/// (up to `policy.max_retries` times). Other errors return at once.
pub async fn create_or_adopt<T, C, CF, F, FF>(
    policy: &RetryPolicy,
    mut create: C,
    mut find: F,
) -> Result<T, ProviderError>
where
    C: FnMut() -> CF,
    CF: Future<Output = Result<T, ProviderError>>,
    F: FnMut() -> FF,
    FF: Future<Output = Result<Option<T>, ProviderError>>,
{
    let mut retries = 0u32;
    // The first create whose answer was lost: while it stands, nothing that follows says that
    // no object was made.
    let mut lost: Option<ProviderError> = None;
    loop {
        match create().await {
            Ok(value) => return Ok(value),
            Err(error) if create_failure(&error) == CreateFailure::Lost => {
                lost.get_or_insert_with(|| error.clone());
                tokio::time::sleep(policy.backoff(retries)).await;
                // A failed look-up must not hide that the object may exist: the create's own
                // (ambiguous) error is returned, so the caller keeps its intent.
                match find().await {
                    Ok(Some(found)) => return Ok(found),
                    Ok(None) => {}
                    Err(e) => return Err(unknown_outcome(error, &e)),
                }
                if retries >= policy.max_retries {
                    return Err(error);
                }
                retries += 1;
            }
            // The cloud accepted the create but its answer cannot be read (not JSON, no id):
            // the object exists, so it is looked up once and adopted. It is never sent again:
            // a second create would fail with "already exists", or duplicate the object when
            // the cloud's lists lag behind. Not found, the error stays one of unknown outcome,
            // and the caller keeps the intent for the next run to adopt the object by name.
            Err(error) if create_failure(&error) == CreateFailure::Unreadable => {
                return match find().await {
                    Ok(Some(found)) => Ok(found),
                    Ok(None) => Err(error),
                    Err(e) => Err(unknown_outcome(error, &e)),
                };
            }
            // Refused after an attempt whose answer was lost: most likely "already exists",
            // because that attempt made the object and the look-up missed it in a list that
            // lags behind creates. Looked up again while the list catches up; still not
            // found, the outcome stays unknown (the lost attempt's error), so the caller
            // keeps its intent and the next run adopts the object by name. Taken as a clear
            // refusal, the object would be orphaned and its name refused on every run.
            Err(error) => {
                let Some(lost) = lost else {
                    return Err(error);
                };
                return after_refusal(policy, lost, error, &mut find).await;
            }
        }
    }
}

/// See the last arm of [`create_or_adopt`].
async fn after_refusal<T, F, FF>(
    policy: &RetryPolicy,
    mut lost: ProviderError,
    refusal: ProviderError,
    find: &mut F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> FF,
    FF: Future<Output = Result<Option<T>, ProviderError>>,
{
    for retry in 0..policy.max_retries {
        tokio::time::sleep(policy.backoff(retry)).await;
        match find().await {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => {}
            Err(e) => return Err(unknown_outcome(lost, &e)),
        }
    }
    lost.message = format!(
        "{}; sent again, the create was refused ({refusal}), so the first attempt may have made \
         the object: the next run looks it up by name and adopts it",
        lost.message
    );
    Err(lost)
}

/// The create's error of unknown outcome, noting why the look-up that followed it failed.
fn unknown_outcome(mut error: ProviderError, find_error: &ProviderError) -> ProviderError {
    error.message = format!(
        "{}; looking the object up afterwards failed: {find_error}",
        error.message
    );
    error
}

/// Where an object's `status` attribute says it is, read without knowing its cloud: the
/// engine needs this to finish, or to replace, an object an interrupted run was creating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Still changing (`CREATING`, `starting`, `DELETING`, ...): wait before judging it.
    Changing,
    /// A failed status (`CREATE_FAILED`, `UPDATE_FAILED`, `failed`): the object will never
    /// serve as configured.
    Failed,
    /// Anything else, or no status at all.
    Steady,
}

/// The transitional statuses of both clouds, lower case.
const CHANGING: &[&str] = &[
    "creating",
    "updating",
    "deleting",
    "pending",
    "starting",
    "stopping",
    "deploying",
    "scaling",
];

/// Reads the object's `status` attribute (case-insensitive; a status ending in `FAILED`
/// is failed).
pub fn condition(object: &crate::Object) -> Condition {
    let Some(status) = object.get("status").and_then(|s| s.as_str()) else {
        return Condition::Steady;
    };
    let status = status.trim().to_ascii_lowercase();
    if status.ends_with("failed") {
        Condition::Failed
    } else if CHANGING.contains(&status.as_str()) {
        Condition::Changing
    } else {
        Condition::Steady
    }
}

/// True when the object's status says its create failed (`CREATE_FAILED`): it never came up,
/// so whatever tracks it should replace it.
pub fn create_failed(object: &crate::Object) -> bool {
    object
        .get("status")
        .and_then(|s| s.as_str())
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("CREATE_FAILED"))
}

/// Polls `read` (the object as the cloud has it now; `None` once it is gone) until the
/// object's [`condition`] is no longer [`Condition::Changing`], and returns the last reading.
/// An object found half-made by an interrupted run is thus judged as its create would have
/// judged it, not in passing. The deadline is `ctx.timeout`.
pub async fn settle<F, Fut>(
    ctx: &OpContext,
    what: &str,
    mut read: F,
) -> Result<Option<crate::Object>, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<crate::Object>, ProviderError>>,
{
    wait_for(ctx, Deadline::start(ctx), what, "settled", || {
        let next = read();
        async move {
            Ok(match next.await? {
                Some(object) if condition(&object) == Condition::Changing => Observed::Pending {
                    status: object
                        .get("status")
                        .and_then(|s| s.as_str())
                        .unwrap_or_default()
                        .to_string(),
                },
                found => Observed::Done {
                    status: None,
                    value: found,
                },
            })
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::time::Instant;

    fn recording_ctx(timeout: Option<Duration>) -> (OpContext, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let ctx = OpContext {
            progress: Arc::new(move |p| {
                let Progress::Status(s) = p;
                sink.lock().unwrap().push(s);
            }),
            timeout,
        };
        (ctx, seen)
    }

    #[test]
    fn poll_interval_notices_short_transitions() {
        let mut b = PollBackoff {
            jitter: 0.0,
            ..PollBackoff::default()
        };
        let mut t = Duration::ZERO;
        let mut times = Vec::new();
        for _ in 0..80 {
            t += b.next_delay();
            times.push(t);
        }
        // A change at 1.5 s is seen by the first poll after it, within a fifth of a second; a
        // change at 60 s within about 10%.
        let first_after = |at: Duration| *times.iter().find(|&&t| t >= at).unwrap();
        assert!(first_after(Duration::from_millis(1500)) <= Duration::from_millis(1700));
        assert!(first_after(Duration::from_secs(60)) <= Duration::from_secs(67));
        assert_eq!(times[0], Duration::from_millis(200));
        // The cap holds.
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| *g <= Duration::from_secs(5)));
        assert_eq!(*gaps.last().unwrap(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn wait_reports_each_status_once_and_returns_value() {
        let (ctx, seen) = recording_ctx(None);
        let script = Mutex::new(vec!["CREATING", "CREATING", "UPDATING", "RUNNING"]);
        let value = wait_for(&ctx, Deadline::start(&ctx), "thing", "RUNNING", || {
            let next = script.lock().unwrap().remove(0);
            async move {
                Ok(if next == "RUNNING" {
                    Observed::Done {
                        status: Some(next.to_string()),
                        value: 7,
                    }
                } else {
                    Observed::Pending {
                        status: next.to_string(),
                    }
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(value, 7);
        assert_eq!(*seen.lock().unwrap(), ["CREATING", "UPDATING", "RUNNING"]);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_status_is_an_error_with_the_cloud_code() {
        let (ctx, _) = recording_ctx(None);
        let err = wait_for::<(), _, _>(
            &ctx,
            Deadline::start(&ctx),
            "endpoint x",
            "RUNNING",
            || async {
                Ok(Observed::Failed {
                    status: "CREATE_FAILED".into(),
                    code: Some("dataartsfabric.0001".into()),
                    message: Some("no quota".into()),
                })
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Failed);
        assert_eq!(err.code.as_deref(), Some("dataartsfabric.0001"));
        assert_eq!(
            err.message,
            "endpoint x reached status CREATE_FAILED: no quota"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_is_honoured() {
        let (ctx, _) = recording_ctx(Some(Duration::from_secs(3)));
        let polls = Mutex::new(0);
        let start = Instant::now();
        let err =
            wait_for::<(), _, _>(&ctx, Deadline::start(&ctx), "endpoint x", "RUNNING", || {
                *polls.lock().unwrap() += 1;
                async {
                    Ok(Observed::Pending {
                        status: "CREATING".into(),
                    })
                }
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
        assert_eq!(
            err.message,
            "timed out after 3s waiting for endpoint x to become RUNNING (last status CREATING)"
        );
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(3) && waited < Duration::from_secs(4));
        assert!(*polls.lock().unwrap() > 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_rides_out_a_passing_outage_but_not_a_lasting_one() {
        let outage = |failures: u32| {
            let polls = Mutex::new(0u32);
            async move {
                wait_for(
                    &OpContext::silent(),
                    Deadline::never(),
                    "endpoint x",
                    "RUNNING",
                    || {
                        let n = {
                            let mut p = polls.lock().unwrap();
                            *p += 1;
                            *p
                        };
                        async move {
                            if n <= failures {
                                let mut e = ProviderError::new(ErrorKind::Api, "busy");
                                e.status = Some(503);
                                Err(e)
                            } else {
                                Ok(Observed::Done {
                                    status: Some("RUNNING".into()),
                                    value: n,
                                })
                            }
                        }
                    },
                )
                .await
            }
        };
        assert_eq!(
            outage(WAIT_READ_FAILURES).await.unwrap(),
            WAIT_READ_FAILURES + 1
        );
        let err = outage(WAIT_READ_FAILURES + 1).await.unwrap_err();
        assert_eq!(err.status, Some(503));
    }

    #[tokio::test(start_paused = true)]
    async fn ambiguous_create_adopts_what_find_finds() {
        let policy = RetryPolicy::default();
        let creates = Mutex::new(0);
        let got = create_or_adopt(
            &policy,
            || {
                *creates.lock().unwrap() += 1;
                async {
                    let mut e = ProviderError::new(ErrorKind::Api, "internal");
                    e.status = Some(500);
                    Err::<String, _>(e)
                }
            },
            || async { Ok(Some("found-id".to_string())) },
        )
        .await
        .unwrap();
        assert_eq!(got, "found-id");
        assert_eq!(*creates.lock().unwrap(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn ambiguous_create_retries_when_nothing_was_created() {
        let policy = RetryPolicy::default();
        let creates = Mutex::new(0);
        let got = create_or_adopt(
            &policy,
            || {
                let n = {
                    let mut c = creates.lock().unwrap();
                    *c += 1;
                    *c
                };
                async move {
                    if n < 3 {
                        Err(ProviderError::new(ErrorKind::Transport, "dropped"))
                    } else {
                        Ok("new-id".to_string())
                    }
                }
            },
            || async { Ok(None) },
        )
        .await
        .unwrap();
        assert_eq!(got, "new-id");
        assert_eq!(*creates.lock().unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn clear_create_errors_are_not_retried() {
        let policy = RetryPolicy::default();
        let finds = Mutex::new(0);
        let err = create_or_adopt(
            &policy,
            || async {
                let mut e = ProviderError::new(ErrorKind::Api, "bad name");
                e.status = Some(400);
                Err::<String, _>(e)
            },
            || {
                *finds.lock().unwrap() += 1;
                async { Ok(None) }
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.status, Some(400));
        assert_eq!(*finds.lock().unwrap(), 0);
    }

    fn api(status: Option<u16>) -> ProviderError {
        let mut e = ProviderError::new(ErrorKind::Api, "the answer is not valid JSON");
        e.status = status;
        e
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreadable_success_is_looked_up_once_and_never_sent_again() {
        let policy = RetryPolicy::default();
        for status in [Some(200), Some(201), None] {
            let creates = Mutex::new(0);
            let got = create_or_adopt(
                &policy,
                || {
                    *creates.lock().unwrap() += 1;
                    async move { Err::<String, _>(api(status)) }
                },
                || async { Ok(Some("found-id".to_string())) },
            )
            .await
            .unwrap();
            assert_eq!(got, "found-id");
            // Not found: the error stays one of unknown outcome, and no second create.
            let creates = Mutex::new(0);
            let err = create_or_adopt(
                &policy,
                || {
                    *creates.lock().unwrap() += 1;
                    async move { Err::<String, _>(api(status)) }
                },
                || async { Ok(None) },
            )
            .await
            .unwrap_err();
            assert_eq!(*creates.lock().unwrap(), 1);
            assert!(!create_refused(&err), "{err}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_code_in_a_success_answer_is_not_looked_up() {
        let finds = Mutex::new(0);
        let err = create_or_adopt(
            &RetryPolicy::default(),
            || async {
                let mut e = api(Some(200));
                e.code = Some("10001".into());
                Err::<String, _>(e)
            },
            || {
                *finds.lock().unwrap() += 1;
                async { Ok(Some("somebody-else".to_string())) }
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.code.as_deref(), Some("10001"));
        assert_eq!(*finds.lock().unwrap(), 0);
    }

    /// A create whose answer is lost, not found yet by a list that lags, sent again and
    /// refused as a duplicate: looked up until the list shows it, or left of unknown outcome.
    #[tokio::test(start_paused = true)]
    async fn a_refusal_after_a_lost_answer_keeps_the_outcome_unknown() {
        let policy = RetryPolicy::default();
        for shows_after in [Some(3), None] {
            let (creates, finds) = (Mutex::new(0), Mutex::new(0));
            let got = create_or_adopt(
                &policy,
                || {
                    let n = {
                        let mut c = creates.lock().unwrap();
                        *c += 1;
                        *c
                    };
                    async move {
                        let mut e = ProviderError::new(ErrorKind::Api, "already exists");
                        e.status = Some(if n == 1 { 500 } else { 400 });
                        Err::<String, _>(e)
                    }
                },
                || {
                    let n = {
                        let mut f = finds.lock().unwrap();
                        *f += 1;
                        *f
                    };
                    async move { Ok(shows_after.filter(|&s| n >= s).map(|_| "ours".to_string())) }
                },
            )
            .await;
            assert_eq!(
                *creates.lock().unwrap(),
                2,
                "sent once more, then never again"
            );
            match shows_after {
                Some(_) => assert_eq!(got.unwrap(), "ours"),
                None => {
                    let err = got.unwrap_err();
                    assert_eq!(err.status, Some(500), "{err}");
                    assert!(!create_refused(&err), "{err}");
                    assert!(err.message.contains("already exists"), "{err}");
                    assert_eq!(*finds.lock().unwrap(), 1 + policy.max_retries as usize);
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_look_up_after_an_ambiguous_create_stays_ambiguous() {
        let policy = RetryPolicy::default();
        let err = create_or_adopt(
            &policy,
            || async { Err::<String, _>(ProviderError::new(ErrorKind::Transport, "dropped")) },
            || async {
                Err(ProviderError::new(
                    ErrorKind::Invalid,
                    "2 objects were found",
                ))
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Transport);
        assert!(err.message.contains("2 objects were found"), "{err}");
        assert!(!create_refused(&err));
    }

    #[test]
    fn only_clear_refusals_are_refusals() {
        for status in [400, 401, 403, 404, 409, 422] {
            assert!(create_refused(&api(Some(status))), "{status}");
        }
        assert!(create_refused(&ProviderError::new(
            ErrorKind::Invalid,
            "bad id"
        )));
        let mut envelope = api(Some(200));
        envelope.code = Some("10001".into());
        assert!(create_refused(&envelope), "an error code in a 200 is read");
        let mut server = api(Some(500));
        server.code = Some("APIG.0500".into());
        assert!(!create_refused(&server));
        for unknown in [
            api(Some(200)),
            api(Some(500)),
            api(Some(502)),
            api(None),
            ProviderError::new(ErrorKind::Transport, "reset"),
            ProviderError::new(ErrorKind::Timeout, "timed out"),
            ProviderError::new(ErrorKind::Failed, "CREATE_FAILED"),
        ] {
            assert!(!create_refused(&unknown), "{unknown}");
        }
    }

    fn with_status(s: &str) -> crate::Object {
        serde_json::json!({"id": "x", "status": s})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn conditions_of_both_clouds() {
        for s in ["CREATING", "starting", "DELETING", "stopping", "deploying"] {
            assert_eq!(condition(&with_status(s)), Condition::Changing, "{s}");
        }
        for s in ["CREATE_FAILED", "UPDATE_FAILED", "failed", "FAILED"] {
            assert_eq!(condition(&with_status(s)), Condition::Failed, "{s}");
        }
        for s in ["RUNNING", "running", "stopped", "ACTIVE", ""] {
            assert_eq!(condition(&with_status(s)), Condition::Steady, "{s}");
        }
        assert_eq!(condition(&crate::Object::new()), Condition::Steady);
        assert!(create_failed(&with_status("create_failed")));
        assert!(!create_failed(&with_status("failed")));
    }

    #[tokio::test(start_paused = true)]
    async fn settle_waits_out_transitions_and_sees_objects_go() {
        let script = Mutex::new(vec!["CREATING", "CREATING", "CREATE_FAILED"]);
        let got = settle(&OpContext::silent(), "thing", || {
            let next = script.lock().unwrap().remove(0);
            async move { Ok(Some(with_status(next))) }
        })
        .await
        .unwrap();
        assert_eq!(got.map(|o| condition(&o)), Some(Condition::Failed));
        let script = Mutex::new(vec![Some("DELETING"), None]);
        let got = settle(&OpContext::silent(), "thing", || {
            let next = script.lock().unwrap().remove(0);
            async move { Ok(next.map(with_status)) }
        })
        .await
        .unwrap();
        assert_eq!(got, None);
        let ctx = OpContext {
            timeout: Some(Duration::from_secs(2)),
            ..OpContext::silent()
        };
        let err = settle(&ctx, "thing", || async {
            Ok(Some(with_status("CREATING")))
        })
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(3)), "3s");
    }
}
