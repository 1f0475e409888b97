//! Fresh databases, seeding and the raw-insert baseline for tests and benchmarks (not used by
//! the daemon): the one place SQL is written for them, so it stays in the register crate.

use std::time::{Duration, Instant};

use aduan_channel::{Address, ChannelKind, InboundMessage, ThreadingHints};

use crate::db::{now_ms, Backend, ConnectOptions, Db};

/// Errors of the test and benchmark helpers: the register's own.
pub type Error = crate::db::DbError;

/// The registers a channel benchmark runs on: SQLite, and PostgreSQL (`ADUAN_TEST_POSTGRES`,
/// default the local server) when it answers.
pub async fn backends() -> Vec<(&'static str, Option<String>)> {
    let mut backends: Vec<(&str, Option<String>)> = vec![("sqlite", None)];
    let pg = std::env::var("ADUAN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect("127.0.0.1:5432"),
    )
    .await
    .is_ok_and(|r| r.is_ok())
    {
        backends.push(("postgres", Some(pg)));
    }
    backends
}

/// A fresh database for a bench or test: a SQLite file in a temp dir, or a new PostgreSQL
/// database on the given server. Dropped with [`FreshDb::drop_db`].
pub struct FreshDb {
    pub url: String,
    admin: Option<(String, String)>,
    dir: Option<std::path::PathBuf>,
}

impl FreshDb {
    pub async fn create(postgres: Option<&str>, tag: &str) -> Result<FreshDb, Error> {
        let name = format!("aduan_{tag}_{}", crate::tracking_code().to_lowercase());
        match postgres {
            Some(server) => {
                let admin = Db::connect(
                    server,
                    &ConnectOptions {
                        max_connections: 1,
                        ..Default::default()
                    },
                )
                .await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin.pool)
                    .await?;
                admin.close().await;
                let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(server);
                Ok(FreshDb {
                    url: format!("{base}/{name}"),
                    admin: Some((server.to_string(), name)),
                    dir: None,
                })
            }
            None => {
                let dir = std::env::temp_dir().join(name);
                std::fs::create_dir_all(&dir).map_err(|source| Error::DataDir {
                    path: dir.display().to_string(),
                    source,
                })?;
                Ok(FreshDb {
                    url: format!("sqlite://{}/aduan.db", dir.display()),
                    admin: None,
                    dir: Some(dir),
                })
            }
        }
    }

    pub async fn drop_db(self) {
        if let Some((server, name)) = self.admin {
            if let Ok(admin) = Db::connect(
                &server,
                &ConnectOptions {
                    max_connections: 1,
                    ..Default::default()
                },
            )
            .await
            {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&admin.pool)
                .await;
                admin.close().await;
            }
        }
        if let Some(dir) = self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The `i`-th message of the intake benchmark: an SMS from its own number.
pub fn bench_message(i: usize) -> InboundMessage {
    let mut m = InboundMessage::new(
        ChannelKind::Sms,
        format!("bench-{i}"),
        Address::Phone(format!("+62812{:08}", i)),
        format!("Jalan di depan kantor kelurahan rusak parah sejak bulan lalu, mohon ditindaklanjuti. No {i}"),
    );
    m.display_name = Some(format!("Warga {i}"));
    m.hints = ThreadingHints::default();
    m
}

/// The raw rate: the same rows intake writes for a new complaint, one transaction per message,
/// no lookups.
pub async fn raw_inserts(db: &Db, n: usize, concurrency: usize) -> Result<Duration, Error> {
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let db = db.clone();
        set.spawn(async move {
            let mut i = w;
            while i < n {
                let m = bench_message(i);
                let now = now_ms();
                let mut tx = db.begin().await?;
                let pid: i64 = sqlx::Row::try_get(&sqlx::query("INSERT INTO complainants (name, created_at) VALUES ($1, $2) RETURNING id").bind(m.display_name.clone().unwrap_or_default()).bind(now).fetch_one(&mut *tx).await?, "id")?;
                sqlx::query("INSERT INTO complainant_addresses (address, complainant_id) VALUES ($1, $2)").bind(m.sender.to_key()).bind(pid).execute(&mut *tx).await?;
                let cid: i64 = sqlx::Row::try_get(&sqlx::query("INSERT INTO complaints (register_no, tracking_code, complainant_id, channel, reply_to, subject, status, lang, received_at, due_date, due_at, updated_at, search_text) VALUES ($1, 'CODE', $2, 'sms', $3, 'subject', 'registered', 'id', $4, '2026-12-01', $4, $4, $5) RETURNING id").bind(format!("RAW-2026-{i:06}")).bind(pid).bind(m.sender.to_key()).bind(now).bind(m.text.to_lowercase()).fetch_one(&mut *tx).await?, "id")?;
                sqlx::query("INSERT INTO messages (complaint_id, direction, channel, external_id, sender, body, created_at) VALUES ($1, 'in', 'sms', $2, $3, $4, $5)").bind(cid).bind(&m.external_id).bind(m.sender.to_key()).bind(&m.text).bind(now).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO audit (complaint_id, actor, action, fields, at) VALUES ($1, 'system', 'register', '{\"event\":\"registered\",\"channel\":\"sms\"}', $2)").bind(cid).bind(now).execute(&mut *tx).await?;
                let mid: i64 = sqlx::Row::try_get(&sqlx::query("INSERT INTO messages (complaint_id, direction, channel, sender, body, provider_message_id, created_at) VALUES ($1, 'out', 'sms', $2, 'receipt', $3, $4) RETURNING id").bind(cid).bind(m.sender.to_key()).bind(format!("<{i}@bench>")).bind(now).fetch_one(&mut *tx).await?, "id")?;
                sqlx::query("INSERT INTO outbox (complaint_id, message_id, channel, recipient, kind, subject, body, provider_msg_id, status, next_attempt_at, created_at) VALUES ($1, $2, 'sms', $3, 'receipt', 's', 'receipt', $4, 'queued', $5, $5)").bind(cid).bind(mid).bind(m.sender.to_key()).bind(format!("<{i}@bench>")).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                i += concurrency;
            }
            Ok::<_, Error>(())
        });
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| sqlx::Error::Protocol(e.to_string()))??;
    }
    Ok(start.elapsed())
}

const WORDS: &[&str] = &[
    "jalan",
    "rusak",
    "lampu",
    "padam",
    "antrian",
    "lama",
    "izin",
    "usaha",
    "petugas",
    "ramah",
    "sampah",
    "menumpuk",
    "air",
    "mati",
    "banjir",
    "selokan",
    "parkir",
    "liar",
    "pungutan",
    "biaya",
    "sertifikat",
    "tanah",
    "ktp",
    "akta",
    "kelahiran",
    "puskesmas",
    "obat",
    "sekolah",
    "guru",
    "bantuan",
    "sosial",
    "pasar",
    "trotoar",
    "pohon",
    "tumbang",
    "listrik",
    "bising",
    "macet",
    "terminal",
    "angkot",
    "pelayanan",
    "loket",
    "berkas",
    "hilang",
    "tagihan",
];

/// Seeds `n` complaints with bulk inserts (not through intake: the figure is about reading).
/// Complaint `k` (0-based, id order) is `BEN-2026-{k:07}` and its text ends in "nomor {k}".
pub async fn seed(db: &Db, n: usize) -> Result<(), Error> {
    let statuses = [
        ("registered", 30),
        ("verified", 20),
        ("disposed", 15),
        ("answered", 20),
        ("closed", 15),
    ];
    let channels = ["web", "sms", "email", "telegram", "counter", "lapor"];
    let now = now_ms();
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let people = (n / 3).max(1);
    for chunk in (0..people).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from("INSERT INTO complainants (name, created_at) VALUES ");
        for (i, p) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("('Warga {p}', {now})"));
        }
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&db.write)
            .await?;
    }
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(500);
        let mut sql = String::from(
            "INSERT INTO complaints (register_no, tracking_code, complainant_id, channel, reply_to, subject, \
             status, is_open, lang, received_at, due_date, due_at, answered_at, updated_at, search_text, \
             confidential, identity_text, identity_indexed) VALUES ",
        );
        for i in 0..batch {
            let k = done + i;
            let r = next();
            let mut pick = (r % 100) as i32;
            let status = statuses
                .iter()
                .find(|(_, w)| {
                    pick -= w;
                    pick < 0
                })
                .map(|(s, _)| *s)
                .unwrap_or("registered");
            let channel = channels[(r >> 8) as usize % channels.len()];
            let received = now - ((r >> 16) % (365 * 86_400_000)) as i64;
            let w: Vec<&str> = (0..8)
                .map(|j| WORDS[((r >> (20 + j * 5)) as usize) % WORDS.len()])
                .collect();
            let subject = format!("{} {}", w[0], w[1]);
            let text = format!(
                "{} {} di {} {} {} {} nomor {k}",
                subject, w[2], w[3], w[4], w[5], w[6]
            );
            let open = !matches!(status, "closed");
            let answered = if matches!(status, "answered" | "closed") {
                (received + 3 * 86_400_000).to_string()
            } else {
                "NULL".into()
            };
            if i > 0 {
                sql.push(',');
            }
            // One in fifty confidential: its complainant's name indexed apart (one word no
            // complaint's text has).
            let confidential = k % 50 == 0;
            let identity = if confidential { "rahasiawan" } else { "" };
            sql.push_str(&format!(
                "('BEN-2026-{k:07}', 'CODE{k}', {}, '{channel}', '', '{subject}', '{status}', {}, 'id', {received}, '2026-12-01', {}, {answered}, {received}, '{}', {}, '{identity}', 1)",
                1 + (k % people),
                open as i64,
                received + 7 * 86_400_000,
                text,
                confidential as i64
            ));
        }
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&db.write)
            .await?;
        done += batch;
    }
    if db.backend == Backend::Postgres {
        sqlx::query(
            "UPDATE complaints SET text_tsv = to_tsvector('simple', search_text) \
             WHERE confidential = 1",
        )
        .execute(&db.write)
        .await?;
    }
    sqlx::query("ANALYZE").execute(&db.write).await?;
    Ok(())
}

/// One number a query answers (`SELECT COUNT(*) …`).
pub async fn scalar(db: &Db, sql: &'static str) -> sqlx::Result<i64> {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await
}
