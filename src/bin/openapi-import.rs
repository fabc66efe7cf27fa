//! `npm run openapi:import -- <spec> --name <api>`: imports an OpenAPI spec into the operation index the Worker
//! serves (see `src/openapi/import`), writes it as compact JSON, and optionally uploads it to KV.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("openapi-import: {e}");
            std::process::exit(match e {
                mcp_worker::openapi::import::ImportError::Usage(_) => 2,
                _ => 1,
            });
        }
    }
}

/// The importer is native only; the wasm build of the library never builds this binary's body.
#[cfg(target_arch = "wasm32")]
fn main() {}

/// Prints a line of the summary; a closed stdout (`| head`) is not an error worth a panic.
#[cfg(not(target_arch = "wasm32"))]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[cfg(not(target_arch = "wasm32"))]
fn run(args: &[String]) -> Result<(), mcp_worker::openapi::import::ImportError> {
    use std::collections::BTreeMap;
    use std::time::Instant;

    use mcp_worker::openapi::import::{cli, import, source, ImportError};

    let command = cli::parse(args)?;
    let started = Instant::now();
    let text = source::read(&command.source)?;
    let read_in = started.elapsed();
    let imported = import(&text, &command.options)?;
    let json = serde_json::to_vec(&imported.index).map_err(|e| ImportError::Io(e.to_string()))?;
    let took = started.elapsed();
    if let Some(dir) = command.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| ImportError::Io(format!("{}: {e}", dir.display())))?;
    }
    std::fs::write(&command.out, &json)
        .map_err(|e| ImportError::Io(format!("{}: {e}", command.out.display())))?;

    let index = &imported.index;
    say!(
        "{} {}: {} operations kept, {} skipped; index {} bytes → {} (read {} ms, imported in {} ms)",
        index.title,
        index.version,
        index.operations.len(),
        imported.skipped.len(),
        json.len(),
        command.out.display(),
        read_in.as_millis(),
        took.as_millis()
    );
    let mut filtered: BTreeMap<&str, usize> = BTreeMap::new();
    for s in imported.skipped.iter().filter(|s| s.filtered) {
        *filtered.entry(s.reason.as_str()).or_default() += 1;
    }
    for (reason, n) in filtered {
        say!("  skipped {n}: {reason}");
    }
    for s in imported.skipped.iter().filter(|s| !s.filtered) {
        say!(
            "  skipped {} {} ({}): {}",
            s.method.as_str(),
            s.path,
            s.operation_id.as_deref().unwrap_or("no operationId"),
            s.reason
        );
    }
    let renamed =
        index.operations.iter().filter(|o| o.operation_id.as_deref().is_some_and(|id| id != o.name)).count();
    if renamed > 0 {
        say!("  {renamed} tool names differ from their operationId (sanitized, shortened, deduplicated or renamed)");
    }

    if let Some(kv) = &command.kv {
        let file = command.out.to_string_lossy().to_string();
        let mut wrangler = std::process::Command::new("bash");
        wrangler
            .arg("scripts/node22.sh")
            .arg("node_modules/wrangler/bin/wrangler.js")
            .args(cli::kv_put_args(&command.name, &file, kv));
        if !std::path::Path::new("scripts/node22.sh").exists() {
            return Err(ImportError::Io("--kv runs wrangler from the repository root: run it there".into()));
        }
        let status = wrangler.status().map_err(|e| ImportError::Io(format!("running wrangler: {e}")))?;
        if !status.success() {
            return Err(ImportError::Io(format!("wrangler kv key put failed ({status})")));
        }
        say!("uploaded to KV (binding OPENAPI) as openapi:{}", command.name);
    }
    Ok(())
}
