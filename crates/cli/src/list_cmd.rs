//! `vmlab list`: the built-in workloads.

use clap::Args;
use vmlab_guest::workloads;

/// List the built-in workloads: the user programs the guest kernel runs in
/// every virtualization mode, what each stresses, and its iteration counts.
///
/// Examples:
///   vmlab list
///   vmlab list --json
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn list(args: &ListArgs) -> Result<(), String> {
    if !args.json {
        print!("{}", workloads::list_table());
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = workloads::workloads()
        .iter()
        .map(|w| {
            serde_json::json!({
                "name": w.name,
                "description": w.description,
                "stresses": w.stresses,
                "kind": w.kind.name(),
                "iteration": w.iteration,
                "default_iters": w.default_iters,
                "bench_iters": w.bench_iters,
                "processes": w.processes.iter().map(|p| serde_json::json!({
                    "program": p.program,
                    "args": p.args,
                })).collect::<Vec<_>>(),
                "loop_privilege": w.loop_privilege.map(|p| p.name()),
            })
        })
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?
    );
    Ok(())
}
