//! ACL compile time: permission and capability files → resolved ACL → generated tables, and the
//! per-call check on tables that came from files.
//!
//! Synthetic inputs are written once, outside every timed loop, into a temporary folder: for N
//! permissions (10, 1 000, 10 000) the application has N commands `c0`…`c{N-1}`; permission
//! files (TOML, 100 `[[permission]]` entries each) allow 1–3 commands per permission, every
//! 10th permission carries a scope, every 50th also denies a command, and there is one
//! `[[set]]` of 10 members (8 permissions, 2 generated `allow-c…`) per 10 permissions. Each of
//! M capabilities (10, 100, 1 000; one JSON file each) has one window glob `w{k % 100}-*` and
//! 5–20 references: permissions, sets and generated `allow-c…` ids, every 20th capability also
//! one reference with extra scope.
//!
//! - `compile_<N>p_<M>c/check`: `Builder::check()` — read, parse, validate, resolve.
//! - `…/build_first_write`: `Builder::build()` with both output files deleted before each
//!   iteration (untimed), so the Rust and JSON text is generated and written.
//! - `…/build_steady`: `Builder::build()` when the output exists and is unchanged: generated and
//!   compared, not rewritten (what a rebuild with unchanged files costs).
//!
//! (`check` drops its result inside the timed loop, the `build_*` benchmarks outside it: about
//! 1 % of the time or less at these sizes.)
//! - `files_*`: a router built from `checked.acl.to_acl()` for the largest case, a caller for
//!   window `w7-main` (10 capabilities apply): `caller.allows(id)`, `router.check(&caller,
//!   name)`, and a Tauri-style reference on the same resolved ACL (see [`TauriAuthority`]),
//!   for the highest allowed and denied command and over all commands in shuffled order.
//!
//! See `BENCHMARKS.md` for the figures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};

#[path = "../../benches/support/tauri_style.rs"]
mod tauri_style;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use gatehouse::{Caller, CallerInfo, CommandId, LabelGlob, Router};
use gatehouse_build::{Builder, ResolvedAcl};
use tauri_style::{ExecutionContext, ResolvedCommand, TauriAuthority};

/// (permissions, capabilities) per case.
const CASES: [(usize, usize); 3] = [(10, 10), (1_000, 100), (10_000, 1_000)];
/// Permissions per permission file.
const PER_FILE: usize = 100;
/// Distinct window groups; capability `k` applies to windows `w{k % WINDOWS}-*`.
const WINDOWS: usize = 100;
/// The caller of the runtime benchmarks.
const WINDOW: &str = "w7-main";

/// A deterministic xorshift generator, so that every run compiles the same files.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One case's input folder and the builder that compiles it.
struct Case {
    permissions: usize,
    capabilities: usize,
    builder: Builder,
    out_dir: PathBuf,
}

impl Case {
    fn name(&self) -> String {
        format!("compile_{}p_{}c", self.permissions, self.capabilities)
    }

    fn outputs(&self) -> [PathBuf; 2] {
        [
            self.out_dir.join("gatehouse_acl.rs"),
            self.out_dir.join("gatehouse_acl.json"),
        ]
    }
}

/// Writes the permission and capability files of a case under `root`.
fn write_inputs(root: &Path, n: usize, m: usize) -> Case {
    let permissions = root.join("permissions");
    let capabilities = root.join("capabilities");
    let out_dir = root.join("out");
    for dir in [&permissions, &capabilities, &out_dir] {
        std::fs::create_dir_all(dir).expect("create a bench folder");
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ n as u64);
    let sets = (n / 10).max(1);

    for file in 0..n.div_ceil(PER_FILE) {
        let mut text = String::new();
        let first = file * PER_FILE;
        for i in first..(first + PER_FILE).min(n) {
            let commands: Vec<String> = (0..1 + i % 3)
                .map(|_| format!("\"c{}\"", rng.below(n)))
                .collect();
            let _ = write!(
                text,
                "[[permission]]\nidentifier = \"p{i}\"\ndescription = \"Synthetic permission {i}.\"\ncommands.allow = [{}]\n",
                commands.join(", ")
            );
            if i % 50 == 49 {
                let _ = writeln!(text, "commands.deny = [\"c{}\"]", rng.below(n));
            }
            if i % 10 == 0 {
                let _ = write!(
                    text,
                    "\n[[permission.scope.allow]]\npath = \"$APPDATA/p{i}/**\"\n\n[[permission.scope.deny]]\npath = \"$APPDATA/p{i}/secret\"\n"
                );
            }
            text.push('\n');
        }
        // This file's share of the sets.
        for s in (file * PER_FILE / 10)..((file + 1) * PER_FILE / 10).min(sets) {
            let mut members: Vec<String> =
                (0..8).map(|_| format!("\"p{}\"", rng.below(n))).collect();
            members.extend((0..2).map(|_| format!("\"allow-c{}\"", rng.below(n))));
            let _ = write!(
                text,
                "[[set]]\nidentifier = \"s{s}\"\ndescription = \"Synthetic set {s}.\"\npermissions = [{}]\n\n",
                members.join(", ")
            );
        }
        std::fs::write(permissions.join(format!("perm_{file:04}.toml")), text)
            .expect("write a permission file");
    }

    for k in 0..m {
        let refs = 5 + rng.below(16);
        let mut items: Vec<String> = (0..refs)
            .map(|_| match rng.below(4) {
                0 | 1 => format!("\"p{}\"", rng.below(n)),
                2 => format!("\"s{}\"", rng.below(sets)),
                _ => format!("\"allow-c{}\"", rng.below(n)),
            })
            .collect();
        if k % 20 == 0 {
            items.push(format!(
                "{{ \"identifier\": \"p{}\", \"allow\": [{{ \"path\": \"$HOME/cap{k}/**\" }}] }}",
                rng.below(n)
            ));
        }
        let text = format!(
            "{{\n  \"identifier\": \"cap{k}\",\n  \"description\": \"Synthetic capability {k}.\",\n  \"windows\": [\"w{}-*\"],\n  \"permissions\": [\n    {}\n  ]\n}}\n",
            k % WINDOWS,
            items.join(",\n    ")
        );
        std::fs::write(capabilities.join(format!("cap_{k:04}.json")), text)
            .expect("write a capability file");
    }

    let builder = Builder::new()
        .root(root)
        .permissions_dir(&permissions)
        .capabilities_dir(&capabilities)
        .discover_commands(false)
        .commands((0..n).map(|i| format!("c{i}")))
        .plugins_from_dependencies(false)
        .target("linux")
        .out_dir(&out_dir)
        .emit_cargo_directives(false);
    Case {
        permissions: n,
        capabilities: m,
        builder,
        out_dir,
    }
}

/// Compiles a case once and checks it is valid, before anything is timed.
fn verify(case: &Case) -> ResolvedAcl {
    let checked = case.builder.check().expect("readable inputs");
    assert!(
        checked.diagnostics.is_empty(),
        "{}: {:#?}",
        case.name(),
        checked.diagnostics
    );
    assert_eq!(checked.acl.commands.len(), case.permissions);
    assert_eq!(checked.acl.capabilities.len(), case.capabilities);
    let output = case.builder.clone().build().expect("valid ACL");
    let rust = std::fs::metadata(&output.rust).expect("rust output").len();
    let json = std::fs::metadata(&output.json).expect("json output").len();
    let grants: usize = checked.acl.capabilities.iter().map(|c| c.allow.len()).sum();
    let scoped: usize = checked
        .acl
        .capabilities
        .iter()
        .map(|c| c.scopes.len())
        .sum();
    eprintln!(
        "{}: {} commands, {} capabilities, {} command grants ({} with scopes); output {} B Rust, {} B JSON",
        case.name(),
        checked.acl.commands.len(),
        checked.acl.capabilities.len(),
        grants,
        scoped,
        rust,
        json
    );
    checked.acl
}

fn compile_benches(c: &mut Criterion, cases: &[Case]) {
    for case in cases {
        let mut g = c.benchmark_group(case.name());
        if case.permissions >= 10_000 {
            g.sample_size(10);
        }
        g.bench_function("check", |b| {
            b.iter(|| black_box(case.builder.check().expect("readable inputs")));
        });
        g.bench_function("build_first_write", |b| {
            b.iter_batched(
                || {
                    for path in case.outputs() {
                        let _ = std::fs::remove_file(path);
                    }
                    case.builder.clone()
                },
                |builder| black_box(builder.build().expect("valid ACL")),
                BatchSize::PerIteration,
            );
        });
        g.bench_function("build_steady", |b| {
            b.iter_batched(
                || case.builder.clone(),
                |builder| black_box(builder.build().expect("valid ACL")),
                BatchSize::PerIteration,
            );
        });
        g.finish();
    }
}

/// Builds the Tauri-style authority from the same resolved ACL, and asks it.
trait FromResolved {
    fn new(acl: &ResolvedAcl) -> Self;
    fn allows(&self, command: &str) -> bool;
}

impl FromResolved for TauriAuthority {
    fn new(acl: &ResolvedAcl) -> Self {
        let mut allowed_commands: BTreeMap<String, Vec<ResolvedCommand>> = BTreeMap::new();
        let mut denied_commands: BTreeMap<String, Vec<ResolvedCommand>> = BTreeMap::new();
        let mut scope_id = 0;
        for cap in &acl.capabilities {
            let globs = |labels: &[LabelGlob]| -> Vec<glob::Pattern> {
                labels
                    .iter()
                    .map(|l| glob::Pattern::new(l.as_str()).expect("valid glob"))
                    .collect()
            };
            let resolved = ResolvedCommand {
                context: ExecutionContext::Local,
                windows: globs(&cap.windows),
                webviews: globs(&cap.webviews),
                scope_id: None,
            };
            for command in &cap.allow {
                let mut entry = resolved.clone();
                if cap.scopes.contains_key(command) {
                    scope_id += 1;
                    entry.scope_id = Some(scope_id);
                }
                allowed_commands
                    .entry(command.clone())
                    .or_default()
                    .push(entry);
            }
            for command in &cap.deny {
                denied_commands
                    .entry(command.clone())
                    .or_default()
                    .push(resolved.clone());
            }
        }
        Self {
            allowed_commands,
            denied_commands,
        }
    }

    fn allows(&self, command: &str) -> bool {
        self.resolve_access(command, WINDOW, WINDOW, &ExecutionContext::Local)
            .is_some()
    }
}

/// A deterministic Fisher–Yates shuffle.
fn shuffle<T>(items: &mut [T]) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in (1..items.len()).rev() {
        let j = rng.below(i + 1);
        items.swap(i, j);
    }
}

/// The router, caller and Tauri-style reference over the largest case's resolved ACL.
struct Runtime {
    router: Router,
    caller: Caller,
    tauri: TauriAuthority,
    allowed: (CommandId, String),
    denied: (CommandId, String),
    shuffled: Vec<(CommandId, String)>,
}

impl Runtime {
    fn new(acl: &ResolvedAcl) -> Self {
        let router = Router::builder(acl.to_acl().expect("valid ACL"))
            .allow_unserved_commands(true)
            .build()
            .expect("valid router");
        let caller = router.caller(CallerInfo::local(WINDOW));
        let tauri = TauriAuthority::new(acl);
        let all: Vec<(CommandId, String)> = acl
            .commands
            .iter()
            .map(|n| (router.command_id(n).expect("known command"), n.clone()))
            .collect();
        // Every contender must agree on every command before anything is timed.
        let mut granted = 0;
        for (id, name) in &all {
            let expected = caller.allows(*id);
            granted += usize::from(expected);
            assert_eq!(router.check(&caller, name), expected, "{name}");
            assert_eq!(tauri.allows(name), expected, "{name}");
        }
        // The highest allowed and denied ids: the last words of the grant set.
        let allowed = all
            .iter()
            .rev()
            .find(|(id, _)| caller.allows(*id))
            .expect("an allowed command")
            .clone();
        let denied = all
            .iter()
            .rev()
            .find(|(id, _)| !caller.allows(*id))
            .expect("a denied command")
            .clone();
        let applied = caller.capability_indexes().len();
        let entries = |name: &str| {
            let count =
                |map: &BTreeMap<String, Vec<ResolvedCommand>>| map.get(name).map_or(0, Vec::len);
            (
                count(&tauri.allowed_commands),
                count(&tauri.denied_commands),
            )
        };
        let per_command = tauri.allowed_commands.values().map(Vec::len).sum::<usize>() as f64
            / tauri.allowed_commands.len() as f64;
        eprintln!(
            "runtime: caller `{WINDOW}`: {applied} capabilities apply, {granted} of {} commands granted; Tauri-style (allow, deny) entries: allowed `{}` {:?}, denied `{}` {:?}, {per_command:.1} allow entries per allowed command on average",
            all.len(),
            allowed.1,
            entries(&allowed.1),
            denied.1,
            entries(&denied.1),
        );
        let mut shuffled = all;
        shuffle(&mut shuffled);
        Self {
            router,
            caller,
            tauri,
            allowed,
            denied,
            shuffled,
        }
    }
}

/// Benchmarks one contender's `check` (monomorphised, no indirect call) on the highest allowed
/// and denied command and over every command in shuffled order.
fn contender(
    c: &mut Criterion,
    group: &str,
    size: usize,
    rt: &Runtime,
    check: impl Fn(&(CommandId, String)) -> bool,
) {
    let mut g = c.benchmark_group(group);
    for (label, command) in [("allowed", &rt.allowed), ("denied", &rt.denied)] {
        g.bench_with_input(BenchmarkId::new(label, size), command, |b, command| {
            b.iter(|| check(black_box(command)));
        });
    }
    g.bench_function(BenchmarkId::new("mixed", size), |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            if i == rt.shuffled.len() {
                i = 0;
            }
            check(black_box(&rt.shuffled[i]))
        });
    });
    g.finish();
}

fn runtime_benches(c: &mut Criterion, size: usize, rt: &Runtime) {
    contender(c, "files_allows", size, rt, |(id, _)| rt.caller.allows(*id));
    contender(c, "files_router_check", size, rt, |(_, name)| {
        rt.router.check(&rt.caller, name)
    });
    contender(c, "files_tauri_resolve_access", size, rt, |(_, name)| {
        rt.tauri.allows(name)
    });
}

fn benches(c: &mut Criterion) {
    let base = std::env::temp_dir().join(format!("gatehouse-bench-compile-{}", std::process::id()));
    let cases: Vec<Case> = CASES
        .iter()
        .map(|&(n, m)| write_inputs(&base.join(format!("{n}p_{m}c")), n, m))
        .collect();
    let acls: Vec<ResolvedAcl> = cases.iter().map(verify).collect();

    // The runtime check first (short), then the compile times.
    let (largest, acl) = cases
        .iter()
        .zip(&acls)
        .next_back()
        .expect("at least one case");
    let rt = Runtime::new(acl);
    runtime_benches(c, largest.permissions, &rt);

    compile_benches(c, &cases);
    let _ = std::fs::remove_dir_all(&base);
}

criterion_group!(compile, benches);
criterion_main!(compile);
