//! `campaign-bench [--quick] [--only FIGURE,...] [--campaigns-bin PATH]`:
//! measures every figure of docs/PERFORMANCE.md and prints a markdown table.
//!
//! Figures: fanout, paging, genesys, decode, merge, memory, many, first, store,
//! serve.

use std::process::ExitCode;
use std::time::Instant;

use campaign_bench::{figures, render, serve, store, CampaignsBin, Row, Sizes};

const ALL: [&str; 10] = [
    "fanout", "paging", "genesys", "decode", "merge", "memory", "many", "first", "store", "serve",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if flag("--help") || flag("-h") {
        println!(
            "campaign-bench [--quick] [--only {}] [--campaigns-bin PATH]",
            ALL.join(",")
        );
        return ExitCode::SUCCESS;
    }
    let (mode, sizes) = if flag("--tiny") {
        ("--tiny", Sizes::tiny())
    } else if flag("--quick") {
        ("--quick", Sizes::quick())
    } else {
        ("--full", Sizes::full())
    };
    if value("--child").as_deref() == Some("many") {
        return match campaign_bench::child_many_sources(&sizes) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let only: Vec<String> = value("--only")
        .map(|list| list.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_else(|| ALL.iter().map(|s| (*s).to_owned()).collect());
    if let Some(unknown) = only.iter().find(|f| !ALL.contains(&f.as_str())) {
        eprintln!(
            "unknown figure {unknown:?} (expected one of {})",
            ALL.join(", ")
        );
        return ExitCode::from(2);
    }
    let wants = |name: &str| only.iter().any(|f| f == name);
    let needs_bin = wants("memory") || wants("first") || wants("store") || wants("serve");
    let bin = if needs_bin {
        let found = match value("--campaigns-bin") {
            Some(path) => Ok(CampaignsBin::at(path)),
            None => CampaignsBin::beside_current_exe(),
        };
        match found {
            Ok(bin) => Some(bin),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let dir = std::env::temp_dir().join(format!("campaign-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }

    let started = Instant::now();
    let mut rows: Vec<Row> = Vec::new();
    let mut failed = false;
    let child_args = ["--child", "many", mode];
    for name in ALL.iter().filter(|name| wants(name)) {
        eprintln!(
            "[{:>6.1}s] measuring {name} ...",
            started.elapsed().as_secs_f64()
        );
        let result = match *name {
            "fanout" => figures::fanout(&sizes),
            "paging" => figures::kore_paging(&sizes),
            "genesys" => campaign_bench::genesys::paging(&sizes),
            "decode" => figures::decode(&sizes),
            "merge" => Ok(figures::merge(&sizes)),
            "many" => figures::many_sources(&sizes, Some(&child_args)),
            "memory" => bin
                .as_ref()
                .ok_or_else(|| "no campaigns binary".to_owned())
                .and_then(|bin| figures::memory(&sizes, bin, &dir)),
            "first" => bin
                .as_ref()
                .ok_or_else(|| "no campaigns binary".to_owned())
                .and_then(|bin| figures::first_item(&sizes, bin, &dir)),
            "store" => bin
                .as_ref()
                .ok_or_else(|| "no campaigns binary".to_owned())
                .and_then(|bin| store::figures(&sizes, bin, &dir)),
            "serve" => bin
                .as_ref()
                .ok_or_else(|| "no campaigns binary".to_owned())
                .and_then(|bin| serve::figures(&sizes, bin, &dir)),
            _ => unreachable!("figure names are checked above"),
        };
        match result {
            Ok(mut figure) => rows.append(&mut figure),
            Err(e) => {
                failed = true;
                eprintln!("{name} failed: {e}");
                rows.push(Row::info(name, "could not be measured", e));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "sizes: {} ({} cores, {:.1} s)\n",
        mode.trim_start_matches("--"),
        std::thread::available_parallelism().map_or(0, usize::from),
        started.elapsed().as_secs_f64()
    );
    print!("{}", render(&rows));
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
