//! Async verifications (Tu Identidad, seed 004): the timeline of each
//! verification on the namespace's sandbox clock, and the delivery of its
//! result to the customer's webhook, with retries.
//!
//! A verification is created by a provider request ([`create`]) and from
//! then on moves by timers ([`crate::engine::timers`]), but for two steps
//! taken at once: with a `processing_delay` of 0 the source is asked while
//! the creating request is answered, and a redelivery the admin API asks
//! for that is delivered completes a Delivering verification:
//!
//! ```text
//! 1 Processing ──(processing delay)──▶ source asked
//!   source down:  2 Retrying, asked again at +20 min and +40 min, then it
//!                 answers with its "unavailable" warning (or, when it comes
//!                 back at a retry, with its data)
//!   source answers ──▶ 3 Delivering while the webhook is pending
//!                      (attempts 15 min apart, at most 5) ──▶ 4 Completed
//!   no webhook target ──▶ 4 Completed at once
//! ```
//!
//! Every write made by a timer task checks, under the state lock, that the
//! namespace was not reset since the task was scheduled: a reset starts a new
//! generation of the timers, and ids restart with the request sequence, so a
//! stale task could otherwise touch a new verification with the same id.
//! The webhook is posted with no lock held, bounded by the webhook timeout,
//! on the task's own tokio task: a dead or slow target holds up nothing else.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::engine::ledger::{Ledger, Refused, Share};
use crate::engine::model::SettingsError;
use crate::engine::namespace::Began;
use crate::engine::namespace::Namespace;
use crate::engine::timers::TimerKey;
use crate::engine::WEBHOOK_HEADER;
use crate::time::{format_duration, parse_duration, Timestamp};

/// The async provider's id, which is also the key of this state in the
/// namespace: its module answers to it (`Provider::id`).
pub const STATE: &str = "async";

/// Verifications kept per namespace; past it the oldest completed ones go.
const MAX_VERIFICATIONS: usize = 10_000;
/// Verifications kept by every namespace together (1–2 KB each with
/// ordinary requests): past it a namespace holding [`KEPT_WHATEVER_ELSE`]
/// or more lets its own oldest go to make room, as at its own bound, so
/// that 1,024 namespaces that never reset do not hold ten million.
const MAX_VERIFICATIONS_IN_ALL: usize = 100_000;
/// Delivery attempts kept by every namespace together, alike.
const MAX_DELIVERIES_IN_ALL: usize = 100_000;
/// What a namespace keeps of each, whatever the others hold: a suite's own
/// few verifications are never lost to namespaces that filled the rest.
/// With it, every namespace together holds at most the bound and this
/// many a namespace (about 200,000).
const KEPT_WHATEVER_ELSE: usize = 100;
/// Delivery attempts kept per namespace, oldest dropped first.
const MAX_DELIVERIES: usize = 10_000;
/// What the webhook targets set through the admin API hold in every
/// namespace together, in bytes: past it, one more is refused in a
/// namespace holding more than [`WEBHOOKS_KEPT_WHATEVER_ELSE`]. A target is
/// some 150 bytes with an ordinary URL, and up to 4.4 KB (a URL and a
/// header apikey of 2 KB each, a route apikey of 256 bytes): 1,025
/// namespaces of [`MAX_WEBHOOKS`] would hold 4.5 GB.
pub const MAX_WEBHOOK_BYTES_IN_ALL: usize = 16 << 20;
/// What a namespace's targets may hold whatever the others hold (some
/// four hundred ordinary ones, fourteen of the largest).
pub const WEBHOOKS_KEPT_WHATEVER_ELSE: usize = 64 << 10;
/// The most of a webhook's answer that is read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// `verificationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    IneNominalList = 1,
    RfcByCurp = 2,
    NssByCurp = 3,
}

/// `verificationStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Processing = 1,
    Retrying = 2,
    Delivering = 3,
    Completed = 4,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Processing => "Processing",
            Status::Retrying => "Retrying",
            Status::Delivering => "Delivering",
            Status::Completed => "Completed",
        }
    }
}

/// One entry of `warnings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: String,
    pub message: String,
}

/// What the source answers when it is asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The type's data, sent JSON-encoded as `verification`; `None` is null.
    pub data: Option<Value>,
    pub warnings: Vec<Warning>,
}

/// The timeline's knobs, from the provider's `settings:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub processing_delay: Duration,
    /// When the source is asked again after it was down, counted from the
    /// first time it was asked.
    pub source_retries: Vec<Duration>,
    /// Webhook attempts in all, the first included.
    pub webhook_attempts: u32,
    pub webhook_retry_interval: Duration,
    pub webhook_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            processing_delay: Duration::from_secs(2),
            source_retries: vec![Duration::from_secs(20 * 60), Duration::from_secs(40 * 60)],
            webhook_attempts: 5,
            webhook_retry_interval: Duration::from_secs(15 * 60),
            webhook_timeout: Duration::from_secs(10),
        }
    }
}

/// The most webhook attempts a file may ask for: with a retry interval of
/// `0s` every attempt falls due at once, and a clock move runs them all
/// before it answers.
const MAX_WEBHOOK_ATTEMPTS: u32 = 100;

impl Settings {
    /// The keys [`Settings::from_map`] reads.
    pub const KEYS: [&'static str; 5] = [
        "processing_delay",
        "source_retries",
        "webhook_attempts",
        "webhook_retry_interval",
        "webhook_timeout",
    ];

    /// Reads `processing_delay`, `source_retries`, `webhook_attempts`,
    /// `webhook_retry_interval` and `webhook_timeout`; durations are written
    /// `2s`, `20m`… A key that is absent keeps its default; one that cannot
    /// be read is an error naming it.
    pub fn from_map(map: &Map<String, Value>) -> Result<Settings, SettingsError> {
        let mut s = Settings::default();
        let duration = |key: &str, v: &Value| -> Result<Duration, SettingsError> {
            // A bare 0 is zero, as in `latency:`; YAML reads it as a number.
            if v.as_f64() == Some(0.0) {
                return Ok(Duration::ZERO);
            }
            v.as_str()
                .ok_or_else(|| SettingsError::at(key, "write a duration such as 2s or 20m"))
                .and_then(|t| parse_duration(t).map_err(|e| SettingsError::at(key, e)))
        };
        if let Some(v) = map.get("processing_delay") {
            s.processing_delay = duration("processing_delay", v)?;
        }
        if let Some(v) = map.get("source_retries") {
            let list = v.as_array().ok_or_else(|| {
                SettingsError::at("source_retries", "write a list such as [20m, 40m]")
            })?;
            s.source_retries = list
                .iter()
                .map(|d| duration("source_retries", d))
                .collect::<Result<_, _>>()?;
            // Offsets from the first try: out of order, a retry would be
            // due before the try it follows (the first try is offset 0).
            let tries = std::iter::once(Duration::ZERO).chain(s.source_retries.iter().copied());
            if let Some((before, after)) = tries.clone().zip(tries.skip(1)).find(|(a, b)| b <= a) {
                return Err(SettingsError::at("source_retries", format!(
                    "each retry is later than the try before (they count from the first try, as in [20m, 40m]): {} comes after {}",
                    format_duration(after),
                    if before.is_zero() { "the first try".to_string() } else { format_duration(before) }
                )));
            }
        }
        if let Some(v) = map.get("webhook_attempts") {
            s.webhook_attempts = v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (1..=MAX_WEBHOOK_ATTEMPTS).contains(n))
                .ok_or_else(|| {
                    SettingsError::at(
                        "webhook_attempts",
                        format!("write a whole number from 1 to {MAX_WEBHOOK_ATTEMPTS}"),
                    )
                })?;
        }
        if let Some(v) = map.get("webhook_retry_interval") {
            s.webhook_retry_interval = duration("webhook_retry_interval", v)?;
        }
        if let Some(v) = map.get("webhook_timeout") {
            s.webhook_timeout = duration("webhook_timeout", v)?;
            if s.webhook_timeout.is_zero() {
                return Err(SettingsError::at(
                    "webhook_timeout",
                    "write more than 0: every attempt would fail unsent",
                ));
            }
        }
        Ok(s)
    }
}

/// What a provider request asks for.
#[derive(Debug, Clone)]
pub struct NewVerification {
    pub id: String,
    pub kind: Kind,
    /// The customer's apikey: who may read it, whose webhook gets it.
    pub apikey: String,
    /// The scenario that decided the outcome.
    pub scenario: String,
    /// What the source answers (when it is down: its answer once the
    /// retries are spent).
    pub outcome: Outcome,
    /// How many times the source is down before it answers: 0 up, 1 back
    /// at the first retry, `u32::MAX` down every time. When the retries run
    /// out first, the source answers `outcome` at its last try.
    pub source_down_for: u32,
    /// The webhook URL the fixtures or `--webhook-url` give this apikey; an
    /// admin `PUT /__admin/webhooks/{apikey}` wins over it.
    pub default_target: Option<String>,
    /// The [`crate::engine::Defs::generation`] `default_target` comes from.
    pub defs_generation: u64,
    pub settings: Settings,
    /// `--log-requests`: each of its delivery attempts is written to
    /// stderr as it ends (`log_attempt`).
    pub log_attempts: bool,
}

struct Verification {
    new: NewVerification,
    created: Timestamp,
    updated: Timestamp,
    completed: Option<Timestamp>,
    status: Status,
    /// `verification`, once the source has answered.
    verification: Option<String>,
    warnings: Vec<Warning>,
    /// When the source was first asked, and how many times it was.
    first_asked: Option<Timestamp>,
    source_tries: u32,
    /// Delivery attempts made, redeliveries included.
    attempts: u32,
    /// Of those, made by the redeliver route (they do not count against the
    /// timeline's attempts).
    redelivered: u32,
    delivered: bool,
    /// The step last scheduled for it.
    pending: Option<TimerKey>,
}

impl Verification {
    /// The documented status object, which is also the webhook's body.
    fn status_object(&self) -> Value {
        json!({
            "verificationId": self.new.id,
            "verificationType": self.new.kind as u8,
            "verificationStatus": self.status as u8,
            "verification": self.verification,
            "warnings": self.warnings,
        })
    }

    fn complete(&mut self, at: Timestamp) {
        self.status = Status::Completed;
        self.completed = Some(at);
        self.updated = at;
    }
}

/// A webhook target set through the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub url: String,
    /// The `apikey` header sent; `None` sends the customer's own apikey.
    pub apikey: Option<String>,
}

impl Target {
    /// What it holds set for `key`, in bytes: the entry in the map (and
    /// the map's index of it) and the strings.
    fn size(&self, key: &str) -> usize {
        std::mem::size_of::<(u64, String, Target)>()
            + 2 * std::mem::size_of::<usize>()
            + key.len()
            + self.url.capacity()
            + self.apikey.as_ref().map_or(0, String::capacity)
    }
}

/// One delivery attempt, as `GET /__admin/webhooks/deliveries` lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub verification_id: String,
    pub attempt: u32,
    /// Sandbox time the attempt belongs to.
    pub time: String,
    pub url: String,
    /// `delivered`, or what went wrong.
    pub outcome: String,
    /// The target's HTTP status, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub trigger: Trigger,
}

/// What made a delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// The verification's timeline.
    Schedule,
    /// The admin API's redeliver route.
    Redeliver,
}

/// How many verifications and delivery attempts every namespace of one
/// sandbox holds together, for `MAX_VERIFICATIONS_IN_ALL` and
/// `MAX_DELIVERIES_IN_ALL`, and what its webhook targets hold, for
/// [`MAX_WEBHOOK_BYTES_IN_ALL`]: the module's, shared by the stores.
#[derive(Debug)]
pub struct Held {
    verifications: Arc<Ledger>,
    deliveries: Arc<Ledger>,
    webhooks: Arc<Ledger>,
}

impl Default for Held {
    fn default() -> Held {
        Held {
            verifications: Ledger::new(MAX_VERIFICATIONS_IN_ALL, KEPT_WHATEVER_ELSE, 1),
            deliveries: Ledger::new(MAX_DELIVERIES_IN_ALL, KEPT_WHATEVER_ELSE, 1),
            webhooks: Ledger::new(
                MAX_WEBHOOK_BYTES_IN_ALL,
                WEBHOOKS_KEPT_WHATEVER_ELSE,
                4 << 10,
            ),
        }
    }
}

/// One namespace's parts of [`Held`].
struct Shares {
    verifications: Share,
    deliveries: Share,
}

/// Whether a store of `len` entries, at most `own` of its own and what
/// `share` of every namespace's lets it, lets its oldest go to take one
/// more; if not, the one more is counted in the share.
fn makes_room(share: Option<&mut Share>, len: usize, own: usize) -> bool {
    len >= own || share.is_some_and(|s| !s.fits(len + 1))
}

/// One namespace's verifications, delivery attempts and webhook targets.
#[derive(Default)]
pub struct Jobs {
    verifications: IndexMap<String, Verification>,
    /// Its parts of the counts of every namespace's verifications and
    /// delivery attempts, from its first verification on; given back when
    /// the store goes (a reset, a namespace freed).
    shares: Option<Shares>,
    /// Oldest first; a deque, as the bound drops from the front.
    deliveries: VecDeque<Delivery>,
    webhooks: IndexMap<String, Target>,
    /// What `webhooks` holds, in bytes ([`Target::size`]), and its part of
    /// what every namespace's hold, from its first target on.
    webhook_bytes: usize,
    webhook_share: Option<Share>,
    /// The default targets of the latest reload seen here ([`retarget`]),
    /// for a verification created from definitions older than it.
    reloaded: Option<Retarget>,
}

/// The default webhook URL for an apikey.
pub type TargetFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where the definitions of one load send an apikey's results by default.
#[derive(Clone)]
pub struct Retarget {
    /// The load's [`crate::engine::Defs::generation`].
    pub generation: u64,
    pub target: TargetFn,
}

impl Jobs {
    /// Where `v` is delivered, with the apikey header to send.
    fn target(&self, v: &Verification) -> Option<(String, String)> {
        match self.webhooks.get(&v.new.apikey) {
            Some(t) => Some((
                t.url.clone(),
                t.apikey.clone().unwrap_or_else(|| v.new.apikey.clone()),
            )),
            None => v
                .new
                .default_target
                .clone()
                .map(|url| (url, v.new.apikey.clone())),
        }
    }

    fn record(&mut self, d: Delivery) {
        if self.room_for_a_delivery() {
            self.deliveries.pop_front();
        }
        self.deliveries.push_back(d);
    }

    /// [`makes_room`] for one more delivery attempt.
    fn room_for_a_delivery(&mut self) -> bool {
        makes_room(
            self.shares.as_mut().map(|s| &mut s.deliveries),
            self.deliveries.len(),
            MAX_DELIVERIES,
        )
    }

    /// Counts an attempt of `id`'s to `url` at `at` and lists it: the body
    /// to post (the status object as it is now), and the listing.
    fn begin_attempt(
        &mut self,
        id: &str,
        at: Timestamp,
        url: &str,
        trigger: Trigger,
    ) -> Option<(Vec<u8>, Delivery)> {
        let v = self.verifications.get_mut(id)?;
        v.attempts += 1;
        let body = serde_json::to_vec(&v.status_object()).unwrap_or_default();
        let attempt = Delivery {
            verification_id: id.to_string(),
            attempt: v.attempts,
            time: at.to_mx_rfc3339(),
            url: url.to_string(),
            outcome: String::new(),
            status: None,
            trigger,
        };
        self.start_attempt(&attempt);
        Some((body, attempt))
    }

    /// Lists an attempt as it starts, `sending`: the list keeps the order
    /// the attempts were made in, not the order their targets answered in.
    /// Attempts due at one sandbox instant start together (on as many
    /// threads as the runtime has): among them, the verification created
    /// first is listed first, as its place in the timeline says.
    fn start_attempt(&mut self, d: &Delivery) {
        if self.room_for_a_delivery() {
            self.deliveries.pop_front();
        }
        let rank = |id: &str| self.verifications.get_index_of(id);
        let mine = rank(&d.verification_id);
        let mut at = self.deliveries.len();
        while at > 0 {
            let e = &self.deliveries[at - 1];
            if e.time == d.time && e.trigger == d.trigger && rank(&e.verification_id) > mine {
                at -= 1;
            } else {
                break;
            }
        }
        self.deliveries.insert(
            at,
            Delivery {
                outcome: SENDING.to_string(),
                status: None,
                ..d.clone()
            },
        );
    }

    /// Writes what an attempt came to over its entry (listed again at the
    /// end if the bound has dropped it meanwhile).
    fn finish_attempt(&mut self, d: Delivery) {
        let entry = self
            .deliveries
            .iter_mut()
            .rev()
            .find(|e| e.verification_id == d.verification_id && e.attempt == d.attempt);
        match entry {
            Some(e) => *e = d,
            None => self.record(d),
        }
    }
}

/// The outcome of an attempt whose target has not answered yet.
const SENDING: &str = "sending";

/// Runs `f` on the namespace's jobs, unless the namespace was reset since
/// `generation` (checked under the state lock, so that a reset cannot slip
/// between the check and the write).
fn with_jobs<R>(ns: &Namespace, generation: u64, f: impl FnOnce(&mut Jobs) -> R) -> Option<R> {
    ns.with_state::<Jobs, _>(STATE, |j| ns.is_current(generation).then(|| f(j)))
}

/// A step of the timeline.
#[derive(Debug, Clone)]
enum Step {
    AskSource,
    Deliver,
}

fn schedule(ns: &Namespace, generation: u64, at: Timestamp, id: String, step: Step) {
    let weak: Weak<Namespace> = ns.weak();
    let task_id = id.clone();
    let key = ns.timers.schedule(
        at,
        Box::new(move || {
            Box::pin(async move {
                let Some(ns) = weak.upgrade() else {
                    return;
                };
                match step {
                    Step::AskSource => ask_source(&ns, generation, at, &task_id).await,
                    Step::Deliver => deliver(&ns, generation, at, &task_id).await,
                }
            })
        }),
    );
    // Noted on the verification, so that evicting it cancels the step (on
    // a frozen clock it would be held for ever); the later of two notes,
    // should a step due at once have scheduled the next before this one.
    let Some(key) = key else { return };
    let noted = with_jobs(ns, generation, |j| {
        let v = j.verifications.get_mut(&id)?;
        v.pending = v.pending.max(Some(key));
        Some(())
    })
    .flatten();
    if noted.is_none() {
        ns.timers.cancel(key);
    }
}

/// Stores a new verification (1 Processing) and schedules its source query,
/// unless the namespace was reset since `generation`, when the request that
/// made it began (its id came from the sequence before the reset).
pub fn create(
    ns: &Namespace,
    generation: u64,
    now: Timestamp,
    mut new: NewVerification,
    held: &Arc<Held>,
) {
    let id = new.id.clone();
    let at = now.plus_on_clock(new.settings.processing_delay);
    let stored = with_jobs(ns, generation, |j| {
        if let Some(r) = j
            .reloaded
            .as_ref()
            .filter(|r| r.generation > new.defs_generation)
        {
            new.default_target = (r.target)(&new.apikey);
        }
        let shares = j.shares.get_or_insert_with(|| {
            let mut deliveries = held.deliveries.share();
            // Attempts listed before (none are: an attempt is of a
            // verification) are counted from here on, as they are given
            // back.
            deliveries.fits(j.deliveries.len());
            Shares {
                verifications: held.verifications.share(),
                deliveries,
            }
        });
        let mut evicted = None;
        if makes_room(
            Some(&mut shares.verifications),
            j.verifications.len(),
            MAX_VERIFICATIONS,
        ) {
            // The oldest completed one goes; when none has completed yet
            // (a burst of creations), the oldest of all: the bound holds
            // whatever the rate, and a step due for a verification that is
            // gone finds nothing to do.
            let oldest = j
                .verifications
                .iter()
                .position(|(_, v)| v.status == Status::Completed)
                .unwrap_or(0);
            evicted = j
                .verifications
                .shift_remove_index(oldest)
                .and_then(|(_, v)| v.pending);
        }
        // An id already held (none is made twice) is replaced: the store
        // then holds one fewer than counted, which the next creation uses.
        // Its step is left to find the new one.
        j.verifications.insert(
            id.clone(),
            Verification {
                new,
                created: now,
                updated: now,
                completed: None,
                status: Status::Processing,
                verification: None,
                warnings: Vec::new(),
                first_asked: None,
                source_tries: 0,
                attempts: 0,
                redelivered: 0,
                delivered: false,
                pending: None,
            },
        );
        evicted
    });
    if let Some(evicted) = stored {
        if let Some(step) = evicted {
            ns.timers.cancel(step);
        }
        if at > now {
            schedule(ns, generation, at, id, Step::AskSource);
            return;
        }
        // A processing delay of 0: the source is asked before the creation
        // is answered, so that a status read right after it finds what the
        // source said, however soon the timers' task would have run.
        match source_answers(ns, generation, at, &id) {
            Some(Next::AskAgain(when)) => schedule(ns, generation, when, id, Step::AskSource),
            Some(Next::Deliver) => schedule(ns, generation, at, id, Step::Deliver),
            Some(Next::Done) | None => {}
        }
    }
}

/// What follows the source's answer.
enum Next {
    AskAgain(Timestamp),
    Deliver,
    Done,
}

/// The source is asked: down (2 Retrying, asked again later) or it answers
/// (3 Delivering, or 4 Completed when there is no webhook target).
async fn ask_source(ns: &Arc<Namespace>, generation: u64, at: Timestamp, id: &str) {
    match source_answers(ns, generation, at, id) {
        Some(Next::AskAgain(when)) => {
            schedule(ns, generation, when, id.to_string(), Step::AskSource)
        }
        Some(Next::Deliver) => deliver(ns, generation, at, id).await,
        Some(Next::Done) | None => {}
    }
}

/// The verification's state once the source is asked at `at`; `None` when
/// it is gone (evicted, or the namespace reset since `generation`).
fn source_answers(ns: &Namespace, generation: u64, at: Timestamp, id: &str) -> Option<Next> {
    with_jobs(ns, generation, |j| {
        let target = j.verifications.get(id).map(|v| j.target(v).is_some());
        let v = j.verifications.get_mut(id)?;
        let first = *v.first_asked.get_or_insert(at);
        let tries = v.source_tries as usize;
        v.source_tries += 1;
        v.updated = at;
        if (tries as u64) < u64::from(v.new.source_down_for) {
            if let Some(after) = v.new.settings.source_retries.get(tries) {
                v.status = Status::Retrying;
                return Some(Next::AskAgain(first.plus_on_clock(*after)));
            }
        }
        v.verification = v
            .new
            .outcome
            .data
            .as_ref()
            .map(|d| serde_json::to_string(d).unwrap_or_default());
        v.warnings = v.new.outcome.warnings.clone();
        if target == Some(true) {
            v.status = Status::Delivering;
            Some(Next::Deliver)
        } else {
            v.complete(at);
            Some(Next::Done)
        }
    })
    .flatten()
}

/// One scheduled webhook attempt; on failure the next one is scheduled a
/// retry interval later, until the attempts are spent (then 4 Completed,
/// undelivered).
async fn deliver(ns: &Arc<Namespace>, generation: u64, at: Timestamp, id: &str) {
    let prepared = with_jobs(ns, generation, |j| {
        let v = j.verifications.get(id)?;
        if v.delivered || v.status != Status::Delivering {
            return None;
        }
        let target = j.target(v);
        let v = j.verifications.get_mut(id)?;
        let Some((url, apikey)) = target else {
            // The target was removed while the verification waited.
            v.complete(at);
            return None;
        };
        let (settings, log) = (v.new.settings.clone(), v.new.log_attempts);
        let (body, attempt) = j.begin_attempt(id, at, &url, Trigger::Schedule)?;
        Some((url, apikey, body, attempt, settings, log))
    })
    .flatten();
    let Some((url, apikey, body, attempt, settings, log)) = prepared else {
        return;
    };
    let sent = post(ns, &url, &apikey, body, settings.webhook_timeout).await;
    let delivery = Delivery {
        outcome: sent.outcome.clone(),
        status: sent.status,
        ..attempt
    };
    if log {
        log_attempt(&delivery);
    }
    let retry = with_jobs(ns, generation, |j| {
        j.finish_attempt(delivery);
        let v = j.verifications.get_mut(id)?;
        if sent.delivered {
            v.delivered = true;
        }
        // A redelivery may have got through while this attempt was out.
        if v.delivered {
            if v.status != Status::Completed {
                v.complete(at);
            }
            return None;
        }
        let scheduled = v.attempts - v.redelivered;
        if scheduled < settings.webhook_attempts {
            Some(at.plus_on_clock(settings.webhook_retry_interval))
        } else {
            v.complete(at);
            None
        }
    })
    .flatten();
    if let Some(when) = retry {
        schedule(ns, generation, when, id.to_string(), Step::Deliver);
    }
}

/// What one POST to a webhook came to.
#[derive(Debug, Clone)]
pub struct Sent {
    pub delivered: bool,
    pub outcome: String,
    pub status: Option<u16>,
}

/// The URL without its user info, and that user info as the value of a
/// Basic `Authorization` header (`http://user:pw@host/` is how a webhook
/// protected by a password is written): HTTP sends credentials in a
/// header, never in the request line.
fn split_user_info(url: &str) -> Result<(hyper::Uri, Option<String>), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let Some((user_info, host_port)) = uri.authority().and_then(|a| a.as_str().rsplit_once('@'))
    else {
        return Ok((uri, None));
    };
    use base64::Engine as _;
    let decoded = crate::engine::fixtures::basic_credentials(user_info)?;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(decoded)
    );
    let mut parts = uri.clone().into_parts();
    parts.authority = Some(host_port.parse().map_err(|e| format!("{e}"))?);
    let bare = hyper::Uri::from_parts(parts).map_err(|e| format!("{e}"))?;
    Ok((bare, Some(basic)))
}

/// The `--log-requests` line of an attempt that has ended: `webhook POST
/// URL -> STATUS verification ID attempt N: OUTCOME` (STATUS `-` when the
/// target did not answer; `(redeliver)` after N for the admin API's).
/// The URL without its user info: the password stays in the admin
/// listings, off a CI's log.
fn log_attempt(d: &Delivery) {
    use crate::stderr::printable;
    let status = d.status.map_or("-".to_string(), |s| s.to_string());
    let redeliver = match d.trigger {
        Trigger::Schedule => "",
        Trigger::Redeliver => " (redeliver)",
    };
    crate::stderr::line(format!(
        "webhook POST {} -> {status} verification {} attempt {}{redeliver}: {}",
        printable(&without_user_info(&d.url)),
        printable(&d.verification_id),
        d.attempt,
        printable(&d.outcome),
    ));
}

/// `url` as written, less the user info of its authority (`user:pw@`).
fn without_user_info(url: &str) -> std::borrow::Cow<'_, str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.into();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{}", &rest[authority.len()..]).into(),
        None => url.into(),
    }
}

/// What `Limited` says of an answer past [`MAX_ANSWER_BYTES`].
const LENGTH_LIMIT: &str = "length limit exceeded";

/// How many webhook attempts of the whole process are in flight at once:
/// a quarter of its file descriptors (8 to 4,096). A clock move that makes
/// thousands of attempts due together would otherwise take every
/// descriptor, for as long as a target that hangs holds them: no client
/// could connect, and attempts to targets that answer would fail unsent.
/// The rest wait their turn (listed as `sending`).
fn attempt_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(slots_for(open_files_limit())))
}

/// [`attempt_slots`]' size for a limit on open files.
fn slots_for(open_files: usize) -> usize {
    (open_files / 4).clamp(8, 4096)
}

/// The soft limit on open files, as the kernel keeps it (`getrlimit`, not
/// `/proc/self/limits`, which a container may not mount: the fallback
/// then gave 256 slots under a limit of 64, and attempts to a target that
/// hangs took every descriptor). 1,024, the usual default, where there is
/// no such limit to read.
fn open_files_limit() -> usize {
    #[cfg(unix)]
    if let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
        return usize::try_from(soft).unwrap_or(usize::MAX);
    }
    1024
}

/// POSTs the webhook: delivered means a 200 answer whose JSON body says
/// `"completed": true`. Bounded by `timeout` from connect to last byte,
/// once one of the [`attempt_slots`] is free. It carries the sandbox's
/// [`WEBHOOK_HEADER`], by which the sandbox tells one that comes back to it.
/// A panic on the way is a failed attempt, as any other failure: the
/// resolver's (hyper-util looks a host name up on a thread of tokio's, and
/// panics when none can start, under a container's limit on processes)
/// left the attempt `sending` for ever, and never retried.
async fn post(ns: &Namespace, url: &str, apikey: &str, body: Vec<u8>, timeout: Duration) -> Sent {
    caught(exchange(ns, url, apikey, body, timeout))
        .await
        .unwrap_or_else(|why| Sent {
            delivered: false,
            outcome: format!("the attempt failed: {why}"),
            status: None,
        })
}

/// `f`'s output, or the message of a panic while it was polled.
async fn caught<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::task::Poll;
    let mut f = std::pin::pin!(f);
    std::future::poll_fn(move |cx| {
        // Unwind safe: the future is dropped, never polled again, once it
        // has panicked.
        match catch_unwind(AssertUnwindSafe(|| f.as_mut().poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into()))),
        }
    })
    .await
}

/// [`post`]'s exchange.
async fn exchange(
    ns: &Namespace,
    url: &str,
    apikey: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Sent {
    // Never closed: acquiring only waits.
    let _slot = attempt_slots().acquire().await.ok();
    let failed = |outcome: String, status: Option<u16>| Sent {
        delivered: false,
        outcome,
        status,
    };
    let (url, basic) = match split_user_info(url) {
        Ok(parts) => parts,
        Err(e) => return failed(format!("cannot build the request: {e}"), None),
    };
    let mut req = hyper::Request::post(url)
        .header("apikey", apikey)
        .header(CONTENT_TYPE, "application/json")
        .header(WEBHOOK_HEADER, &*ns.webhook_mark);
    if let Some(credentials) = basic {
        req = req.header(AUTHORIZATION, credentials);
    }
    let req = match req.body(Full::new(Bytes::from(body))) {
        Ok(r) => r,
        Err(e) => return failed(format!("cannot build the request: {e}"), None),
    };
    // A client per attempt: webhooks are rare, and a pooled connection must
    // not outlive the runtime that opened it.
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http();
    // The status once the answer's head is in: a body that does not come
    // in time is still an answer of that status.
    let mut answered = None;
    let exchange = async {
        let res = client
            .request(req)
            .await
            .map_err(|e| (error_chain(&e), None))?;
        let status = res.status().as_u16();
        answered = Some(status);
        if hyper::body::Body::size_hint(res.body()).lower() > MAX_ANSWER_BYTES as u64 {
            let why = format!("reading the answer failed: {LENGTH_LIMIT}");
            return Err((why, Some(status)));
        }
        let bytes = Limited::new(res.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| {
                let why = format!("reading the answer failed: {}", error_chain(&*e));
                (why, Some(status))
            })?
            .to_bytes();
        Ok::<_, (String, Option<u16>)>((status, bytes))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => failed(
            match answered {
                None => format!("no answer within {}", crate::time::format_duration(timeout)),
                Some(_) => format!(
                    "the answer's body did not come within {}",
                    crate::time::format_duration(timeout)
                ),
            },
            answered,
        ),
        Ok(Err((why, status))) => failed(why, status),
        Ok(Ok((status, bytes))) => {
            // The document: "The service must response with status code
            // 200 and confirm that the data was receipt".
            if status != 200 {
                let why = if (200..300).contains(&status) {
                    format!("HTTP {status}, not 200")
                } else {
                    format!("HTTP {status}")
                };
                return failed(why, Some(status));
            }
            if confirms(&bytes) {
                Sent {
                    delivered: true,
                    outcome: "delivered".into(),
                    status: Some(status),
                }
            } else {
                failed(
                    format!("HTTP {status} without {{\"completed\": true}}"),
                    Some(status),
                )
            }
        }
    }
}

/// Whether a receiver's answer confirms the data was received: a JSON
/// object whose `completed` is `true`. Read as the provider's .NET JSON
/// readers read it: past a UTF-8 byte-order mark (a PHP file saved "with
/// BOM", .NET's `StreamWriter(Encoding.UTF8)`), the key in any case
/// (`Completed`, ASP.NET's default), the last one written when there are
/// several (which a map of the keys would not tell: `{"completed": false,
/// "Completed": true, "completed": false}` is `false`).
fn confirms(answer: &[u8]) -> bool {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct LastCompleted;
    impl<'de> Visitor<'de> for LastCompleted {
        type Value = Option<Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut last = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key.eq_ignore_ascii_case("completed") {
                    last = Some(map.next_value::<Value>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(last)
        }
    }
    let answer = answer.strip_prefix(crate::request::BOM).unwrap_or(answer);
    let mut de = serde_json::Deserializer::from_slice(answer);
    let completed = de.deserialize_map(LastCompleted);
    matches!(completed, Ok(Some(Value::Bool(true)))) && de.end().is_ok()
}

/// An error and its causes, `a: b: c` (hyper's own text is only "client error (Connect)").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

// ---- reads and admin operations -------------------------------------------

/// A verification as its owner reads it: the fields of the documented
/// status object.
pub struct Found {
    pub id: String,
    pub kind: Kind,
    pub status: Status,
    pub verification: Option<String>,
    pub warnings: Value,
}

/// A verification looked up by id ([`find`]).
pub enum Lookup {
    /// Created by the apikey that asks (or asked for by no apikey).
    Mine(Found),
    /// Created by another apikey: nothing of it is copied.
    Others,
}

/// The verification `id`, if this namespace has it, as `apikey` may see it
/// (with `None`, as anyone may).
pub fn find(ns: &Namespace, id: &str, apikey: Option<&str>) -> Option<Lookup> {
    ns.with_state::<Jobs, _>(STATE, |j| {
        let v = j.verifications.get(id)?;
        if apikey.is_some_and(|k| v.new.apikey != k) {
            return Some(Lookup::Others);
        }
        let found = Found {
            id: v.new.id.clone(),
            kind: v.new.kind,
            status: v.status,
            verification: v.verification.clone(),
            warnings: json!(v.warnings),
        };
        Some(Lookup::Mine(found))
    })
}

/// Every verification with its status and bookkeeping, oldest first.
pub fn list(ns: &Namespace) -> Value {
    ns.with_state::<Jobs, _>(STATE, |j| {
        Value::Array(
            j.verifications
                .values()
                .map(|v| {
                    json!({
                        "verificationId": v.new.id,
                        "verificationType": v.new.kind as u8,
                        "verificationStatus": v.status as u8,
                        "status": v.status.name(),
                        "apikey": v.new.apikey,
                        "scenario": v.new.scenario,
                        "createdAt": v.created.to_mx_rfc3339(),
                        "updatedAt": v.updated.to_mx_rfc3339(),
                        "completedAt": v.completed.map(Timestamp::to_mx_rfc3339),
                        "sourceTries": v.source_tries,
                        "deliveryAttempts": v.attempts,
                        "delivered": v.delivered,
                        "verification": v.verification,
                        "warnings": v.warnings,
                    })
                })
                .collect(),
        )
    })
}

/// Points every verification at the default target the reloaded
/// definitions give for its apikey; one created afterwards from older
/// definitions (a request that began before the reload) takes it too.
pub fn retarget(ns: &Namespace, reload: Retarget) {
    ns.with_state::<Jobs, _>(STATE, |j| {
        for v in j.verifications.values_mut() {
            v.new.default_target = (reload.target)(&v.new.apikey);
        }
        j.reloaded = Some(reload);
    });
}

/// Delivery attempts, oldest first, optionally of one verification.
pub fn deliveries(ns: &Namespace, verification_id: Option<&str>) -> Vec<Delivery> {
    ns.with_state::<Jobs, _>(STATE, |j| {
        j.deliveries
            .iter()
            .filter(|d| verification_id.is_none_or(|id| d.verification_id == id))
            .cloned()
            .collect()
    })
}

/// Webhook targets set through the admin API, by apikey.
pub fn webhooks(ns: &Namespace) -> Vec<(String, Target)> {
    ns.with_state::<Jobs, _>(STATE, |j| {
        j.webhooks
            .iter()
            .map(|(k, t)| (k.clone(), t.clone()))
            .collect()
    })
}

/// The most webhook targets the admin API sets in one namespace.
pub const MAX_WEBHOOKS: usize = 1000;

/// Sets `apikey`'s target; refused when [`MAX_WEBHOOKS`] others are set
/// already, or when this namespace's targets would hold more than
/// [`WEBHOOKS_KEPT_WHATEVER_ELSE`] and every namespace's hold
/// [`MAX_WEBHOOK_BYTES_IN_ALL`] (replacing one by one no larger is always
/// possible).
pub fn set_webhook(
    ns: &Namespace,
    held: &Held,
    apikey: &str,
    target: Target,
) -> Result<(), Refused> {
    ns.with_state::<Jobs, _>(STATE, |j| {
        let replaced = j.webhooks.get(apikey).map(|t| t.size(apikey));
        if replaced.is_none() && j.webhooks.len() >= MAX_WEBHOOKS {
            return Err(Refused::Own);
        }
        let bytes = j.webhook_bytes - replaced.unwrap_or(0) + target.size(apikey);
        let share = j.webhook_share.get_or_insert_with(|| held.webhooks.share());
        if !share.fits(bytes) {
            share.settle(j.webhook_bytes);
            return Err(Refused::InAll);
        }
        share.settle(bytes);
        j.webhook_bytes = bytes;
        j.webhooks.insert(apikey.to_string(), target);
        Ok(())
    })
}

/// Whether there was one to remove.
pub fn remove_webhook(ns: &Namespace, apikey: &str) -> bool {
    ns.with_state::<Jobs, _>(STATE, |j| {
        let Some(gone) = j.webhooks.shift_remove(apikey) else {
            return false;
        };
        j.webhook_bytes -= gone.size(apikey);
        if let Some(share) = j.webhook_share.as_mut() {
            share.settle(j.webhook_bytes);
        }
        // A map down to under half its room frees the rest, which the
        // ledger does not count.
        if j.webhooks.capacity() > 2 * j.webhooks.len().max(8) {
            j.webhooks.shrink_to_fit();
        }
        true
    })
}

/// Why a redelivery could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeliverError {
    Unknown,
    /// The source has not answered yet: nothing to deliver.
    NoResult(Status),
    NoTarget,
    /// A reset or shutdown dropped the attempt.
    Dropped,
}

/// Sends the verification's status object to its webhook again, now, and
/// waits for the answer (bounded by the webhook timeout). Not retried.
pub async fn redeliver(ns: &Arc<Namespace>, id: &str) -> Result<Delivery, RedeliverError> {
    let Began { generation, now } = ns.begin();
    let prepared = with_jobs(ns, generation, |j| {
        let v = j.verifications.get(id).ok_or(RedeliverError::Unknown)?;
        if matches!(v.status, Status::Processing | Status::Retrying) {
            return Err(RedeliverError::NoResult(v.status));
        }
        let (url, apikey) = j.target(v).ok_or(RedeliverError::NoTarget)?;
        let v = j.verifications.get_mut(id).ok_or(RedeliverError::Unknown)?;
        v.redelivered += 1;
        let (timeout, log) = (v.new.settings.webhook_timeout, v.new.log_attempts);
        let (body, attempt) = j
            .begin_attempt(id, now, &url, Trigger::Redeliver)
            .ok_or(RedeliverError::Unknown)?;
        Ok((url, apikey, body, attempt, timeout, log))
    })
    .ok_or(RedeliverError::Unknown)??;
    let (url, apikey, body, attempt, timeout, log) = prepared;
    // On a task of its own: an admin client that leaves before the answer
    // does not leave the attempt `sending`. The namespace's timers abort it
    // at a reset or shutdown, as they do a scheduled attempt.
    let timers = &ns.timers;
    let ns = ns.clone();
    let id = id.to_string();
    let attempt = timers.spawn(async move {
        let sent = post(&ns, &url, &apikey, body, timeout).await;
        let delivery = Delivery {
            outcome: sent.outcome,
            status: sent.status,
            ..attempt
        };
        if log {
            log_attempt(&delivery);
        }
        with_jobs(&ns, generation, |j| {
            j.finish_attempt(delivery.clone());
            if let Some(v) = j.verifications.get_mut(&id) {
                if sent.delivered {
                    v.delivered = true;
                    if v.status == Status::Delivering {
                        v.complete(now);
                    }
                }
            }
        });
        delivery
    });
    match attempt {
        Some(attempt) => attempt.await.map_err(|_| RedeliverError::Dropped),
        None => Err(RedeliverError::Dropped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README, Decisions, async: "per namespace at most 10,000
    /// verifications".
    #[test]
    fn the_store_holds_the_readmes_10000() {
        assert_eq!(MAX_VERIFICATIONS, 10_000);
    }

    #[tokio::test]
    async fn a_panic_in_an_attempt_is_its_failure() {
        assert_eq!(caught(async { 7 }).await, Ok(7));
        let panics = async {
            tokio::task::yield_now().await;
            if true {
                panic!("OS can't spawn worker thread: {}", "EAGAIN");
            }
        };
        assert_eq!(
            caught(panics).await,
            Err("OS can't spawn worker thread: EAGAIN".to_string())
        );
        let fixed = async { std::panic::panic_any(3_u8) };
        assert_eq!(caught(fixed).await, Err("a panic".to_string()));
        let literal = async { std::panic::panic_any("static") };
        assert_eq!(caught(literal).await, Err("static".to_string()));
    }

    #[test]
    fn a_logged_url_has_no_user_info() {
        for (url, shown) in [
            ("http://u:pw@127.0.0.1:9/hook", "http://127.0.0.1:9/hook"),
            ("http://u:p@w@host", "http://host"),
            ("http://host/a@b?c@d#e@f", "http://host/a@b?c@d#e@f"),
            ("http://u@host?q", "http://host?q"),
            ("http://host:8/", "http://host:8/"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(without_user_info(url), shown, "{url}");
        }
    }

    #[test]
    fn user_info_becomes_basic_credentials() {
        let (uri, basic) = split_user_info("http://user:p%40ss@127.0.0.1:80/hook?x=1").unwrap();
        assert_eq!(uri.to_string(), "http://127.0.0.1:80/hook?x=1");
        // base64("user:p@ss")
        assert_eq!(basic.as_deref(), Some("Basic dXNlcjpwQHNz"));
        let (_, basic) = split_user_info("http://token@127.0.0.1:9/").unwrap();
        // base64("token:")
        assert_eq!(basic.as_deref(), Some("Basic dG9rZW46"));
        let (uri, basic) = split_user_info("http://127.0.0.1:9/").unwrap();
        assert_eq!(
            (uri.to_string().as_str(), basic),
            ("http://127.0.0.1:9/", None)
        );
    }

    #[test]
    fn webhook_attempts_in_flight_are_a_quarter_of_the_open_files() {
        assert_eq!(slots_for(1024), 256);
        assert_eq!(slots_for(20), 8, "at least 8");
        assert_eq!(slots_for(1 << 20), 4096, "at most 4,096");
        assert_eq!(slots_for(usize::MAX), 4096);
        // This process's own limit, as the shell reports it.
        let shell = std::process::Command::new("sh")
            .args(["-c", "ulimit -Sn"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        if let Ok(n) = shell {
            let expected = if n == "unlimited" {
                usize::MAX
            } else {
                n.parse().unwrap()
            };
            assert_eq!(open_files_limit(), expected);
        }
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    /// A verification asked for by apikey `k`, answered by `success`.
    fn new_verification(id: &str, kind: Kind) -> NewVerification {
        NewVerification {
            id: id.into(),
            kind,
            apikey: "k".into(),
            scenario: "success".into(),
            outcome: Outcome {
                data: None,
                warnings: Vec::new(),
            },
            source_down_for: 0,
            default_target: None,
            defs_generation: 0,
            settings: Settings::default(),
            log_attempts: false,
        }
    }

    /// Namespaces on a frozen clock: no verification moves by itself.
    fn frozen_namespaces() -> crate::engine::namespace::Namespaces {
        let start = crate::engine::clock::Start {
            at: Some(Timestamp::parse_rfc3339("2024-03-01T10:00:00-06:00").unwrap()),
            scale: 0.0,
        };
        crate::engine::namespace::Namespaces::new(start, 10, "0")
    }

    /// A namespace on a frozen clock.
    fn frozen_namespace() -> Arc<Namespace> {
        frozen_namespaces().get("default").unwrap()
    }

    #[tokio::test]
    async fn the_store_is_bounded_whether_or_not_any_has_completed() {
        let ns = frozen_namespace();
        let now = ns.clock.now();
        let in_all = Arc::default();
        for i in 0..MAX_VERIFICATIONS + 5 {
            create(
                &ns,
                ns.begin().generation,
                now,
                new_verification(&format!("v{i}"), Kind::NssByCurp),
                &in_all,
            );
        }
        let (held, first) = ns.with_state::<Jobs, _>(STATE, |j| {
            let first = j.verifications.keys().next().cloned();
            (j.verifications.len(), first)
        });
        assert_eq!(held, MAX_VERIFICATIONS);
        assert_eq!(first.as_deref(), Some("v5"), "the oldest went first");
        // The evicted ones' steps went with them: on a frozen clock they
        // would never fall due, and be held for ever.
        assert_eq!(ns.timers.pending(), MAX_VERIFICATIONS);
        // Once one has completed, the oldest completed one goes, not the
        // oldest of all.
        ns.with_state::<Jobs, _>(STATE, |j| j.verifications["v9"].complete(now));
        let generation = ns.begin().generation;
        create(
            &ns,
            generation,
            now,
            new_verification("w", Kind::NssByCurp),
            &in_all,
        );
        let (held, gone, kept) = ns.with_state::<Jobs, _>(STATE, |j| {
            let has = |id: &str| j.verifications.contains_key(id);
            (j.verifications.len(), !has("v9"), has("v5"))
        });
        assert_eq!((held, gone, kept), (MAX_VERIFICATIONS, true, true));
        ns.timers.stop();
    }

    /// Past the bound of every namespace together, a namespace holding
    /// [`KEPT_WHATEVER_ELSE`] or more lets its own oldest go, as at its own
    /// bound, and one holding fewer still takes one; a reset gives its
    /// count back. The same for delivery attempts. (The other namespaces'
    /// verifications and attempts are counts set by hand.)
    #[tokio::test]
    async fn every_namespace_together_is_bounded_too() {
        const FLOOR: usize = KEPT_WHATEVER_ELSE;
        let all = frozen_namespaces();
        let (a, b) = (all.get("a").unwrap(), all.get("b").unwrap());
        // a's first FLOOR + 1 bring the others' count to the bound.
        let held = Arc::new(Held::default());
        let mut others = (held.verifications.share(), held.deliveries.share());
        assert!(others.0.fits(MAX_VERIFICATIONS_IN_ALL - FLOOR - 1));
        assert!(others.1.fits(MAX_DELIVERIES_IN_ALL - FLOOR));
        let count = |l: &Arc<Ledger>| l.taken();
        let made = |ns: &Namespace, id: String| {
            let new = new_verification(&id, Kind::NssByCurp);
            create(ns, ns.begin().generation, ns.clock.now(), new, &held);
        };
        let ids = |ns: &Namespace| {
            ns.with_state::<Jobs, _>(STATE, |j| {
                j.verifications.keys().cloned().collect::<Vec<_>>()
            })
        };
        for i in 0..=FLOOR {
            made(&a, format!("a{i}"));
        }
        assert_eq!(count(&held.verifications), MAX_VERIFICATIONS_IN_ALL);
        made(&a, "a-next".into());
        let held_by_a = ids(&a);
        assert_eq!(held_by_a.len(), FLOOR + 1);
        assert_eq!(held_by_a[0], "a1", "its own oldest went");
        assert_eq!(count(&held.verifications), MAX_VERIFICATIONS_IN_ALL);
        // Its step went with it.
        assert_eq!(a.timers.pending(), FLOOR + 1);
        // b, holding fewer than the floor, takes its own whatever the
        // others hold; then makes room too.
        for i in 0..FLOOR {
            made(&b, format!("b{i}"));
        }
        assert_eq!(ids(&b).len(), FLOOR, "kept whatever the others hold");
        let over = MAX_VERIFICATIONS_IN_ALL + FLOOR;
        assert_eq!(count(&held.verifications), over);
        made(&b, "b-next".into());
        assert_eq!((ids(&b).len(), ids(&b)[0].as_str()), (FLOOR, "b1"));
        assert_eq!(count(&held.verifications), over);
        // Delivery attempts alike, one store's.
        let attempts = |ns: &Namespace, made: std::ops::RangeInclusive<u32>| {
            ns.with_state::<Jobs, _>(STATE, |j| {
                for n in made {
                    j.record(sending("a1", n));
                }
                j.deliveries.iter().map(|d| d.attempt).collect::<Vec<_>>()
            })
        };
        let floor = u32::try_from(FLOOR).unwrap();
        assert_eq!(attempts(&a, 1..=floor).len(), FLOOR);
        assert_eq!(count(&held.deliveries), MAX_DELIVERIES_IN_ALL);
        let listed = attempts(&a, floor + 1..=floor + 1);
        assert_eq!((listed.len(), listed[0]), (FLOOR, 2), "then makes room");
        assert_eq!(count(&held.deliveries), MAX_DELIVERIES_IN_ALL);
        a.reset();
        assert_eq!(count(&held.deliveries), MAX_DELIVERIES_IN_ALL - FLOOR);
        assert_eq!(
            count(&held.verifications),
            over - FLOOR - 1,
            "a's given back"
        );
        // Under the bound again, a namespace holding more than the floor
        // takes one without making room.
        made(&b, "b-last".into());
        assert_eq!(ids(&b).len(), FLOOR + 1);
        a.timers.stop();
        b.timers.stop();
    }

    /// The webhook targets the admin API sets take from one ledger too:
    /// past its bound, a namespace past its floor is refused one more (or a
    /// larger one in place of one), and what goes is given back.
    #[tokio::test]
    async fn webhook_targets_are_bounded_in_all_namespaces() {
        let all = frozen_namespaces();
        let (a, b) = (all.get("a").unwrap(), all.get("b").unwrap());
        let held = Held::default();
        let target = |len: usize| Target {
            url: format!("http://h/{}", "u".repeat(len)),
            apikey: None,
        };
        let big = target(4_000);
        let one = big.size("k0");
        let mut others = held.webhooks.share();
        assert!(others.fits(MAX_WEBHOOK_BYTES_IN_ALL - 2 * one - WEBHOOKS_KEPT_WHATEVER_ELSE));
        let set = |ns: &Namespace, n: usize, t: &Target| {
            set_webhook(ns, &held, &format!("k{n}"), t.clone())
        };
        let mut n = 0;
        while set(&a, n, &big).is_ok() {
            n += 1;
        }
        assert!(n * one > WEBHOOKS_KEPT_WHATEVER_ELSE, "past its floor");
        assert_eq!(set(&a, n, &big), Err(Refused::InAll));
        assert_eq!(webhooks(&a).len(), n, "nothing went");
        // Replacing one by a larger one is refused alike; by a smaller one
        // never.
        assert_eq!(set(&a, 0, &target(8_000)), Err(Refused::InAll));
        assert_eq!(set(&a, 0, &target(10)), Ok(()));
        // b keeps its floor whatever a holds.
        let mut m = 0;
        while set(&b, m, &big).is_ok() {
            m += 1;
        }
        assert_eq!(m, WEBHOOKS_KEPT_WHATEVER_ELSE / one);
        let before = held.webhooks.taken();
        for k in ["k1", "k2", "k3"] {
            assert!(remove_webhook(&a, k));
        }
        assert!(held.webhooks.taken() + 2 * one < before, "given back");
        // b's floor is taken whatever the bound: others must go for b to
        // have room past it.
        assert_eq!(set(&b, m, &big), Err(Refused::InAll));
        drop(others);
        assert_eq!(set(&b, m, &big), Ok(()), "room once the others went");
        a.reset();
        b.reset();
        assert_eq!(held.webhooks.taken(), 0);
        // Its own bound is said apart, first when both would refuse.
        for k in 0..MAX_WEBHOOKS {
            set(&a, k, &target(10)).unwrap();
        }
        let mut rest = held.webhooks.share();
        assert!(rest.fits(MAX_WEBHOOK_BYTES_IN_ALL - held.webhooks.taken()));
        // (One past the room a share keeps beyond what it holds, 8 KB.)
        let past_its_room = target(10_000);
        assert_eq!(set(&a, MAX_WEBHOOKS, &past_its_room), Err(Refused::Own));
        assert_eq!(set(&a, 0, &past_its_room), Err(Refused::InAll));
        drop(rest);
        assert_eq!(
            set(&a, 0, &target(20)),
            Ok(()),
            "replacing one is not one more"
        );
        // Removed, they leave the map no room the ledger does not count.
        for k in 0..MAX_WEBHOOKS {
            assert!(remove_webhook(&a, &format!("k{k}")));
        }
        let room = a.with_state::<Jobs, _>(STATE, |j| j.webhooks.capacity());
        assert!(room <= 16, "{room}");
        assert_eq!(held.webhooks.taken(), 0);
    }

    /// Random creations, attempts started and finished out of order, and
    /// resets, in three namespaces near both bounds: after every step the
    /// shared counts are what the stores hold (and the count set by hand
    /// for the others), and every store is within its bounds.
    #[tokio::test]
    async fn the_shared_counts_are_what_the_stores_hold() {
        use rand::{Rng, SeedableRng};
        let all = frozen_namespaces();
        let spaces = ["a", "b", "c"].map(|n| all.get(n).unwrap());
        let others = (MAX_VERIFICATIONS_IN_ALL - 20, MAX_DELIVERIES_IN_ALL - 20);
        let held = Arc::new(Held::default());
        let mut shares = (held.verifications.share(), held.deliveries.share());
        assert!(shares.0.fits(others.0) && shares.1.fits(others.1));
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut started: Vec<(usize, Delivery)> = Vec::new();
        let mut most = (0, 0);
        for step in 0..3_000 {
            let n = rng.random_range(0..spaces.len());
            let ns = &spaces[n];
            match rng.random_range(0..1000) {
                0..550 => {
                    let new = new_verification(&format!("v{step}"), Kind::NssByCurp);
                    create(ns, ns.begin().generation, ns.clock.now(), new, &held);
                }
                // An attempt is of a verification the namespace holds.
                550..850 => {
                    let d = ns.with_state::<Jobs, _>(STATE, |j| {
                        let held = j.verifications.len();
                        let (id, _) = j
                            .verifications
                            .get_index(rng.random_range(0..held.max(1)))?;
                        let d = sending(id, step);
                        j.start_attempt(&d);
                        Some(d)
                    });
                    started.extend(d.map(|d| (n, d)));
                }
                850..998 if !started.is_empty() => {
                    let (n, d) = started.swap_remove(rng.random_range(0..started.len()));
                    spaces[n].with_state::<Jobs, _>(STATE, |j| j.finish_attempt(d));
                }
                // Attempts in flight across a reset store nothing after it
                // (their generation is gone).
                _ => {
                    ns.reset();
                    started.retain(|(m, _)| *m != n);
                }
            }
            let (mut v, mut d) = others;
            for ns in &spaces {
                ns.with_state::<Jobs, _>(STATE, |j| {
                    assert!(j.verifications.len() <= MAX_VERIFICATIONS);
                    assert!(j.deliveries.len() <= MAX_DELIVERIES);
                    v += j.verifications.len();
                    d += j.deliveries.len();
                });
            }
            let counted = (held.verifications.taken(), held.deliveries.taken());
            assert_eq!(counted, (v, d), "step {step}");
            assert!(v <= MAX_VERIFICATIONS_IN_ALL + spaces.len() * KEPT_WHATEVER_ELSE);
            assert!(d <= MAX_DELIVERIES_IN_ALL + spaces.len() * KEPT_WHATEVER_ELSE);
            most = (most.0.max(v), most.1.max(d));
        }
        // Both bounds were reached, and made room.
        assert!(most.0 >= MAX_VERIFICATIONS_IN_ALL && most.1 >= MAX_DELIVERIES_IN_ALL);
        for ns in &spaces {
            ns.reset();
            ns.timers.stop();
        }
        let counted = (held.verifications.taken(), held.deliveries.taken());
        assert_eq!(counted, others, "every store gave its counts back");
    }

    /// Attempt `attempt` of verification `id`, as it starts.
    fn sending(id: &str, attempt: u32) -> Delivery {
        Delivery {
            verification_id: id.into(),
            attempt,
            time: String::new(),
            url: String::new(),
            outcome: SENDING.into(),
            status: None,
            trigger: Trigger::Schedule,
        }
    }

    /// A verification created after a reload was seen here, by a request
    /// that began on the definitions before it, is sent where the reloaded
    /// ones say; one made from definitions newer than the last reload seen
    /// here (its retarget not yet run on this namespace) keeps its own.
    #[tokio::test]
    async fn a_verification_from_older_definitions_takes_the_reloads_target() {
        let ns = frozen_namespace();
        let target: TargetFn = Arc::new(|key: &str| Some(format!("http://reloaded/{key}")));
        retarget(
            &ns,
            Retarget {
                generation: 2,
                target,
            },
        );
        for (id, defs_generation, own) in [("older", 1, None), ("newer", 3, Some("http://newer/"))]
        {
            let mut new = new_verification(id, Kind::NssByCurp);
            new.defs_generation = defs_generation;
            new.default_target = own.map(String::from);
            create(
                &ns,
                ns.begin().generation,
                ns.clock.now(),
                new,
                &Arc::default(),
            );
        }
        let url = |id: &str| {
            ns.with_state::<Jobs, _>(STATE, |j| {
                j.target(&j.verifications[id]).map(|(url, _)| url)
            })
        };
        assert_eq!(url("older").as_deref(), Some("http://reloaded/k"));
        assert_eq!(url("newer").as_deref(), Some("http://newer/"));
        ns.timers.stop();
    }

    #[test]
    fn the_deliveries_list_keeps_the_newest_attempts() {
        let mut j = Jobs::default();
        let last = u32::try_from(MAX_DELIVERIES).unwrap() + 1;
        for attempt in 1..=last {
            let d = sending("v", attempt);
            j.start_attempt(&d);
            j.finish_attempt(Delivery {
                outcome: "delivered".into(),
                ..d
            });
        }
        assert_eq!(j.deliveries.len(), MAX_DELIVERIES);
        let attempts = |d: &Delivery| (d.attempt, d.outcome.clone());
        assert_eq!(attempts(&j.deliveries[0]), (2, "delivered".into()));
        assert_eq!(
            attempts(&j.deliveries[MAX_DELIVERIES - 1]),
            (last, "delivered".into())
        );
    }

    /// An attempt whose target is slow to answer while the bound drops its
    /// `sending` entry (as many later attempts started meanwhile) is listed
    /// again, at the end, when it ends: no attempt goes unlisted, and the
    /// list stays bounded.
    #[test]
    fn an_attempt_whose_entry_was_dropped_is_listed_again_when_it_ends() {
        let mut j = Jobs::default();
        let slow = sending("slow", 1);
        j.start_attempt(&slow);
        for n in 0..MAX_DELIVERIES {
            j.start_attempt(&sending(&format!("v{n}"), 1));
        }
        assert!(j.deliveries.iter().all(|e| e.verification_id != "slow"));
        j.finish_attempt(Delivery {
            outcome: "delivered".into(),
            ..slow
        });
        assert_eq!(j.deliveries.len(), MAX_DELIVERIES);
        let back = j.deliveries.back().unwrap();
        assert_eq!(
            (back.verification_id.as_str(), back.outcome.as_str()),
            ("slow", "delivered")
        );
        assert_eq!(j.deliveries[0].verification_id, "v1");
    }

    #[test]
    fn settings_default_to_the_documented_policy() {
        let s = Settings::from_map(&Map::new()).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.processing_delay, Duration::from_secs(2));
        assert_eq!(
            s.source_retries,
            [Duration::from_secs(1200), Duration::from_secs(2400)]
        );
        assert_eq!(s.webhook_attempts, 5);
        assert_eq!(s.webhook_retry_interval, Duration::from_secs(900));
        assert_eq!(s.webhook_timeout, Duration::from_secs(10));
    }

    #[test]
    fn settings_are_read_and_bad_ones_named() {
        let s = Settings::from_map(&map(json!({
            "processing_delay": "0",
            "source_retries": ["1m"],
            "webhook_attempts": 2,
            "webhook_retry_interval": "30s",
            "webhook_timeout": "250ms",
            "nss_per_curp_per_day": 2,
        })))
        .unwrap();
        assert_eq!(s.processing_delay, Duration::ZERO);
        assert_eq!(s.source_retries, [Duration::from_secs(60)]);
        assert_eq!(s.webhook_attempts, 2);
        assert_eq!(s.webhook_timeout, Duration::from_millis(250));
        for (bad, key) in [
            (json!({"processing_delay": 2}), "settings.processing_delay"),
            (json!({"source_retries": "20m"}), "settings.source_retries"),
            (
                json!({"source_retries": ["soon"]}),
                "settings.source_retries",
            ),
            (
                json!({"source_retries": ["40m", "20m"]}),
                "settings.source_retries: each retry is later than the try before (they count from the first try, as in [20m, 40m]): 20m comes after 40m",
            ),
            (
                json!({"source_retries": ["20m", "20m"]}),
                "settings.source_retries: each retry is later",
            ),
            (
                json!({"source_retries": [0, "20m"]}),
                "settings.source_retries: each retry is later than the try before (they count from the first try, as in [20m, 40m]): 0 comes after the first try",
            ),
            (json!({"webhook_attempts": 0}), "settings.webhook_attempts"),
            (
                json!({"webhook_timeout": "10 s"}),
                "settings.webhook_timeout",
            ),
        ] {
            let err = Settings::from_map(&map(bad)).unwrap_err().to_string();
            assert!(err.starts_with(key), "{err}");
        }
    }

    #[test]
    fn the_status_object_has_the_documented_keys_in_order() {
        let v = Verification {
            new: new_verification("id", Kind::RfcByCurp),
            created: Timestamp::from_micros(0),
            updated: Timestamp::from_micros(0),
            completed: None,
            status: Status::Delivering,
            verification: Some("{\"rfc\":\"X\"}".into()),
            warnings: vec![Warning {
                code: "C".into(),
                message: "m".into(),
            }],
            first_asked: None,
            source_tries: 1,
            attempts: 0,
            redelivered: 0,
            delivered: false,
            pending: None,
        };
        assert_eq!(
            serde_json::to_string(&v.status_object()).unwrap(),
            r#"{"verificationId":"id","verificationType":2,"verificationStatus":3,"verification":"{\"rfc\":\"X\"}","warnings":[{"code":"C","message":"m"}]}"#
        );
    }
}
