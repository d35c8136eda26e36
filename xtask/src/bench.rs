//! `cargo xtask bench`: collect `bench` records ({name, ns_per_op, iters}) from host benches
//! and from a QEMU `run=bench` boot, print them and write `target/bench.json`.
//!
//! Host benches are `#[ignore]`d kernel tests named `bench_*` that print bench records
//! (`println!("{}", Record::new("bench")...finish())`); they run in release mode, one thread.
//! Nothing is invented: a side that produced no records says so and fails.

use crate::cli::BenchArgs;
use crate::image::{self, BuildOpts};
use crate::qemu::run::{self, Machine};
use crate::records::parse_line;
use crate::records::{Bench, Rec};
use crate::report::{self, Collector, Source};
use crate::{table, util};
use anyhow::{Context, Result};
use serde_json::{json, Value};

/// The run name the kernel must know for the QEMU side.
pub const BENCH_RUN: &str = "bench";

fn bench_table(benches: &[Rec<Bench>]) -> String {
    let mut rows = vec![vec!["name".to_string(), "ns/op".into(), "iters".into()]];
    let cell = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    for b in benches {
        rows.push(vec![
            b.name.clone(),
            cell(b.ns_per_op.map(|n| n.to_string())),
            cell(b.iters.map(|n| n.to_string())),
        ]);
    }
    table::render(&rows)
}

/// Host side: `cargo test -p kernel --release -- --ignored bench_`, records from stdout.
fn host() -> Result<Vec<Rec<Bench>>, String> {
    let mut cmd = util::cargo();
    cmd.args([
        "test",
        "-p",
        "kernel",
        "--release",
        "--",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
        "bench_",
    ]);
    util::echo(&cmd);
    let out = cmd
        .output()
        .map_err(|e| format!("running cargo test: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "host benches failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut c = Collector::default();
    for l in stdout.lines() {
        c.feed(&parse_line(l));
    }
    if !c.malformed.is_empty() {
        return Err(format!("malformed bench records: {:?}", c.malformed));
    }
    if c.benches.is_empty() {
        return Err("no host benches: the kernel has no #[ignore] `bench_*` tests printing `bench` records yet".into());
    }
    Ok(c.benches)
}

/// QEMU side: boot `run=bench`.
fn qemu(a: &BenchArgs) -> Result<(Value, Vec<Rec<Bench>>), String> {
    let q = crate::qemu::install::ensure(false).map_err(|e| format!("{e:#}"))?;
    let img = image::build(BuildOpts {
        board: a.board,
        release: true,
        deny_warnings: false,
    })
    .map_err(|e| format!("{e:#}"))?;
    let out = run::boot(
        &q,
        Machine::new(a.board, a.bench_cpus(), &a.cpu),
        &img.raw,
        &[("run", BENCH_RUN.into()), ("seed", "1".into())],
        a.timeout,
        true,
    )?;
    let c = &out.collector;
    let v = report::verdict(
        c,
        Source::Qemu {
            exit: out.exit,
            timed_out: out.timed_out,
        },
        false,
    );
    // kernel/src/run/dispatch.rs refuses an unknown run with an `error` record ("unknown run").
    if c.kernel_error_mentions("unknown run") {
        return Err(format!(
            "the kernel does not know run={BENCH_RUN} yet (it answered: {})",
            c.errors
                .iter()
                .map(|e| format!("{}: {}", e.kind, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if v.exit_code != 0 {
        let p: Vec<String> = v.problems.iter().map(|p| p.message.clone()).collect();
        return Err(format!(
            "QEMU bench run failed with exit code {}: {}",
            v.exit_code,
            p.join("; ")
        ));
    }
    if c.benches.is_empty() {
        return Err("the QEMU bench run emitted no `bench` records".into());
    }
    let platform = json!({
        "platform": c.platform,
        "qemu_version": q.version.to_string(),
        "accel": run::ACCEL,
        "cpus": a.bench_cpus(),
        "cpu_model": a.cpu,
        "board": a.board.spec().name,
    });
    Ok((platform, c.benches.clone()))
}

/// GUP experiment figures at `-smp 2` (the CI size; or the nearest the board has):
/// attempts/s per CPU per experiment × variant, and V1's time to first violation over 20 seeds.
fn gup(a: &BenchArgs) -> Result<Value, String> {
    let q = crate::qemu::install::ensure(false).map_err(|e| format!("{e:#}"))?;
    let img = image::build(BuildOpts {
        board: a.board,
        release: true,
        deny_warnings: false,
    })
    .map_err(|e| format!("{e:#}"))?;
    let cpus = a.board.spec().nearest_cpus(2);
    let machine = Machine::new(a.board, cpus, &a.cpu);
    println!(
        "xtask: GUP throughput: every variant for {} ms at -smp {cpus}",
        a.gup_time_ms
    );
    let rows = crate::bench_gup::throughput(&q, &img.raw, &machine, a.gup_time_ms)?;
    let mut table_rows = vec![vec![
        "experiment".to_string(),
        "variant".into(),
        "attempts/s/CPU".into(),
        "verdict".into(),
    ]];
    for r in &rows {
        table_rows.push(vec![
            r.experiment.clone().unwrap_or_default(),
            r.variant.clone().unwrap_or_default(),
            r.attempts_per_s_per_cpu.to_string(),
            r.verdict.to_string(),
        ]);
    }
    println!("{}", table::render(&table_rows));
    println!(
        "xtask: V1 time to first violation over {} seeds at -smp {cpus} (one boot each)",
        crate::bench_gup::TTFV_SEEDS
    );
    let ttfv = crate::bench_gup::v1_time_to_first_violation(&q, &img.raw, &machine)?;
    let f = |x: Option<f64>| x.map_or_else(|| "-".into(), |x| x.to_string());
    println!(
        "V1 first violation: reproduced in {} of {} seeds; min {} s, median {} s, p90 {} s, max {} s",
        ttfv.reproduced,
        ttfv.seeds,
        f(ttfv.min_s),
        f(ttfv.median_s),
        f(ttfv.p90_s),
        f(ttfv.max_s)
    );
    Ok(json!({"cpus": cpus, "throughput": rows, "v1_time_to_first_violation": ttfv}))
}

pub fn command(a: &BenchArgs) -> Result<i32> {
    let mut errors = Vec::new();
    let mut host_benches = Value::Null;
    let mut qemu_part = Value::Null;
    if !a.no_host {
        match host() {
            Ok(b) => {
                println!("host benches:\n{}", bench_table(&b));
                host_benches = json!(b);
            }
            Err(e) => {
                eprintln!("xtask: {e}");
                errors.push(json!({"part": "host", "message": e}));
            }
        }
    }
    if !a.no_qemu {
        let spec = a.board.spec();
        if let Err(e) = spec
            .check_cpus(a.bench_cpus())
            .and_then(|()| spec.check_cpu_model(&a.cpu))
        {
            eprintln!("error: {e}");
            return Ok(crate::qemu::EXIT_USAGE);
        }
        match qemu(a) {
            Ok((platform, b)) => {
                println!("QEMU benches:\n{}", bench_table(&b));
                qemu_part = json!({"env": platform, "benches": b});
            }
            Err(e) => {
                eprintln!("xtask: {e}");
                errors.push(json!({"part": "qemu", "message": e}));
            }
        }
    }
    let mut gup_part = Value::Null;
    if !a.no_qemu && !a.no_gup {
        match gup(a) {
            Ok(v) => gup_part = v,
            Err(e) => {
                eprintln!("xtask: {e}");
                errors.push(json!({"part": "gup", "message": e}));
            }
        }
    }
    let path = if a.json.is_relative() {
        util::workspace_root().join(&a.json)
    } else {
        a.json.clone()
    };
    let doc = json!({
        "schema": 1,
        "host": host_benches,
        "qemu": qemu_part,
        "gup": gup_part,
        "errors": errors,
    });
    report::write_json(&path, &doc).context("writing bench results")?;
    println!("bench results: {}", path.display());
    Ok(if errors.is_empty() { 0 } else { 1 })
}
