//! The `campaigns` command line (in progress).

fn main() {
    eprintln!("campaigns: the CLI is not built yet; see the project's open issues");
    std::process::exit(2);
}
