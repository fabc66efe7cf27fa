//! The command line of `npm run openapi:import`, parsed into a [`Command`] (the binary does the I/O).

use std::path::PathBuf;

use super::{Filters, ImportError, Options};

pub const USAGE: &str = "\
usage: npm run openapi:import -- <spec file or https URL> --name <api> [options]

  --name NAME               the API's name ([A-Za-z0-9_-], up to 64): the index is openapi/NAME.json and the KV key openapi:NAME
  --out FILE                where to write the index (default openapi/NAME.json)
  --kv                      also upload the index to the OPENAPI KV namespace as openapi:NAME (wrangler, remote)
  --local                   with --kv: to the local (wrangler dev) namespace instead
  --persist-to DIR          with --kv --local: wrangler's local state directory
  --rename ID=TOOL          name the operation with operationId ID (or \"METHOD /path\") TOOL; may repeat

filters (each may repeat or take a comma-separated list; an operation is kept if it matches every kind of
include given and no exclude):
  --include-tag TAG         --exclude-tag TAG
  --include-method METHOD   --exclude-method METHOD
  --include-path GLOB       --exclude-path GLOB        (over the path template: * within a segment, ** across)
  --include-operation ID    --exclude-operation ID     (operationId)
  --exclude-deprecated
";

/// Where `--kv` uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvUpload {
    pub local: bool,
    pub persist_to: Option<String>,
}

/// One run of the importer.
#[derive(Debug)]
pub struct Command {
    pub source: String,
    pub name: String,
    pub out: PathBuf,
    pub kv: Option<KvUpload>,
    pub options: Options,
}

/// Whether an API name is usable as a file name and in the KV key.
pub fn is_valid_api_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, ImportError> {
    let usage = |why: String| ImportError::Usage(format!("{why}\n\n{USAGE}"));
    let mut source = None;
    let mut name = None;
    let mut out = None;
    let (mut kv, mut local, mut persist_to) = (false, false, None);
    let mut filters = Filters::default();
    let mut renames = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let takes_value = matches!(
            flag,
            "--name"
                | "--out"
                | "--persist-to"
                | "--rename"
                | "--include-tag"
                | "--exclude-tag"
                | "--include-method"
                | "--exclude-method"
                | "--include-path"
                | "--exclude-path"
                | "--include-operation"
                | "--exclude-operation"
        );
        let value = if !flag.starts_with('-') || !takes_value {
            None
        } else if let Some(v) = inline {
            Some(v)
        } else if i < args.len() {
            i += 1;
            Some(args[i - 1].clone())
        } else {
            return Err(usage(format!("{flag} needs a value")));
        };
        let list = |v: &Option<String>| {
            v.iter()
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        match flag {
            "--help" | "-h" => return Err(ImportError::Usage(USAGE.to_string())),
            "--name" => name = value,
            "--out" => out = value.map(PathBuf::from),
            "--kv" => kv = true,
            "--local" => local = true,
            "--persist-to" => persist_to = value,
            "--exclude-deprecated" => filters.exclude_deprecated = true,
            "--include-tag" => filters.include_tags.extend(list(&value)),
            "--exclude-tag" => filters.exclude_tags.extend(list(&value)),
            "--include-method" => filters.include_methods.extend(list(&value)),
            "--exclude-method" => filters.exclude_methods.extend(list(&value)),
            "--include-path" => filters.include_paths.extend(list(&value)),
            "--exclude-path" => filters.exclude_paths.extend(list(&value)),
            "--include-operation" => filters.include_operations.extend(list(&value)),
            "--exclude-operation" => filters.exclude_operations.extend(list(&value)),
            "--rename" => {
                let v = value.unwrap_or_default();
                let Some((from, to)) = v.rsplit_once('=') else {
                    return Err(usage(format!("--rename {v}: expected operationId=toolName")));
                };
                renames.push((from.trim().to_string(), to.trim().to_string()));
            }
            f if f.starts_with('-') => return Err(usage(format!("unknown option {f}"))),
            _ if source.is_none() => source = Some(arg.clone()),
            _ => return Err(usage(format!("unexpected argument {arg}"))),
        }
    }
    let source = source.ok_or_else(|| usage("no spec file or URL given".into()))?;
    let name = name.ok_or_else(|| usage("--name is required".into()))?;
    if !is_valid_api_name(&name) {
        return Err(usage(format!("--name {name}: use [A-Za-z0-9_-], 1 to 64 characters")));
    }
    let valid_method = |m: &String| super::METHODS.iter().any(|x| x.as_str().eq_ignore_ascii_case(m));
    if let Some(m) = filters.include_methods.iter().chain(&filters.exclude_methods).find(|m| !valid_method(m))
    {
        return Err(usage(format!("unknown method {m}")));
    }
    if (local || persist_to.is_some()) && !kv {
        return Err(usage("--local and --persist-to go with --kv".into()));
    }
    if persist_to.is_some() && !local {
        return Err(usage("--persist-to goes with --local".into()));
    }
    let out = out.unwrap_or_else(|| PathBuf::from(format!("openapi/{name}.json")));
    Ok(Command {
        source,
        name,
        out,
        kv: kv.then_some(KvUpload { local, persist_to }),
        options: Options { filters, renames },
    })
}

/// The wrangler arguments that upload the index (after `node_modules/wrangler/bin/wrangler.js`).
pub fn kv_put_args(name: &str, file: &str, kv: &KvUpload) -> Vec<String> {
    let mut args: Vec<String> =
        ["kv", "key", "put", "--binding", "OPENAPI", &format!("openapi:{name}"), "--path", file]
            .iter()
            .map(|s| s.to_string())
            .collect();
    if kv.local {
        args.push("--local".into());
        if let Some(dir) = &kv.persist_to {
            args.extend(["--persist-to".to_string(), dir.clone()]);
        }
    } else {
        args.push("--remote".into());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_filters_renames_and_kv() {
        let c = parse(&args(
            "spec.yaml --name pets --include-tag pet,store --exclude-method=DELETE --include-path /pet/** --rename getPetById=pet_get --kv --local --persist-to .state --exclude-deprecated",
        ))
        .unwrap();
        assert_eq!(c.source, "spec.yaml");
        assert_eq!(c.out, PathBuf::from("openapi/pets.json"));
        assert_eq!(c.options.filters.include_tags, ["pet", "store"]);
        assert_eq!(c.options.filters.exclude_methods, ["DELETE"]);
        assert_eq!(c.options.filters.include_paths, ["/pet/**"]);
        assert!(c.options.filters.exclude_deprecated);
        assert_eq!(c.options.renames, [("getPetById".to_string(), "pet_get".to_string())]);
        assert_eq!(c.kv, Some(KvUpload { local: true, persist_to: Some(".state".into()) }));
        assert_eq!(
            kv_put_args("pets", "openapi/pets.json", c.kv.as_ref().unwrap()),
            args("kv key put --binding OPENAPI openapi:pets --path openapi/pets.json --local --persist-to .state")
        );
        assert_eq!(
            kv_put_args("p", "f", &KvUpload { local: false, persist_to: None }).last().unwrap(),
            "--remote"
        );
    }

    #[test]
    fn refuses_bad_arguments_with_a_message() {
        for (text, says) in [
            ("spec.json", "--name is required"),
            ("--name x", "no spec file"),
            ("spec.json --name ../x", "--name ../x"),
            ("spec.json --name x --frobnicate", "unknown option --frobnicate"),
            ("spec.json --name x --include-method FETCH", "unknown method FETCH"),
            ("spec.json --name x --local", "go with --kv"),
            ("spec.json --name x --rename nothing", "expected operationId=toolName"),
            ("spec.json --name", "--name needs a value"),
        ] {
            let err = parse(&args(text)).unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
