//! `$schedule` in `server.js`: what a schedule may hold, the platform's rules and limits, the
//! answers and refusals in the platform's shape, and the timer that fires `onScheduledEvent`
//! when a schedule is due. The rows live in the store (`store/schedules.rs`), so schedules
//! survive a restart of fdk-emu, as they survive a deploy on the platform.
//!
//! The rules (developer docs, "Scheduled events", platform 2.3 and 3.0):
//! * `name` identifies the schedule (unique per app install); `data` is an object passed to
//!   `onScheduledEvent` as `payload.data`; `schedule_at` is an ISO 8601 date-time in UTC, at
//!   least [`MIN_DELAY`] from now; `repeat: {time_unit, frequency}` makes it recurring, with
//!   `time_unit` one of `minutes`, `hours`, `days` and, in minutes, a frequency of at least
//!   [`MIN_MINUTES`].
//! * an app has at most [`MAX_RECURRING`] recurring schedule (FDK 6.9's
//!   `features/schedule.js` refuses a second one, as the platform does).
//!
//! One deliberate difference, for testing: a `schedule_at` sooner than [`MIN_DELAY`] (but not
//! in the past) is accepted and fires on time, with a warning on the terminal that production
//! refuses it. Waiting five minutes for a test to see its handler run is what makes FDK's
//! schedules hard to test.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use super::callbacks::Reply;
use super::events::{Events, Fired, SCHEDULED, Source};
use super::terminal;
use crate::store::{
    Repeat, RepeatUnit, ScheduleLimits, ScheduleRecord, ScheduleRefusal, ScheduleWrite, Store,
};

/// The platform's minimum time between now and a schedule's `schedule_at`.
pub const MIN_DELAY: Duration = Duration::from_secs(5 * 60);
/// The smallest `frequency` of a recurring schedule in minutes.
pub const MIN_MINUTES: u32 = 5;
/// Recurring schedules an app may have.
pub const MAX_RECURRING: usize = 1;
/// One-time schedules an app may have at once (a guard against a runaway loop; the docs name
/// no figure, see the README).
pub const MAX_ONE_TIME: usize = 1000;
/// The largest `data` object, as JSON text (the docs: "data ... should not exceed 4 KB").
pub const MAX_DATA: usize = 4096;

const LIMITS: ScheduleLimits = ScheduleLimits {
    one_time: MAX_ONE_TIME,
    recurring: MAX_RECURRING,
};

/// The schedules of one app: the store's rows and a bell that wakes the timer when they
/// change.
pub struct Schedules {
    store: Store,
    changed: Arc<Notify>,
}

impl Schedules {
    pub fn new(store: Store) -> Schedules {
        Schedules {
            store,
            changed: Arc::new(Notify::new()),
        }
    }

    /// Rung when a schedule is written (the timer looks again).
    pub fn changed(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves `$schedule[action](options)`.
    pub async fn handle(&self, handler: &str, args: &Value) -> Reply {
        let action = args.get("action").and_then(Value::as_str).unwrap_or("");
        let options = args.get("options").cloned().unwrap_or(Value::Null);
        let now = crate::store::now_ms();
        let result = match action {
            "create" => {
                self.write(handler, &options, now, ScheduleWrite::Create)
                    .await
            }
            "update" => {
                self.write(handler, &options, now, ScheduleWrite::Replace)
                    .await
            }
            "fetch" => self.fetch(&options).await,
            "delete" => self.delete(&options).await,
            "pause" => self.pause(&options, true, now).await,
            "resume" => self.pause(&options, false, now).await,
            other => Err(refusal(
                400,
                format!(
                    "$schedule.{other} is not a method of $schedule (create, fetch, update, delete, pause, resume)"
                ),
            )),
        };
        result.unwrap_or_else(|r| r)
    }

    async fn write(
        &self,
        handler: &str,
        options: &Value,
        now: i64,
        how: ScheduleWrite,
    ) -> Result<Reply, Reply> {
        let verb = match how {
            ScheduleWrite::Create => "create",
            ScheduleWrite::Replace => "update",
        };
        let asked = parse(options, verb, now)?;
        if asked.schedule_at < now + MIN_DELAY.as_millis() as i64 {
            terminal::lines(
                &format!("[{}]", terminal::escape(handler)),
                &format!(
                    "warning: $schedule.{verb}('{}') is due in {} s; production refuses a schedule_at sooner than 5 minutes from now. fdk-emu accepts it for testing.",
                    terminal::escape(&asked.name),
                    (asked.schedule_at - now).max(0) / 1000
                ),
            );
        }
        let existing = self
            .store
            .schedule_get(&asked.name)
            .await
            .map_err(store_err)?;
        let record = ScheduleRecord {
            name: asked.name.clone(),
            data: asked.data,
            schedule_at: asked.schedule_at,
            repeat: asked.repeat,
            paused: existing.as_ref().is_some_and(|e| e.paused),
            next_at: Some(asked.schedule_at),
            created_at: existing.as_ref().map_or(now, |e| e.created_at),
            updated_at: now,
            last_fired_at: existing.as_ref().and_then(|e| e.last_fired_at),
            fired: existing.as_ref().map_or(0, |e| e.fired),
        };
        let record = ScheduleRecord {
            next_at: (!record.paused).then_some(record.schedule_at),
            ..record
        };
        match self
            .store
            .schedule_write(record, how, LIMITS)
            .await
            .map_err(store_err)?
        {
            Ok(()) => {
                self.changed.notify_one();
                Ok(Reply {
                    ok: true,
                    value: json!({
                        "status": 200,
                        "message": format!("Schedule {}d successfully", verb),
                    }),
                })
            }
            Err(ScheduleRefusal::Exists) => Err(refusal(
                400,
                format!(
                    "A schedule named '{}' already exists: use $schedule.update to change it, or another name",
                    asked.name
                ),
            )),
            Err(ScheduleRefusal::Missing) => Err(not_found(&asked.name)),
            Err(ScheduleRefusal::TooManyRecurring { limit, existing }) => Err(refusal(
                400,
                format!(
                    "Recurring schedule limit reached: an app can have {limit} recurring schedule (it has {}); delete it or make this one a one-time schedule (no repeat)",
                    existing.join(", ")
                ),
            )),
            Err(ScheduleRefusal::TooManyOneTime { limit }) => Err(refusal(
                400,
                format!(
                    "One-time schedule limit reached: an app can have {limit} pending one-time schedules"
                ),
            )),
        }
    }

    async fn fetch(&self, options: &Value) -> Result<Reply, Reply> {
        let name = name_of(options, "fetch")?;
        match self.store.schedule_get(&name).await.map_err(store_err)? {
            Some(r) => Ok(Reply {
                ok: true,
                value: describe(&r),
            }),
            None => Err(not_found(&name)),
        }
    }

    async fn delete(&self, options: &Value) -> Result<Reply, Reply> {
        let name = name_of(options, "delete")?;
        if self.store.schedule_delete(&name).await.map_err(store_err)? {
            self.changed.notify_one();
            Ok(Reply {
                ok: true,
                value: json!({"status": 200, "message": "Schedule deleted successfully"}),
            })
        } else {
            Err(not_found(&name))
        }
    }

    async fn pause(&self, options: &Value, paused: bool, now: i64) -> Result<Reply, Reply> {
        let verb = if paused { "pause" } else { "resume" };
        let name = name_of(options, verb)?;
        let Some(mut r) = self.store.schedule_get(&name).await.map_err(store_err)? else {
            return Err(not_found(&name));
        };
        r.paused = paused;
        r.next_at = if paused {
            None
        } else {
            Some(next_after(&r, now))
        };
        r.updated_at = now;
        match self
            .store
            .schedule_write(r, ScheduleWrite::Replace, LIMITS)
            .await
            .map_err(store_err)?
        {
            Ok(()) => {
                self.changed.notify_one();
                Ok(Reply {
                    ok: true,
                    value: json!({"status": 200, "message": format!("Schedule {verb}d successfully")}),
                })
            }
            Err(_) => Err(not_found(&name)),
        }
    }
}

/// Fires `onScheduledEvent` for every due schedule while fdk-emu runs. Sleeps until the next
/// schedule is due, or until a schedule is written ([`Schedules::changed`]); a minute at
/// most, so a clock that jumps is caught up with. Schedules due while fdk-emu was stopped
/// fire when it starts again (the store kept them).
pub async fn run_timer(schedules: Arc<Schedules>, events: Arc<Events>) {
    let changed = schedules.changed();
    loop {
        let now = crate::store::now_ms();
        match schedules.store.schedule_claim_due(now, next_fire).await {
            Ok(due) => {
                for r in due {
                    let events = events.clone();
                    tokio::spawn(async move { fire_record(&events, &r).await });
                }
            }
            Err(e) => terminal::note(&format!("schedules: the store failed: {e}")),
        }
        let next = schedules.store.schedule_next_due().await.ok().flatten();
        let wait = next
            .map(|t| (t - crate::store::now_ms()).clamp(0, 60_000))
            .unwrap_or(60_000);
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            () = changed.notified() => {}
        }
    }
}

/// Fires `onScheduledEvent` with the schedule's data.
pub async fn fire_record(events: &Events, r: &ScheduleRecord) -> Fired {
    let data = serde_json::from_str::<Value>(&r.data).unwrap_or_else(|_| json!({}));
    events
        .fire(SCHEDULED, Some(json!({"data": data})), Source::Schedule)
        .await
}

impl Schedules {
    /// Fires a schedule now (the page's "fire now"): a one-time schedule is used up, a
    /// recurring one keeps its rhythm. `None` when there is no such schedule.
    pub async fn fire_now(&self, events: &Events, name: &str) -> Result<Option<Fired>, String> {
        let Some(r) = self
            .store
            .schedule_get(name)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        if r.repeat.is_none() {
            self.store
                .schedule_delete(name)
                .await
                .map_err(|e| e.to_string())?;
            self.changed.notify_one();
        }
        Ok(Some(fire_record(events, &r).await))
    }

    /// Every schedule, as the simulator page lists them.
    pub async fn list(&self) -> Result<Vec<Value>, String> {
        Ok(self
            .store
            .schedule_list()
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .map(describe_for_page)
            .collect())
    }
}

/// When a resumed schedule fires: its `schedule_at` if still ahead, else the next period of
/// a recurring one after now, else now (a one-time schedule whose time passed while paused).
fn next_after(r: &ScheduleRecord, now: i64) -> i64 {
    if r.schedule_at > now {
        return r.schedule_at;
    }
    match r.repeat {
        Some(p) => {
            let period = p.millis().max(1);
            r.schedule_at + ((now - r.schedule_at) / period + 1) * period
        }
        None => now,
    }
}

/// The next time of a recurring schedule claimed at `now` (see `Store::schedule_claim_due`).
pub fn next_fire(r: &ScheduleRecord, now: i64) -> Option<i64> {
    r.repeat.map(|_| next_after(r, now))
}

/// A schedule as `$schedule.fetch` resolves with it, and as the simulator page lists it.
pub fn describe(r: &ScheduleRecord) -> Value {
    let mut v = json!({
        "name": r.name,
        "data": serde_json::from_str::<Value>(&r.data).unwrap_or(Value::Null),
        "schedule_at": iso(r.schedule_at),
        "paused": r.paused,
    });
    if let Some(p) = r.repeat {
        v["repeat"] = json!({"time_unit": p.unit.as_str(), "frequency": p.frequency});
    }
    v
}

/// Extra fields the simulator shows (not part of the platform's answer).
pub fn describe_for_page(r: &ScheduleRecord) -> Value {
    let mut v = describe(r);
    v["next_at"] = r.next_at.map_or(Value::Null, |t| Value::String(iso(t)));
    v["fired"] = json!(r.fired);
    v["last_fired_at"] = r
        .last_fired_at
        .map_or(Value::Null, |t| Value::String(iso(t)));
    v
}

/// Unix milliseconds as RFC 3339 in UTC.
pub fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

struct Asked {
    name: String,
    data: String,
    schedule_at: i64,
    repeat: Option<Repeat>,
}

fn parse(options: &Value, verb: &str, now: i64) -> Result<Asked, Reply> {
    let Some(o) = options.as_object() else {
        return Err(refusal(
            400,
            format!(
                "$schedule.{verb}(options): options must be an object {{name, data, schedule_at[, repeat]}}"
            ),
        ));
    };
    let name = name_of(options, verb)?;
    let data = match o.get("data") {
        Some(Value::Object(m)) => serde_json::to_string(m).unwrap_or_else(|_| "{}".into()),
        None => "{}".into(),
        Some(_) => {
            return Err(refusal(
                400,
                format!(
                    "$schedule.{verb}('{name}'): data must be an object (it becomes payload.data of onScheduledEvent)"
                ),
            ));
        }
    };
    if data.len() > MAX_DATA {
        return Err(refusal(
            400,
            format!(
                "$schedule.{verb}('{name}'): data is {} bytes as JSON; the platform's limit is {MAX_DATA}",
                data.len()
            ),
        ));
    }
    let at_text = o.get("schedule_at").and_then(Value::as_str).ok_or_else(|| {
        refusal(
            400,
            format!("$schedule.{verb}('{name}'): schedule_at is required, an ISO 8601 date-time in UTC such as \"2026-01-01T10:00:00.000Z\""),
        )
    })?;
    let at = time::OffsetDateTime::parse(at_text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| {
            refusal(
                400,
                format!("$schedule.{verb}('{name}'): schedule_at \"{at_text}\" is not an ISO 8601 date-time with a time zone ({e}); write e.g. new Date(Date.now() + 10 * 60000).toISOString()"),
            )
        })?;
    let schedule_at = (at.unix_timestamp_nanos() / 1_000_000) as i64;
    if schedule_at < now - 1000 {
        return Err(refusal(
            400,
            format!(
                "$schedule.{verb}('{name}'): schedule_at {at_text} is in the past; it must be in the future"
            ),
        ));
    }
    let repeat = match o.get("repeat") {
        None | Some(Value::Null) => None,
        Some(Value::Object(r)) => Some(parse_repeat(r, verb, &name)?),
        Some(_) => {
            return Err(refusal(
                400,
                format!(
                    "$schedule.{verb}('{name}'): repeat must be an object {{time_unit, frequency}}"
                ),
            ));
        }
    };
    Ok(Asked {
        name,
        data,
        schedule_at,
        repeat,
    })
}

fn parse_repeat(r: &Map<String, Value>, verb: &str, name: &str) -> Result<Repeat, Reply> {
    let unit = r
        .get("time_unit")
        .and_then(Value::as_str)
        .and_then(RepeatUnit::parse)
        .ok_or_else(|| {
            refusal(
                400,
                format!("$schedule.{verb}('{name}'): repeat.time_unit must be \"minutes\", \"hours\" or \"days\""),
            )
        })?;
    let frequency = r
        .get("frequency")
        .and_then(Value::as_u64)
        .filter(|f| *f >= 1)
        .and_then(|f| u32::try_from(f).ok())
        .ok_or_else(|| {
            refusal(
                400,
                format!("$schedule.{verb}('{name}'): repeat.frequency must be a whole number of {} of at least 1", unit.as_str()),
            )
        })?;
    if unit == RepeatUnit::Minutes && frequency < MIN_MINUTES {
        return Err(refusal(
            400,
            format!(
                "$schedule.{verb}('{name}'): a recurring schedule repeats every {MIN_MINUTES} minutes at the most often (repeat.frequency is {frequency})"
            ),
        ));
    }
    Ok(Repeat { unit, frequency })
}

fn name_of(options: &Value, verb: &str) -> Result<String, Reply> {
    options
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            refusal(
                400,
                format!(
                    "$schedule.{verb}(options): options.name is required, the name of the schedule"
                ),
            )
        })
}

fn refusal(status: u16, message: String) -> Reply {
    Reply {
        ok: false,
        value: json!({"status": status, "message": message, "errorSource": "APP"}),
    }
}

fn not_found(name: &str) -> Reply {
    refusal(404, format!("Schedule '{name}' does not exist"))
}

fn store_err(e: crate::store::StoreError) -> Reply {
    Reply {
        ok: false,
        value: json!({"status": 500, "message": format!("fdk-emu's store failed: {e}"), "errorSource": "PLATFORM"}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Schedules) {
        let dir = tempfile::tempdir().expect("tmp");
        let s = Store::open_with_key(&dir.path().join("s.sqlite"), [7; 32]).expect("open");
        (dir, Schedules::new(s))
    }

    fn at(ms_from_now: i64) -> String {
        iso(crate::store::now_ms() + ms_from_now)
    }

    #[tokio::test]
    async fn create_fetch_update_delete_with_the_platforms_rules() {
        let (_d, s) = store();
        let create = |o: Value| json!({"action": "create", "options": o});
        let r = s
            .handle(
                "h",
                &create(json!({"name": "a", "data": {"x": 1}, "schedule_at": at(600_000)})),
            )
            .await;
        assert!(r.ok, "{:?}", r.value);
        let again = s
            .handle(
                "h",
                &create(json!({"name": "a", "data": {}, "schedule_at": at(600_000)})),
            )
            .await;
        assert!(!again.ok);
        assert_eq!(again.value["status"], 400);
        let fetched = s
            .handle("h", &json!({"action": "fetch", "options": {"name": "a"}}))
            .await;
        assert_eq!(fetched.value["data"], json!({"x": 1}));
        // Recurring: minutes below 5 refused; one recurring schedule at most.
        let fast = s
            .handle(
                "h",
                &create(json!({"name": "r", "schedule_at": at(600_000), "repeat": {"time_unit": "minutes", "frequency": 1}})),
            )
            .await;
        assert!(
            fast.value["message"]
                .as_str()
                .unwrap_or("")
                .contains("5 minutes"),
            "{:?}",
            fast.value
        );
        let every = json!({"time_unit": "hours", "frequency": 1});
        assert!(
            s.handle(
                "h",
                &create(json!({"name": "r", "schedule_at": at(600_000), "repeat": every}))
            )
            .await
            .ok
        );
        let second = s
            .handle(
                "h",
                &create(json!({"name": "r2", "schedule_at": at(600_000), "repeat": every})),
            )
            .await;
        assert!(
            second.value["message"]
                .as_str()
                .unwrap_or("")
                .contains("limit"),
            "{:?}",
            second.value
        );
        // Bad dates and past dates.
        let bad = s
            .handle(
                "h",
                &create(json!({"name": "b", "schedule_at": "tomorrow"})),
            )
            .await;
        assert!(!bad.ok);
        let past = s
            .handle(
                "h",
                &create(json!({"name": "b", "schedule_at": at(-60_000)})),
            )
            .await;
        assert!(
            past.value["message"]
                .as_str()
                .unwrap_or("")
                .contains("past")
        );
        // Sooner than the platform's minimum: accepted locally.
        assert!(
            s.handle(
                "h",
                &create(json!({"name": "soon", "schedule_at": at(2_000)}))
            )
            .await
            .ok
        );
        let missing = s
            .handle(
                "h",
                &json!({"action": "update", "options": {"name": "zz", "schedule_at": at(600_000)}}),
            )
            .await;
        assert_eq!(missing.value["status"], 404);
        assert!(
            s.handle("h", &json!({"action": "delete", "options": {"name": "a"}}))
                .await
                .ok
        );
        let gone = s
            .handle("h", &json!({"action": "fetch", "options": {"name": "a"}}))
            .await;
        assert_eq!(gone.value["status"], 404);
    }

    #[test]
    fn a_resumed_recurring_schedule_keeps_its_rhythm() {
        let r = ScheduleRecord {
            name: "r".into(),
            data: "{}".into(),
            schedule_at: 1_000,
            repeat: Some(Repeat {
                unit: RepeatUnit::Minutes,
                frequency: 5,
            }),
            paused: false,
            next_at: None,
            created_at: 0,
            updated_at: 0,
            last_fired_at: None,
            fired: 0,
        };
        assert_eq!(next_after(&r, 500), 1_000);
        assert_eq!(next_after(&r, 1_000 + 300_000 + 1), 1_000 + 600_000);
    }
}
