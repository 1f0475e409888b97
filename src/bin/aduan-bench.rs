//! `aduan-bench`: the register-level measurements of BENCHMARKS.md (intake throughput, inbox
//! and search latency, idle memory). A development tool, not part of the shipped daemon:
//!
//! ```sh
//! cargo build --release --features bench-tools
//! target/release/aduan-bench intake --messages 5000
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aduan-bench",
    about = "aduan's register benchmarks (see BENCHMARKS.md)"
)]
struct Cli {
    /// The configuration file (default: the embedded one).
    #[arg(long, env = "ADUAN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: BenchCmd,
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Intake throughput beside the raw insert rate.
    Intake {
        /// A PostgreSQL server URL (a fresh database is created on it and dropped after);
        /// without it the bench runs on SQLite files in a temp directory.
        #[arg(long)]
        postgres: Option<String>,
        #[arg(long, default_value_t = 5000)]
        messages: usize,
        /// Concurrent submitters (an adapter submits one at a time: 1).
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// SQLite `synchronous`: full or normal.
        #[arg(long, default_value = "full")]
        sqlite_synchronous: String,
    },
    /// Inbox list and full-text search latency on a register seeded with N complaints.
    Inbox {
        #[arg(long)]
        postgres: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        complaints: usize,
        /// Repetitions of each query.
        #[arg(long, default_value_t = 100)]
        queries: usize,
    },
    /// Resident memory of an idle `aduan serve` with the default config.
    IdleRss {
        #[arg(long, default_value_t = 5)]
        settle_secs: u64,
    },
}

async fn run(cmd: BenchCmd, cfg_path: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    aduan::telemetry::init(false, "warn");
    match cmd {
        BenchCmd::Intake {
            postgres,
            messages,
            concurrency,
            sqlite_synchronous,
        } => {
            let full = sqlite_synchronous == "full";
            let r = aduan::bench::intake(
                postgres.as_deref(),
                messages,
                concurrency.max(1),
                full,
                cfg_path,
            )
            .await?;
            println!(
                "backend={} messages={} concurrency={} sqlite_synchronous={} raw={:.0}/s intake={:.0}/s ratio={:.2}",
                r.backend, messages, concurrency, sqlite_synchronous, r.raw_per_sec, r.intake_per_sec, r.intake_per_sec / r.raw_per_sec
            );
            Ok(ExitCode::SUCCESS)
        }
        BenchCmd::Inbox {
            postgres,
            complaints,
            queries,
        } => {
            aduan::bench::inbox(postgres.as_deref(), complaints, queries, cfg_path).await?;
            Ok(ExitCode::SUCCESS)
        }
        BenchCmd::IdleRss { settle_secs } => {
            let kb = aduan::bench::idle_rss(settle_secs).await?;
            println!("idle_rss_kib={kb} ({:.1} MiB)", kb as f64 / 1024.0);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli.cmd, cli.config.as_deref()))
}
