//! Runs the examples `cargo test` has just built, so they stay working, not
//! merely compiling: the worked plugin must pass the conformance suite.

use std::path::PathBuf;
use std::process::Command;

/// `cargo test` builds examples into `target/<profile>/examples`, beside the
/// `deps` directory this test binary runs from.
fn example(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary has a path");
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps");
    profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn run(name: &str) -> String {
    let path = example(name);
    let output = Command::new(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_custom_provider_passes_the_suite_and_joins_the_aggregate() {
    let stdout = run("custom_provider");
    assert_eq!(stdout.matches("conformance: PASS").count(), 7, "{stdout}");
    assert!(stdout.contains("from cms"), "{stdout}");
    assert!(stdout.contains("from kore"), "{stdout}");
    assert!(stdout.contains("from tiny"), "{stdout}");
}

#[test]
fn the_unified_view_walks_every_page() {
    let stdout = run("unified_view");
    // 2 contact centers x 10 + 12 voice + 8 sms.
    assert!(stdout.contains("40 campaigns in all"), "{stdout}");
    let listed: usize = stdout
        .lines()
        .filter(|l| l.starts_with("  cms:") || l.starts_with("  kore:"))
        .count();
    assert_eq!(listed, 40, "{stdout}");
}
