#!/usr/bin/env bash
# Cold build of the smallest Gatehouse application — one command, a build script, one capability,
# default features — against this working tree and an older revision, side by side.
#
#   bash benches/cold_build.sh [OLD_REVISION]      (default: f0a1f65, before issue #11)
#
# For each tree it writes the same application into a temporary folder (path dependencies on
# that tree, the tree's Cargo.lock), then times, each in a fresh target folder:
#   - `cargo build` (debug) from nothing, then `cargo build` again with nothing changed (the
#     no-op build), and how many crates that second build compiled or ran;
#   - `cargo build --release` from nothing.
# Builds take turns (old debug, new debug, old release, new release) so that a change in the
# machine's load falls on both. It prints each time, the crates compiled, and new/old ratios.
# Everything goes under one temporary folder (the older revision as a `git worktree`), removed
# at the end. Nothing is downloaded: both lock files must resolve from cargo's cache.
set -euo pipefail

old_rev=${1:-f0a1f65}
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
tmp=$(mktemp -d /tmp/gatehouse-cold-build.XXXXXX)

cleanup() {
    git -C "$root" worktree remove --force "$tmp/old-tree" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

git -C "$root" worktree add --detach "$tmp/old-tree" "$old_rev" >/dev/null 2>&1

# The application, against the Gatehouse tree $1, in folder $2.
make_app() {
    local tree=$1 app=$2
    mkdir -p "$app/src" "$app/capabilities"
    cat >"$app/Cargo.toml" <<EOF
[package]
name = "cold-app"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
gatehouse = { path = "$tree" }

[build-dependencies]
gatehouse-build = { path = "$tree/build" }
EOF
    cat >"$app/build.rs" <<'EOF'
fn main() {
    gatehouse_build::build().expect("gatehouse: invalid ACL");
}
EOF
    cat >"$app/src/main.rs" <<'EOF'
#[gatehouse::command]
fn greet(name: String) -> String {
    format!("Hello, {name}")
}

fn main() {
    let router = gatehouse::Router::builder(gatehouse::acl!())
        .commands(gatehouse::commands![greet])
        .build()
        .expect("the router builds");
    let main = router.caller(gatehouse::CallerInfo::local("main"));
    assert!(router.check(&main, "greet"));
}
EOF
    cat >"$app/capabilities/main.toml" <<'EOF'
identifier = "main"
windows = ["main"]
permissions = ["allow-greet"]
EOF
    cp "$tree/Cargo.lock" "$app/Cargo.lock"
}

now() { date +%s.%N; }

# `cargo build $3` of app $1 into target folder $2; prints "seconds compiled-units".
timed_build() {
    local app=$1 target=$2 flags=$3 start end log
    log=$(mktemp "$tmp/log.XXXXXX")
    start=$(now)
    # shellcheck disable=SC2086 # $flags is empty or one flag
    CARGO_TARGET_DIR=$target cargo build --offline -v $flags --manifest-path "$app/Cargo.toml" >"$log" 2>&1 || {
        tail -n 40 "$log" >&2
        return 1
    }
    end=$(now)
    local units
    units=$(grep -cE '^\s+(Compiling|Running `[^`]*build-script)' "$log" || true)
    echo "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }') $units"
}

make_app "$tmp/old-tree" "$tmp/old-app"
make_app "$root" "$tmp/new-app"

echo "machine: $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "old: $old_rev ($(git -C "$root" log -1 --format=%s "$old_rev" | cut -c1-60))"
echo "new: the working tree at $(git -C "$root" rev-parse --short HEAD)"
echo

declare -A result
for profile in debug release; do
    flags=""
    [ "$profile" = release ] && flags="--release"
    for tree in old new; do
        read -r secs units < <(timed_build "$tmp/$tree-app" "$tmp/$tree-target-$profile" "$flags")
        result[$tree-$profile]=$secs
        result[$tree-$profile-units]=$units
        if [ "$profile" = debug ]; then
            read -r secs units < <(timed_build "$tmp/$tree-app" "$tmp/$tree-target-$profile" "")
            result[$tree-noop]=$secs
            result[$tree-noop-units]=$units
        fi
        rm -rf "$tmp/$tree-target-$profile"
    done
done

printf '%-28s %12s %12s %8s\n' "" "old ($old_rev)" "new" "new/old"
for row in debug release noop; do
    o=${result[old-$row]} n=${result[new-$row]}
    label="cold $row build"
    [ "$row" = noop ] && label="no-op build (nothing changed)"
    printf '%-28s %10.1f s %10.1f s %8.2f\n' "$label" "$o" "$n" "$(awk -v a="$o" -v b="$n" 'BEGIN { print b / a }')"
    printf '%-28s %12s %12s\n' "  crates compiled or run" "${result[old-$row-units]}" "${result[new-$row-units]}"
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
