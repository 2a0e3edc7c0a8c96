//! Unit tests of the store against real SQLite files in temporary folders.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Map, Value, json};

use super::*;

const KEY: [u8; 32] = [0x42; 32];

fn temp_store() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir
        .path()
        .join("app")
        .join(".fdk")
        .join("localstore.sqlite");
    let store = Store::open_with_key(&path, KEY).expect("open store");
    (dir, path, store)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

/// The database file and its WAL, as bytes: what someone reading the disk would see.
fn raw_bytes(path: &Path) -> Vec<u8> {
    let mut out = std::fs::read(path).unwrap_or_default();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    out.extend(std::fs::read(PathBuf::from(wal)).unwrap_or_default());
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn round_trips() {
    let (_d, _p, s) = temp_store();
    assert_eq!(s.system_settings().await.expect("read"), None);
    assert_eq!(s.iparams().await.expect("read"), None);
    assert_eq!(s.tokens("demo").await.expect("read"), None);
    assert_eq!(
        s.oauth_status("demo").await.expect("read"),
        OAuthStatus::default()
    );

    let settings = json!({"modules": ["support_ticket"], "urls": {"support_ticket": "https://a.freshdesk.com"}});
    s.set_system_settings(settings.clone())
        .await
        .expect("write");
    assert_eq!(s.system_settings().await.expect("read"), Some(settings));

    let ip = obj(json!({"z_first": "a", "api_token": "tok-123", "n": 3, "list": ["x"], "b": true}));
    s.set_iparams(ip.clone(), &["api_token".into()])
        .await
        .expect("write");
    let back = s.iparams().await.expect("read").expect("some");
    assert_eq!(back, ip);
    assert_eq!(
        back.keys().next().map(String::as_str),
        Some("z_first"),
        "order kept"
    );
    assert_eq!(
        s.secure_iparam_names().await.expect("read"),
        vec!["api_token".to_string()]
    );

    // Replace, not merge.
    s.set_iparams(obj(json!({"only": 1})), &[])
        .await
        .expect("write");
    assert_eq!(
        s.iparams().await.expect("read"),
        Some(obj(json!({"only": 1})))
    );
    assert!(s.secure_iparam_names().await.expect("read").is_empty());
    // Saved with nothing is not "never saved".
    s.set_iparams(Map::new(), &[]).await.expect("write");
    assert_eq!(s.iparams().await.expect("read"), Some(Map::new()));

    let c = Credentials {
        client_id: "cid".into(),
        client_secret: "csecret".into(),
    };
    s.set_credentials("demo", &c).await.expect("write");
    assert_eq!(s.credentials("demo").await.expect("read"), Some(c));
    assert_eq!(s.credentials("other").await.expect("read"), None);

    let oi = obj(json!({"tenant": "acme"}));
    s.set_oauth_iparams("demo", oi.clone())
        .await
        .expect("write");
    assert_eq!(s.oauth_iparams("demo").await.expect("read"), Some(oi));

    let t = Tokens {
        access_token: "at".into(),
        refresh_token: Some("rt".into()),
        token_type: Some("Bearer".into()),
        scope: None,
        expires_at: Some(2_000_000_000),
        obtained_at: 1_900_000_000,
    };
    assert!(!s.is_authorized("demo").await.expect("read"));
    s.set_tokens("demo", &t).await.expect("write");
    assert_eq!(s.tokens("demo").await.expect("read"), Some(t.clone()));
    assert!(s.is_authorized("demo").await.expect("read"));
    s.delete_tokens("demo").await.expect("delete");
    assert_eq!(s.tokens("demo").await.expect("read"), None);
    assert!(!s.is_authorized("demo").await.expect("read"));

    s.set_tokens("demo", &t).await.expect("write");
    let st = OAuthStatus {
        needs_reauth: Some("invalid_grant".into()),
        auth_method: Some(ClientAuthMethod::Basic),
        last_refresh_at: Some(5),
    };
    s.set_oauth_status("demo", &st).await.expect("write");
    assert_eq!(s.oauth_status("demo").await.expect("read"), st);
    assert!(
        !s.is_authorized("demo").await.expect("read"),
        "tokens marked 'needs re-authorization' are no grant"
    );
    s.set_oauth_status("demo", &OAuthStatus::default())
        .await
        .expect("write");
    assert!(s.is_authorized("demo").await.expect("read"));

    // A grant's tokens and status go together.
    s.save_grant("demo", None, &st).await.expect("write");
    assert_eq!(s.tokens("demo").await.expect("read"), None);
    assert_eq!(s.oauth_status("demo").await.expect("read"), st);
    let fresh = OAuthStatus {
        last_refresh_at: Some(6),
        ..OAuthStatus::default()
    };
    s.save_grant("demo", Some(&t), &fresh).await.expect("write");
    assert_eq!(s.tokens("demo").await.expect("read"), Some(t));
    assert_eq!(s.oauth_status("demo").await.expect("read"), fresh);
    assert!(s.is_authorized("demo").await.expect("read"));
}

#[tokio::test]
async fn values_survive_reopen() {
    let (_d, path, s) = temp_store();
    s.set_iparams(obj(json!({"api_token": "keep-me"})), &["api_token".into()])
        .await
        .expect("write");
    drop(s);
    let s = Store::open_with_key(&path, KEY).expect("reopen");
    assert_eq!(
        s.iparams().await.expect("read"),
        Some(obj(json!({"api_token": "keep-me"})))
    );
}

#[tokio::test]
async fn raw_file_holds_no_secret_and_nonce_differs_per_write() {
    let (_d, path, s) = temp_store();
    let secrets = [
        "SECRET-IPARAM-4711",
        "SECRET-CLIENT-0815",
        "SECRET-ACCESS-9",
        "SECRET-REFRESH-1",
        "SECRET-OAUTH-IPARAM",
    ];
    s.set_iparams(
        obj(json!({"api_token": secrets[0], "plain": "visible-value"})),
        &["api_token".into()],
    )
    .await
    .expect("write");
    s.set_credentials(
        "demo",
        &Credentials {
            client_id: "cid".into(),
            client_secret: secrets[1].into(),
        },
    )
    .await
    .expect("write");
    s.set_tokens(
        "demo",
        &Tokens {
            access_token: secrets[2].into(),
            refresh_token: Some(secrets[3].into()),
            token_type: None,
            scope: None,
            expires_at: None,
            obtained_at: 1,
        },
    )
    .await
    .expect("write");
    s.set_oauth_iparams("demo", obj(json!({"tenant": secrets[4]})))
        .await
        .expect("write");
    let raw = raw_bytes(&path);
    assert!(
        contains(&raw, "visible-value"),
        "the reader sees plain values, so the check is meaningful"
    );
    for secret in secrets {
        assert!(
            !contains(&raw, secret),
            "{secret} found in plain text in the database files"
        );
    }

    // Same secret written twice: different ciphertexts (fresh nonce).
    let read_blob = || -> Vec<u8> {
        let c = Connection::open(&path).expect("open raw");
        c.query_row(
            "SELECT client_secret FROM credentials WHERE integration = 'demo'",
            [],
            |r| r.get(0),
        )
        .expect("blob")
    };
    let first = read_blob();
    s.set_credentials(
        "demo",
        &Credentials {
            client_id: "cid".into(),
            client_secret: secrets[1].into(),
        },
    )
    .await
    .expect("write");
    let second = read_blob();
    assert_ne!(first, second);
    assert_ne!(first[1..25], second[1..25], "nonce differs");
}

#[tokio::test]
async fn wrong_key_is_refused_clearly() {
    let (_d, path, s) = temp_store();
    s.set_iparams(obj(json!({"k": "v"})), &["k".into()])
        .await
        .expect("write");
    drop(s);
    let err = Store::open_with_key(&path, [0x43; 32]).expect_err("wrong key must fail");
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("another key"),
        "{msg}"
    );
    // The right key still works: nothing was changed.
    let s = Store::open_with_key(&path, KEY).expect("reopen");
    assert_eq!(
        s.iparams().await.expect("read"),
        Some(obj(json!({"k": "v"})))
    );
}

#[test]
fn newer_schema_version_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.sqlite");
    {
        let c = Connection::open(&path).expect("create");
        c.pragma_update(None, "user_version", 99)
            .expect("set version");
    }
    let before = std::fs::read(&path).expect("read");
    let err = Store::open_with_key(&path, KEY).expect_err("newer must fail");
    assert!(
        matches!(err, StoreError::NewerVersion { found: 99, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer fdk-emu"), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), before);
}

#[test]
fn corrupt_file_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.sqlite");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&path, &garbage).expect("write");
    let err = Store::open_with_key(&path, KEY).expect_err("garbage must fail");
    assert!(matches!(err, StoreError::Damaged { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("move it aside"),
        "{msg}"
    );
    assert_eq!(
        std::fs::read(&path).expect("read"),
        garbage,
        "file left as it was"
    );
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    assert!(!PathBuf::from(wal).exists());
}

#[test]
fn damaged_pages_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.sqlite");
    {
        let s = Store::open_with_key(&path, KEY).expect("create");
        drop(s);
        // Fold the WAL into the main file so the damage below hits real pages.
        let c = Connection::open(&path).expect("open");
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .expect("checkpoint");
        c.pragma_update(None, "journal_mode", "DELETE")
            .expect("journal");
    }
    let mut bytes = std::fs::read(&path).expect("read");
    assert!(bytes.len() >= 8192, "several pages");
    // Page 2 is a table root page: an invalid page header is certain damage.
    for b in &mut bytes[4096..4096 + 8] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).expect("write");
    let err = Store::open_with_key(&path, KEY).expect_err("damage must be found");
    assert!(matches!(err, StoreError::Damaged { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
}

#[tokio::test]
async fn reset_scopes() {
    let (_d, _p, s) = temp_store();
    let fill = || async {
        s.set_system_settings(json!({"a": 1})).await.expect("w");
        s.set_iparams(obj(json!({"x": 1})), &[]).await.expect("w");
        s.set_credentials(
            "i",
            &Credentials {
                client_id: "c".into(),
                client_secret: "s".into(),
            },
        )
        .await
        .expect("w");
        s.set_tokens(
            "i",
            &Tokens {
                access_token: "a".into(),
                refresh_token: None,
                token_type: None,
                scope: None,
                expires_at: None,
                obtained_at: 0,
            },
        )
        .await
        .expect("w");
    };
    fill().await;
    s.reset(ResetScope::Iparams).await.expect("reset");
    assert_eq!(s.iparams().await.expect("r"), None);
    assert!(s.credentials("i").await.expect("r").is_some());
    s.reset(ResetScope::OAuth).await.expect("reset");
    assert!(s.credentials("i").await.expect("r").is_none());
    assert!(s.tokens("i").await.expect("r").is_none());
    assert!(s.system_settings().await.expect("r").is_some());
    fill().await;
    s.reset(ResetScope::All).await.expect("reset");
    assert!(s.system_settings().await.expect("r").is_none());
    assert!(s.iparams().await.expect("r").is_none());
    assert!(s.summary().await.expect("r").integrations.is_empty());
}

#[tokio::test]
async fn summary_masks_secrets() {
    let (_d, _p, s) = temp_store();
    s.set_iparams(
        obj(json!({"api_token": "hidden", "name": "shown"})),
        &["api_token".into()],
    )
    .await
    .expect("w");
    s.set_credentials(
        "demo",
        &Credentials {
            client_id: "cid".into(),
            client_secret: "hidden2".into(),
        },
    )
    .await
    .expect("w");
    let sum = s.summary().await.expect("summary");
    let text = serde_json::to_string(&sum).expect("json");
    assert!(!text.contains("hidden"), "{text}");
    assert!(text.contains("shown") && text.contains(MASK) && text.contains("cid"));
}

#[cfg(unix)]
#[test]
fn file_mode_and_gitignore() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, path, _s) = temp_store();
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let ignore = std::fs::read_to_string(path.with_file_name(".gitignore")).expect("gitignore");
    assert!(ignore.lines().any(|l| l.trim() == "*"));
}

#[tokio::test]
async fn debug_output_masks_secrets() {
    let c = Credentials {
        client_id: "id".into(),
        client_secret: "s3cr3t".into(),
    };
    assert!(!format!("{c:?}").contains("s3cr3t"));
    let t = Tokens {
        access_token: "tok3n".into(),
        refresh_token: Some("r3fr3sh".into()),
        token_type: None,
        scope: None,
        expires_at: None,
        obtained_at: 0,
    };
    let d = format!("{t:?}");
    assert!(!d.contains("tok3n") && !d.contains("r3fr3sh"));
}

#[test]
fn locked_file_is_reported_as_locked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.sqlite");
    drop(Store::open_with_key(&path, KEY).expect("create"));
    // Another program holds the write lock for longer than the busy timeout.
    let mut other = Connection::open(&path).expect("open");
    let tx = other
        .transaction_with_behavior(TransactionBehavior::Exclusive)
        .expect("lock");
    let err = Store::open_with_key(&path, KEY).expect_err("locked");
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(
        err.to_string().contains("locked by another program"),
        "{err}"
    );
    drop(tx);
}

#[tokio::test]
async fn cached_reads_see_this_process_at_once_and_another_soon() {
    let (_d, path, s) = temp_store();
    assert!(s.reads().await.expect("read").iparams.is_empty());
    // A write through this store is seen by the very next call.
    s.set_iparams(obj(json!({"domain": "a"})), &[])
        .await
        .expect("write");
    assert_eq!(s.reads().await.expect("read").iparams["domain"], json!("a"));
    // Another connection stands for another process (`fdk-emu store reset`): its write is
    // seen once RECHECK has passed, and the reading in between is the last good one.
    let other = Store::open_with_key(&path, KEY).expect("second handle");
    other
        .set_iparams(obj(json!({"domain": "b"})), &[])
        .await
        .expect("write");
    let deadline = std::time::Instant::now() + reads::RECHECK * 20;
    loop {
        let seen = s.reads().await.expect("read").iparams["domain"].clone();
        if seen == json!("b") {
            break;
        }
        assert_eq!(seen, json!("a"), "only the old or the new value");
        assert!(
            std::time::Instant::now() < deadline,
            "the other process's write was not seen within {:?}",
            reads::RECHECK * 20
        );
        tokio::task::yield_now().await;
    }
}

/// `rm -rf .fdk` while the server runs: the next write puts the whole store back, with the
/// write, instead of writing into a file that no longer exists.
#[tokio::test]
async fn a_deleted_store_is_written_again_with_nothing_lost() {
    let (_d, path, s) = temp_store();
    s.set_iparams(obj(json!({"a": "1", "key": "k-1"})), &["key".to_string()])
        .await
        .expect("write");
    s.set_system_settings(json!({"product": "freshdesk"}))
        .await
        .expect("write");
    let folder = path.parent().expect("folder").to_path_buf();
    std::fs::remove_dir_all(&folder).expect("delete .fdk");
    s.set_iparams(obj(json!({"a": "2", "key": "k-2"})), &["key".to_string()])
        .await
        .expect("the write is kept");
    assert!(path.exists(), "the file is back");
    assert!(folder.join(".gitignore").exists(), "and its .gitignore");
    drop(s);
    let again = Store::open_with_key(&path, KEY).expect("reopen");
    assert_eq!(
        again.iparams().await.expect("read"),
        Some(obj(json!({"a": "2", "key": "k-2"})))
    );
    assert_eq!(
        again.system_settings().await.expect("read"),
        Some(json!({"product": "freshdesk"})),
        "what was written before the deletion is there too"
    );
    assert!(!contains(&raw_bytes(&path), "k-2"), "still sealed");
}

/// Another file moved into its place: writes are refused (naming the file) rather than
/// acknowledged into a file nobody will open again.
#[tokio::test]
async fn a_replaced_store_refuses_writes() {
    let (d, path, s) = temp_store();
    let other = d.path().join("other.sqlite");
    drop(Store::open_with_key(&other, KEY).expect("another store"));
    std::fs::rename(&other, &path).expect("move it over");
    let err = s
        .set_system_settings(json!({"product": "freshdesk"}))
        .await
        .expect_err("refused");
    assert!(matches!(err, StoreError::Replaced { .. }), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

/// The key-value rows: expiry hides a key from every read at once and the next write sweeps
/// it; a miss names the other scopes that hold the key; a refused decision changes nothing.
#[tokio::test]
async fn kv_rows_expire_and_misses_say_where_the_key_is() {
    let (_d, _p, s) = temp_store();
    let put = |v: &str, expires_at: Option<i64>| {
        let v = v.to_string();
        move |_: Option<&KvRecord>| {
            Ok::<_, ()>((
                KvWrite::Put {
                    value: v,
                    expires_at,
                },
                (),
            ))
        }
    };
    let t0 = 1_000_000;
    s.kv_modify("freshdesk", "k", t0, put(r#"{"a":1}"#, Some(t0 + 1000)))
        .await
        .expect("store")
        .expect("decide");
    s.kv_modify("freshservice", "other", t0, put(r#"{"b":1}"#, None))
        .await
        .expect("store")
        .expect("decide");
    match s.kv_fetch("freshdesk", "k", t0 + 999).await.expect("fetch") {
        KvFetch::Found(r) => {
            assert_eq!(r.value, r#"{"a":1}"#);
            assert_eq!((r.created_at, r.expires_at), (t0, Some(t0 + 1000)));
        }
        other => panic!("{other:?}"),
    }
    // At the deadline the key is gone for every read, before any write swept it.
    assert_eq!(
        s.kv_fetch("freshdesk", "k", t0 + 1000)
            .await
            .expect("fetch"),
        KvFetch::Missing { elsewhere: vec![] }
    );
    assert_eq!(s.kv_list(t0 + 1000).await.expect("list").len(), 1);
    let seen = s
        .kv_modify("freshdesk", "k", t0 + 1000, |cur| {
            Ok::<_, ()>((KvWrite::Keep, cur.is_some()))
        })
        .await
        .expect("store")
        .expect("decide");
    assert!(!seen, "an expired key is not seen by a write either");
    // The write swept it from the file.
    assert_eq!(s.kv_list(0).await.expect("list").len(), 1);

    assert_eq!(
        s.kv_fetch("freshdesk", "other", t0).await.expect("fetch"),
        KvFetch::Missing {
            elsewhere: vec!["freshservice".into()]
        }
    );
    let refused = s
        .kv_modify("freshservice", "other", t0, |_| {
            Err::<(KvWrite, ()), _>("no")
        })
        .await
        .expect("store");
    assert_eq!(refused, Err("no"));
    let Ok(KvFetch::Found(r)) = s.kv_fetch("freshservice", "other", t0).await else {
        panic!("the key is still there");
    };
    assert_eq!(r.value, r#"{"b":1}"#);
    assert!(
        s.kv_delete("freshservice", "other", t0)
            .await
            .expect("delete")
    );
    assert!(
        !s.kv_delete("freshservice", "other", t0)
            .await
            .expect("delete")
    );
}

#[tokio::test]
async fn reset_db_clears_the_keys_only() {
    let (_d, _p, s) = temp_store();
    s.set_iparams(obj(json!({"x": 1})), &[]).await.expect("w");
    let n = s
        .kv_import(vec![KvRecord {
            scope: "freshdesk".into(),
            key: "k".into(),
            value: "{\"a\":1}".into(),
            created_at: 1,
            updated_at: 2,
            expires_at: None,
        }])
        .await
        .expect("import");
    assert_eq!(n, 1);
    s.reset(ResetScope::Db).await.expect("reset");
    assert!(s.kv_list(0).await.expect("list").is_empty());
    assert!(s.iparams().await.expect("r").is_some());
}

/// A store written by an fdk-emu without the key-value table (schema 1) opens, gains the
/// table and keeps what it held.
#[tokio::test]
async fn a_schema_1_store_is_migrated_and_keeps_its_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.sqlite");
    {
        let mut c = Connection::open(&path).expect("open");
        let tx = c.transaction().expect("tx");
        tx.execute_batch(schema::MIGRATIONS[0]).expect("schema 1");
        tx.pragma_update(None, "user_version", 1).expect("version");
        tx.execute(
            "INSERT INTO system_settings (id, value, saved_at) VALUES (1, '{\"m\":1}', 0)",
            [],
        )
        .expect("row");
        tx.commit().expect("commit");
    }
    let s = Store::open_with_key(&path, KEY).expect("open");
    assert_eq!(
        s.system_settings().await.expect("read"),
        Some(json!({"m": 1}))
    );
    assert!(s.kv_list(0).await.expect("the kv table exists").is_empty());
    assert_eq!(
        s.summary().await.expect("summary").schema_version,
        schema::CURRENT
    );
}
