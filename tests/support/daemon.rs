//! The real `aduan` binary on a free loopback port, measured as a process (VmRSS, VmHWM, open
//! files): shared by the edge tests (`tests/it/edge.rs`) and the edge benchmark
//! (`benches/edge.rs`).

use std::time::Duration;

/// The real `aduan` binary serving on a free loopback port (for tests of the public edge that
/// measure the daemon process itself).
pub struct RealDaemon {
    pub child: tokio::process::Child,
    pub port: u16,
    pub data_dir: std::path::PathBuf,
}

impl RealDaemon {
    /// Starts `aduan serve` on `db_url` with `env` overrides; waits for `/healthz`.
    pub async fn spawn(db_url: &str, env: &[(&str, &str)]) -> RealDaemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data_dir =
            std::env::temp_dir().join(format!("aduan-edge-{}-{port}", std::process::id()));
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_aduan"));
        cmd.arg("serve")
            .env_remove("ADUAN_CONFIG")
            .env("ADUAN_DATABASE_URL", db_url)
            .env("ADUAN_LISTEN", format!("127.0.0.1:{port}"))
            .env("ADUAN_DATA_DIR", &data_dir)
            .env("ADUAN_DATABASE__SQLITE_SYNCHRONOUS", "normal")
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn aduan");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let up = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "daemon did not answer /healthz"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        RealDaemon {
            child,
            port,
            data_dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM` = peak RSS).
    pub fn status_kib(&self, field: &str) -> u64 {
        let pid = self.child.id().expect("running");
        let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        s.lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Open file descriptors of the daemon.
    pub fn open_fds(&self) -> usize {
        let pid = self.child.id().expect("running");
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// The time `/healthz` takes to answer, on a fresh connection.
    pub async fn healthz_time(&self) -> Option<Duration> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let t = std::time::Instant::now();
        let r = http.get(self.url("/healthz")).send().await.ok()?;
        r.status().is_success().then(|| t.elapsed())
    }

    /// A clean stop, as systemd does it: SIGTERM, then the exit awaited.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        if let Some(pid) = self.child.id() {
            // SAFETY: a signal to our own child process.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the daemon stops within a minute of SIGTERM")
            .expect("wait for the daemon");
        let _ = std::fs::remove_dir_all(&self.data_dir);
        status
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
