//! The rows of `$schedule`: one per schedule, by name, with the data it passes to
//! `onScheduledEvent`, when it was asked for and when it fires next.
//!
//! What a schedule may hold and the platform's limits are the business of
//! [`crate::serverless::schedule`]; this file reads and writes rows, each change in one
//! transaction on the store thread. The limits that count rows (how many one-time and
//! recurring schedules an app may have) are checked in the same transaction as the write, so
//! two handlers creating schedules at once cannot both slip under a limit.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Store, StoreError};

/// The unit of a recurring schedule's period, as `repeat.time_unit` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RepeatUnit {
    Minutes,
    Hours,
    Days,
}

impl RepeatUnit {
    pub const ALL: [RepeatUnit; 3] = [RepeatUnit::Minutes, RepeatUnit::Hours, RepeatUnit::Days];

    pub fn as_str(self) -> &'static str {
        match self {
            RepeatUnit::Minutes => "minutes",
            RepeatUnit::Hours => "hours",
            RepeatUnit::Days => "days",
        }
    }

    pub fn parse(s: &str) -> Option<RepeatUnit> {
        RepeatUnit::ALL.into_iter().find(|u| u.as_str() == s)
    }

    /// The unit in milliseconds.
    pub fn millis(self) -> i64 {
        match self {
            RepeatUnit::Minutes => 60_000,
            RepeatUnit::Hours => 3_600_000,
            RepeatUnit::Days => 86_400_000,
        }
    }
}

/// `repeat` of a recurring schedule: every `frequency` `unit`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Repeat {
    pub unit: RepeatUnit,
    pub frequency: u32,
}

impl Repeat {
    /// The period in milliseconds.
    pub fn millis(self) -> i64 {
        self.unit.millis() * i64::from(self.frequency)
    }
}

/// A stored schedule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScheduleRecord {
    pub name: String,
    /// The JSON text of the object passed to `onScheduledEvent` as `data`.
    pub data: String,
    /// When the app asked it to fire (first), Unix milliseconds.
    pub schedule_at: i64,
    /// `None` for a one-time schedule.
    pub repeat: Option<Repeat>,
    pub paused: bool,
    /// When the timer fires it next, Unix milliseconds; `None` while paused.
    pub next_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_fired_at: Option<i64>,
    /// How often it has fired.
    pub fired: i64,
}

/// The limits of the number of schedules, checked when one is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleLimits {
    pub one_time: usize,
    pub recurring: usize,
}

/// Why a write was refused, with what the message needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleRefusal {
    /// `create` of a name that exists.
    Exists,
    /// `update` (or pause, resume) of a name that does not exist.
    Missing,
    /// The app already has `limit` one-time schedules.
    TooManyOneTime { limit: usize },
    /// The app already has `limit` recurring schedules; `existing` names them.
    TooManyRecurring { limit: usize, existing: Vec<String> },
}

/// Whether a write creates a schedule or replaces one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleWrite {
    Create,
    Replace,
}

const COLUMNS: &str = "name, data, schedule_at, repeat_unit, repeat_frequency, paused, next_at, \
                       created_at, updated_at, last_fired_at, fired";

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<ScheduleRecord> {
    let unit: Option<String> = r.get(3)?;
    let frequency: Option<i64> = r.get(4)?;
    let repeat = match (unit.as_deref().and_then(RepeatUnit::parse), frequency) {
        (Some(unit), Some(f)) => Some(Repeat {
            unit,
            frequency: u32::try_from(f).unwrap_or(u32::MAX),
        }),
        _ => None,
    };
    Ok(ScheduleRecord {
        name: r.get(0)?,
        data: r.get(1)?,
        schedule_at: r.get(2)?,
        repeat,
        paused: r.get::<_, i64>(5)? != 0,
        next_at: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        last_fired_at: r.get(9)?,
        fired: r.get(10)?,
    })
}

fn get(conn: &rusqlite::Connection, name: &str) -> rusqlite::Result<Option<ScheduleRecord>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM schedules WHERE name = ?1"))?
        .query_row(params![name], record)
        .optional()
}

fn put(tx: &Transaction<'_>, r: &ScheduleRecord) -> rusqlite::Result<()> {
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO schedules ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?
    .execute(params![
        r.name,
        r.data,
        r.schedule_at,
        r.repeat.map(|p| p.unit.as_str()),
        r.repeat.map(|p| i64::from(p.frequency)),
        i64::from(r.paused),
        r.next_at,
        r.created_at,
        r.updated_at,
        r.last_fired_at,
        r.fired,
    ])?;
    Ok(())
}

/// The names of the schedules of one kind (recurring or one-time), other than `except`.
fn names_of_kind(
    tx: &Transaction<'_>,
    recurring: bool,
    except: &str,
) -> rusqlite::Result<Vec<String>> {
    let sql = if recurring {
        "SELECT name FROM schedules WHERE repeat_unit IS NOT NULL AND name <> ?1 ORDER BY name"
    } else {
        "SELECT name FROM schedules WHERE repeat_unit IS NULL AND name <> ?1 ORDER BY name"
    };
    tx.prepare_cached(sql)?
        .query_map(params![except], |r| r.get(0))?
        .collect()
}

impl Store {
    /// Creates or replaces the schedule `record.name`, within `limits`.
    pub async fn schedule_write(
        &self,
        record: ScheduleRecord,
        how: ScheduleWrite,
        limits: ScheduleLimits,
    ) -> Result<Result<(), ScheduleRefusal>, StoreError> {
        self.call(move |db| {
            db.write_data(|tx| {
                let existing = get(tx, &record.name)?;
                match (how, &existing) {
                    (ScheduleWrite::Create, Some(_)) => return Ok(Err(ScheduleRefusal::Exists)),
                    (ScheduleWrite::Replace, None) => return Ok(Err(ScheduleRefusal::Missing)),
                    _ => {}
                }
                let recurring = record.repeat.is_some();
                let others = names_of_kind(tx, recurring, &record.name)?;
                if recurring && others.len() >= limits.recurring {
                    return Ok(Err(ScheduleRefusal::TooManyRecurring {
                        limit: limits.recurring,
                        existing: others,
                    }));
                }
                if !recurring && others.len() >= limits.one_time {
                    return Ok(Err(ScheduleRefusal::TooManyOneTime {
                        limit: limits.one_time,
                    }));
                }
                put(tx, &record)?;
                Ok(Ok(()))
            })
        })
        .await
    }

    /// The schedule `name`, if there is one.
    pub async fn schedule_get(&self, name: &str) -> Result<Option<ScheduleRecord>, StoreError> {
        let name = name.to_string();
        self.call(move |db| get(&db.conn, &name).map_err(|e| db.err(e)))
            .await
    }

    /// Deletes the schedule `name`; whether there was one.
    pub async fn schedule_delete(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_string();
        self.call(move |db| {
            db.write_data(|tx| {
                let n = tx
                    .prepare_cached("DELETE FROM schedules WHERE name = ?1")?
                    .execute(params![name])?;
                Ok(n > 0)
            })
        })
        .await
    }

    /// Every schedule, by name.
    pub async fn schedule_list(&self) -> Result<Vec<ScheduleRecord>, StoreError> {
        self.call(move |db| {
            db.conn
                .prepare_cached(&format!("SELECT {COLUMNS} FROM schedules ORDER BY name"))
                .and_then(|mut st| st.query_map([], record)?.collect())
                .map_err(|e| db.err(e))
        })
        .await
    }

    /// When the next schedule is due (Unix ms), if any is.
    pub async fn schedule_next_due(&self) -> Result<Option<i64>, StoreError> {
        self.call(move |db| {
            db.conn
                .prepare_cached(
                    "SELECT MIN(next_at) FROM schedules WHERE next_at IS NOT NULL AND paused = 0",
                )
                .and_then(|mut st| st.query_row([], |r| r.get(0)))
                .map_err(|e| db.err(e))
        })
        .await
    }

    /// Takes the schedules due at `now`, in one transaction: a one-time schedule is deleted,
    /// a recurring one gets `next_at = next(record, now)`, its `fired` count and
    /// `last_fired_at`. Returns them as they were before, to be fired.
    pub async fn schedule_claim_due(
        &self,
        now: i64,
        next: fn(&ScheduleRecord, i64) -> Option<i64>,
    ) -> Result<Vec<ScheduleRecord>, StoreError> {
        self.call(move |db| {
            db.write_data(|tx| {
                let due: Vec<ScheduleRecord> = tx
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM schedules WHERE next_at IS NOT NULL AND next_at <= ?1 AND paused = 0 ORDER BY next_at, name"
                    ))?
                    .query_map(params![now], record)?
                    .collect::<Result<_, _>>()?;
                for r in &due {
                    if r.repeat.is_some() {
                        let mut moved = r.clone();
                        moved.next_at = next(r, now);
                        moved.last_fired_at = Some(now);
                        moved.fired += 1;
                        put(tx, &moved)?;
                    } else {
                        tx.prepare_cached("DELETE FROM schedules WHERE name = ?1")?
                            .execute(params![r.name])?;
                    }
                }
                Ok(due)
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, at: i64, repeat: Option<Repeat>) -> ScheduleRecord {
        ScheduleRecord {
            name: name.into(),
            data: r#"{"n":1}"#.into(),
            schedule_at: at,
            repeat,
            paused: false,
            next_at: Some(at),
            created_at: 1,
            updated_at: 1,
            last_fired_at: None,
            fired: 0,
        }
    }

    const LIMITS: ScheduleLimits = ScheduleLimits {
        one_time: 2,
        recurring: 1,
    };

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tmp");
        let s = Store::open_with_key(&dir.path().join("s.sqlite"), [7; 32]).expect("open");
        (dir, s)
    }

    fn every_minute() -> Option<Repeat> {
        Some(Repeat {
            unit: RepeatUnit::Minutes,
            frequency: 1,
        })
    }

    #[tokio::test]
    async fn names_are_unique_and_the_limits_count_rows() {
        let (_d, s) = store();
        let create = ScheduleWrite::Create;
        assert_eq!(
            s.schedule_write(rec("a", 10, None), create, LIMITS)
                .await
                .unwrap(),
            Ok(())
        );
        assert_eq!(
            s.schedule_write(rec("a", 10, None), create, LIMITS)
                .await
                .unwrap(),
            Err(ScheduleRefusal::Exists)
        );
        assert_eq!(
            s.schedule_write(rec("b", 10, None), create, LIMITS)
                .await
                .unwrap(),
            Ok(())
        );
        assert_eq!(
            s.schedule_write(rec("c", 10, None), create, LIMITS)
                .await
                .unwrap(),
            Err(ScheduleRefusal::TooManyOneTime { limit: 2 })
        );
        // Replacing one that is counted does not count it twice.
        assert_eq!(
            s.schedule_write(rec("b", 20, None), ScheduleWrite::Replace, LIMITS)
                .await
                .unwrap(),
            Ok(())
        );
        assert_eq!(
            s.schedule_write(rec("r", 10, every_minute()), create, LIMITS)
                .await
                .unwrap(),
            Ok(())
        );
        assert_eq!(
            s.schedule_write(rec("r2", 10, every_minute()), create, LIMITS)
                .await
                .unwrap(),
            Err(ScheduleRefusal::TooManyRecurring {
                limit: 1,
                existing: vec!["r".into()]
            })
        );
        // A one-time schedule turned recurring counts against the recurring limit.
        assert!(matches!(
            s.schedule_write(rec("a", 10, every_minute()), ScheduleWrite::Replace, LIMITS)
                .await
                .unwrap(),
            Err(ScheduleRefusal::TooManyRecurring { .. })
        ));
        assert_eq!(
            s.schedule_write(rec("zz", 10, None), ScheduleWrite::Replace, LIMITS)
                .await
                .unwrap(),
            Err(ScheduleRefusal::Missing)
        );
        assert_eq!(s.schedule_list().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn due_schedules_are_claimed_once() {
        let (_d, s) = store();
        let w = ScheduleWrite::Create;
        s.schedule_write(rec("once", 100, None), w, LIMITS)
            .await
            .unwrap()
            .unwrap();
        s.schedule_write(rec("later", 500, None), w, LIMITS)
            .await
            .unwrap()
            .unwrap();
        s.schedule_write(rec("every", 50, every_minute()), w, LIMITS)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.schedule_next_due().await.unwrap(), Some(50));
        fn next(r: &ScheduleRecord, now: i64) -> Option<i64> {
            Some(now + r.repeat.map_or(0, |p| p.millis()))
        }
        let due = s.schedule_claim_due(200, next).await.unwrap();
        let names: Vec<&str> = due.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["every", "once"]);
        // Claimed: the one-time schedule is gone, the recurring one moved on.
        assert!(s.schedule_claim_due(200, next).await.unwrap().is_empty());
        assert_eq!(s.schedule_get("once").await.unwrap(), None);
        let every = s.schedule_get("every").await.unwrap().expect("kept");
        assert_eq!(every.next_at, Some(60_200));
        assert_eq!((every.fired, every.last_fired_at), (1, Some(200)));
        assert_eq!(s.schedule_next_due().await.unwrap(), Some(500));
        assert!(s.schedule_delete("later").await.unwrap());
        assert!(!s.schedule_delete("later").await.unwrap());
    }
}
