//! The register embeds the migrations (`sqlx::migrate!`): rebuilt when they change.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
