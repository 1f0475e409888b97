//! The command line's shape: every command, its arguments and their help (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aduan",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("ADUAN_COMMIT"), ")"),
    about = "Complaint (pengaduan) gateway: every channel into one register"
)]
pub struct Cli {
    /// Configuration file (default: $ADUAN_CONFIG, else /etc/aduan/aduan.toml when it exists,
    /// else the embedded config/aduan.toml). The environment file beside it (`env` for
    /// aduan.toml, NAME.env for NAME.toml) is read too.
    #[arg(long, short, global = true)]
    pub(super) config: Option<PathBuf>,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Subcommand)]
pub(super) enum Command {
    /// Run the daemon: HTTP API, outbox dispatcher and every configured channel.
    Serve {
        /// Start even when the configuration has keys aduan does not know (they are ignored).
        #[arg(long)]
        allow_unknown_keys: bool,
    },
    /// Take a consistent copy of the register while the daemon runs (SQLite: `VACUUM INTO`;
    /// PostgreSQL: `pg_dump --format=custom`), attachments included. `--verify` checks an
    /// existing backup instead.
    Backup {
        file: std::path::PathBuf,
        /// Check the backup FILE (integrity, counts, schema) instead of taking one.
        #[arg(long)]
        verify: bool,
    },
    /// Replace the register with a backup (the daemon must be stopped; the backup is verified
    /// first, so a bad file leaves the register untouched).
    Restore { file: std::path::PathBuf },
    /// Apply the register's migrations and exit.
    Migrate {
        /// Only list the migrations that would run (nothing is changed).
        #[arg(long)]
        dry_run: bool,
    },
    /// Validate the configuration, reporting every problem at once.
    CheckConfig,
    /// First run: checks the configuration, prepares the register, and creates the first
    /// administrator with a web password (asked twice on a terminal, or one line on standard
    /// input with --password-stdin). Does nothing to an existing administrator.
    Setup {
        /// The administrator's user name.
        #[arg(long, default_value = "admin")]
        admin: String,
        /// Read the password from standard input (one line) instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Manage officer accounts.
    Officer {
        #[command(subcommand)]
        cmd: OfficerCmd,
    },
    /// Manage the units (sections, teams) complaints are disposed to.
    Unit {
        #[command(subcommand)]
        cmd: UnitCmd,
    },
    /// Read the register.
    Complaints {
        #[command(subcommand)]
        cmd: ComplaintsCmd,
    },
    /// Queue a reply to a complaint through the channel it came from.
    Reply {
        register_no: String,
        /// The reply text.
        text: String,
        /// The officer (username) replying.
        #[arg(long = "as")]
        as_officer: String,
    },
    /// Link a LAPOR! report (by its tracking id) to the register; the LAPOR! channel then keeps
    /// it in sync.
    LaporLink {
        tracking_id: String,
        /// The officer (username) linking it.
        #[arg(long = "as")]
        as_officer: String,
    },
    /// Service standards: the office's procedure and the complaints' clocks.
    Sla {
        #[command(subcommand)]
        cmd: SlaCmd,
    },
    /// The recap (rekapitulasi) of a day or a month: per channel, per status, SLA, time to answer.
    Report {
        #[command(subcommand)]
        cmd: ReportCmd,
        /// CSV instead of text.
        #[arg(long, global = true)]
        csv: bool,
    },
}

#[derive(Subcommand)]
pub(super) enum UnitCmd {
    /// Add a unit (`Bidang Perizinan`, `Tim Teknis`).
    Add { name: String },
    /// List the active units and their members.
    List,
    /// Make an officer a member of a unit: the unit's complaints come into their queue.
    Join { unit: String, username: String },
    /// Take an officer out of a unit.
    Leave { unit: String, username: String },
}

#[derive(Subcommand)]
pub(super) enum SlaCmd {
    /// Recompute the clocks of every open complaint with the current holiday lists, office
    /// hours and procedure (run it after adding next year's holiday list).
    Recompute,
    /// Show the office's procedure: each step's owner, standard and moves, and the chain of
    /// approval.
    Procedure,
}

#[derive(Subcommand)]
pub(super) enum ReportCmd {
    /// One office-local day (default: today).
    Daily {
        /// YYYY-MM-DD
        #[arg(long)]
        date: Option<String>,
    },
    /// One month (default: this month).
    Monthly {
        /// YYYY-MM
        #[arg(long)]
        month: Option<String>,
    },
}

#[derive(Subcommand)]
pub(super) enum OfficerCmd {
    /// Add an officer and print their API token (shown once).
    Add {
        username: String,
        /// front_office, section_head, technical_team, division_head, secretary, head_of_office,
        /// admin
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Also set a web password, read from standard input (one line, at least 10 characters).
        #[arg(long)]
        password_stdin: bool,
    },
    List,
    /// Set an officer's web password, read from standard input (one line); their open web
    /// sessions end.
    Password {
        username: String,
    },
    /// Give an officer a new API token (shown once); the old one stops working.
    Token {
        username: String,
    },
    /// Disable an officer; their token stops working.
    Disable {
        username: String,
    },
    /// End the login throttle of an officer at once (after failed logins, theirs or a
    /// stranger's, refused their web login).
    Unlock {
        username: String,
    },
}

#[derive(Subcommand)]
pub(super) enum ComplaintsCmd {
    List {
        #[arg(long)]
        status: Option<crate::workflow::Status>,
        #[arg(long)]
        channel: Option<String>,
        /// Only open complaints past their due date.
        #[arg(long)]
        overdue: bool,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    Show {
        register_no: String,
    },
}
