//! The per-call permission check alone, against ACLs of 10, 1 000 and 10 000 commands.
//!
//! - `allows`: `caller.allows(id)` with an id looked up beforehand — the bit test.
//! - `router_check`: `router.check(&caller, name)` — name → id lookup plus the bit test.
//! - `*_cycle`: the same, but each iteration checks the next command of a shuffled list of every
//!   command in the ACL (half of them allowed), so the tables are not read from one hot line.
//! - `tauri_resolve_access`: a reference, a Tauri-2-style dynamic check as
//!   `RuntimeAuthority::resolve_access` does it: a `BTreeMap` from command name to the resolved
//!   commands, each glob-matched against the window and webview labels, the matches cloned
//!   into a `Vec`.
//! - `hashmap_glob`: a leaner dynamic check, a `HashMap` from command name to label globs and
//!   `any` over them, without cloning: the floor of checking by string matching at run time.
//!
//! The ACL has one capability, for the window `main`, allowing every other command; the caller
//! is resolved once. See `BENCHMARKS.md` for the figures.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;

#[path = "support/tauri_style.rs"]
mod tauri_style;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gatehouse::{Acl, Caller, CallerInfo, Capability, CommandId, Router};
use tauri_style::{ExecutionContext, ResolvedCommand, TauriAuthority};

const SIZES: [usize; 3] = [10, 1_000, 10_000];
const WINDOW: &str = "main";

/// A command name shaped like a plugin command (`plugin:p07|cmd_00057`).
fn name(i: usize) -> String {
    format!("plugin:p{:02}|cmd_{i:05}", i % 50)
}

/// The same ACL, built for Gatehouse and for the two dynamic references.
struct Fixture {
    router: Router,
    caller: Caller,
    /// An allowed command and a denied one, both in the last word of the grant set.
    allowed: String,
    denied: String,
    allowed_id: CommandId,
    denied_id: CommandId,
    /// Every command, in a fixed pseudo-random order.
    shuffled: Vec<String>,
    shuffled_ids: Vec<CommandId>,
    tauri: TauriAuthority,
    globs: HashMap<String, Vec<glob::Pattern>>,
}

impl Fixture {
    fn new(size: usize) -> Self {
        let names: Vec<String> = (0..size).map(name).collect();
        let allowed_names: Vec<String> = names.iter().step_by(2).cloned().collect();
        let acl = Acl::builder()
            .commands(names.iter().cloned())
            .capability(
                Capability::builder("main")
                    .windows([WINDOW])
                    .allow(allowed_names.iter().cloned()),
            )
            .build()
            .expect("valid ACL");
        let router = Router::builder(acl)
            .allow_unserved_commands(true)
            .build()
            .expect("valid router");
        let caller = router.caller(CallerInfo::local(WINDOW));

        // Ids are indexes into the sorted universe; pick the largest allowed and denied ids so
        // the bit test reads the last word of the grant set.
        let by_id = |id: CommandId| -> String {
            router
                .acl()
                .command_name(id)
                .expect("id in range")
                .to_owned()
        };
        let ids: Vec<CommandId> = (0..size as u32).map(CommandId::new).collect();
        let allowed_id = *ids
            .iter()
            .rev()
            .find(|&&id| caller.allows(id))
            .expect("an allowed command");
        let denied_id = *ids
            .iter()
            .rev()
            .find(|&&id| !caller.allows(id))
            .expect("a denied command");
        let (allowed, denied) = (by_id(allowed_id), by_id(denied_id));

        let mut shuffled = names.clone();
        shuffle(&mut shuffled);
        let shuffled_ids = shuffled
            .iter()
            .map(|n| router.command_id(n).expect("known command"))
            .collect();

        let pattern = glob::Pattern::new(WINDOW).expect("valid glob");
        let tauri = TauriAuthority {
            allowed_commands: allowed_names
                .iter()
                .map(|n| {
                    let resolved = ResolvedCommand {
                        context: ExecutionContext::Local,
                        windows: vec![pattern.clone()],
                        webviews: Vec::new(),
                        scope_id: None,
                    };
                    (n.clone(), vec![resolved])
                })
                .collect(),
            denied_commands: BTreeMap::new(),
        };
        let globs = allowed_names
            .iter()
            .map(|n| (n.clone(), vec![pattern.clone()]))
            .collect();

        Self {
            router,
            caller,
            allowed,
            denied,
            allowed_id,
            denied_id,
            shuffled,
            shuffled_ids,
            tauri,
            globs,
        }
    }

    /// The Tauri-style check of `command` for the caller `main` (local, no separate webview).
    fn tauri_allows(&self, command: &str) -> bool {
        self.tauri
            .resolve_access(command, WINDOW, WINDOW, &ExecutionContext::Local)
            .is_some()
    }

    /// The lean dynamic check of `command` for the caller `main`.
    fn glob_allows(&self, command: &str) -> bool {
        self.globs
            .get(command)
            .is_some_and(|globs| globs.iter().any(|g| g.matches(WINDOW)))
    }
}

/// A deterministic Fisher–Yates shuffle (xorshift), so runs compare.
fn shuffle<T>(items: &mut [T]) {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = (state % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Every contender must agree on every command before anything is timed.
fn verify(f: &Fixture) {
    assert!(f.caller.allows(f.allowed_id));
    assert!(!f.caller.allows(f.denied_id));
    assert!(f.router.check(&f.caller, &f.allowed));
    assert!(!f.router.check(&f.caller, &f.denied));
    assert!(f.tauri_allows(&f.allowed));
    assert!(!f.tauri_allows(&f.denied));
    assert!(f.glob_allows(&f.allowed));
    assert!(!f.glob_allows(&f.denied));
    for (name, &id) in f.shuffled.iter().zip(&f.shuffled_ids) {
        let expected = f.caller.allows(id);
        assert_eq!(f.router.check(&f.caller, name), expected, "{name}");
        assert_eq!(f.tauri_allows(name), expected, "{name}");
        assert_eq!(f.glob_allows(name), expected, "{name}");
    }
}

/// Benchmarks `check(input)` for the allowed and the denied command at every size.
fn pair<T: ?Sized>(
    c: &mut Criterion,
    group: &str,
    fixtures: &[(usize, Fixture)],
    input: impl Fn(&Fixture, bool) -> &T,
    check: impl Fn(&Fixture, &T) -> bool,
) {
    let mut g = c.benchmark_group(group);
    for (size, f) in fixtures {
        for (label, allowed) in [("allowed", true), ("denied", false)] {
            let value = input(f, allowed);
            g.bench_with_input(BenchmarkId::new(label, size), value, |b, value| {
                b.iter(|| check(f, black_box(value)));
            });
        }
    }
    g.finish();
}

/// Benchmarks `check(item)` over every command in shuffled order, one command per iteration.
fn cycle<T>(
    c: &mut Criterion,
    group: &str,
    fixtures: &[(usize, Fixture)],
    items: impl Fn(&Fixture) -> &[T],
    check: impl Fn(&Fixture, &T) -> bool,
) {
    let mut g = c.benchmark_group(group);
    for (size, f) in fixtures {
        let items = items(f);
        g.bench_function(BenchmarkId::new("mixed", size), |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                if i == items.len() {
                    i = 0;
                }
                check(f, black_box(&items[i]))
            });
        });
    }
    g.finish();
}

/// The id of the allowed or the denied command.
fn id(f: &Fixture, allowed: bool) -> &CommandId {
    if allowed {
        &f.allowed_id
    } else {
        &f.denied_id
    }
}

/// The name of the allowed or the denied command.
fn name_of(f: &Fixture, allowed: bool) -> &str {
    if allowed {
        &f.allowed
    } else {
        &f.denied
    }
}

fn benches(c: &mut Criterion) {
    let fixtures: Vec<(usize, Fixture)> = SIZES.iter().map(|&n| (n, Fixture::new(n))).collect();
    for (_, f) in &fixtures {
        verify(f);
    }

    pair(c, "allows", &fixtures, id, |f, &id| f.caller.allows(id));
    pair(c, "router_check", &fixtures, name_of, |f, name| {
        f.router.check(&f.caller, name)
    });
    pair(
        c,
        "tauri_resolve_access",
        &fixtures,
        name_of,
        Fixture::tauri_allows,
    );
    pair(c, "hashmap_glob", &fixtures, name_of, Fixture::glob_allows);

    cycle(
        c,
        "allows_cycle",
        &fixtures,
        |f| f.shuffled_ids.as_slice(),
        |f, &id| f.caller.allows(id),
    );
    cycle(
        c,
        "router_check_cycle",
        &fixtures,
        |f| f.shuffled.as_slice(),
        |f, name| f.router.check(&f.caller, name),
    );
    cycle(
        c,
        "tauri_resolve_access_cycle",
        &fixtures,
        |f| f.shuffled.as_slice(),
        |f, name| f.tauri_allows(name),
    );
}

criterion_group!(check, benches);
criterion_main!(check);
