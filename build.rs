//! Puts the git commit the binary was built from into `aduan --version` (`ADUAN_COMMIT`);
//! "unknown" outside a git checkout (a source tarball, the Debian package's build).

fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=ADUAN_COMMIT={commit}");
    // Rebuilt when HEAD moves (a commit or a checkout), not on every build.
    for f in [".git/HEAD", ".git/index"] {
        if std::path::Path::new(f).exists() {
            println!("cargo:rerun-if-changed={f}");
        }
    }
}
