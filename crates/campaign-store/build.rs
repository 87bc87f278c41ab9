// The migrations are embedded by `sqlx::migrate!`: a new file must rebuild
// the crate even when no Rust file changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
