#!/usr/bin/env bash
# Builds and runs the fuzz targets with libFuzzer on the stable toolchain: the coverage
# instrumentation cargo-fuzz asks rustc for (sanitizer "none"), passed by hand, so that neither
# nightly nor cargo-fuzz is needed. libFuzzer itself comes from the `libfuzzer-sys` crate,
# compiled with the system's C++ compiler. See FUZZING.md.
#
#   fuzz/fuzz.sh build                  build every target
#   fuzz/fuzz.sh smoke [SECONDS]        build, replay corpora and regressions, fuzz each target
#                                       for SECONDS (default 10); fails on any crash
#   fuzz/fuzz.sh run TARGET [ARGS…]     fuzz TARGET on a scratch copy of its corpus, with
#                                       libFuzzer's ARGS (-runs=…, -max_total_time=…, -jobs=…)
#   fuzz/fuzz.sh merge TARGET DIR…      add to TARGET's committed corpus what DIR… covers more
#                                       (at most 400 files in all)
set -euo pipefail
cd "$(dirname "$0")"
fuzz_dir=$(pwd)

targets=(engine_frame stdio_frame acl_toml acl_json path_scope)
host=$(rustc -vV | sed -n 's/^host: //p')
# Apart from the workspace's builds: other flags, other artefacts.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$fuzz_dir/../target/fuzz}"
bin_dir="$CARGO_TARGET_DIR/$host/release"

build() {
    # The workspace's lock pins the versions the tests ran with; cargo adds libFuzzer's.
    [ -f Cargo.lock ] || cp ../Cargo.lock Cargo.lock
    # `--target` keeps these flags off build scripts and proc macros, which run inside cargo
    # and rustc and must not call into libFuzzer. Debug assertions and overflow checks come
    # from the release profile in Cargo.toml, which can make exceptions per crate.
    RUSTFLAGS="-Cpasses=sancov-module \
        -Cllvm-args=-sanitizer-coverage-level=4 \
        -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
        -Cllvm-args=-sanitizer-coverage-pc-table \
        -Cllvm-args=-sanitizer-coverage-trace-compares \
        -Cllvm-args=-sanitizer-coverage-stack-depth \
        --cfg fuzzing" \
        cargo build --release --target "$host" --features libfuzzer-sys --bins
}

# Runs one target, with libFuzzer's exit code (non-zero on a crash, leak, timeout or OOM).
run() {
    local target=$1
    shift
    local scratch="$CARGO_TARGET_DIR/corpus/$target"
    mkdir -p "$scratch" "$CARGO_TARGET_DIR/artifacts/$target"
    "$bin_dir/$target" -artifact_prefix="$CARGO_TARGET_DIR/artifacts/$target/" \
        -timeout=10 -rss_limit_mb=2048 "$@" "$scratch" "corpus/$target"
}

replay() {
    local target=$1 inputs=()
    for dir in "corpus/$target" "regressions/$target"; do
        [ -d "$dir" ] && inputs+=("$dir")
    done
    # Each directory's files run once; a crash fails the run.
    "$bin_dir/$target" -runs=0 "${inputs[@]}"
}

case "${1:-smoke}" in
build)
    build
    ;;
smoke)
    seconds=${2:-10}
    build
    log=$(mktemp)
    for target in "${targets[@]}"; do
        # The committed inputs first (a regression fails here), then a fresh scratch corpus
        # grown from them for a few seconds.
        rm -rf "$CARGO_TARGET_DIR/corpus/$target" "$CARGO_TARGET_DIR/artifacts/$target"
        if ! replay "$target" >"$log" 2>&1 ||
            ! run "$target" -max_total_time="$seconds" -print_final_stats=1 >>"$log" 2>&1; then
            tail -n 60 "$log" >&2
            echo "fuzz: $target failed; the input is in $CARGO_TARGET_DIR/artifacts/$target/" >&2
            exit 1
        fi
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
        echo "fuzz: $target: ${runs:-?} runs in ${seconds}s, $cov, no crash"
    done
    rm -f "$log"
    # The plain closing line CI reads.
    echo "fuzz: ${#targets[@]} passed, 0 failed"
    ;;
run)
    target=${2:?a target: ${targets[*]}}
    shift 2
    run "$target" "$@"
    ;;
merge)
    # Adds to the committed corpus the inputs of DIR… that cover the most new edges, at most
    # 400 files in all (trim_corpus.py); the hand-written seeds keep their names.
    target=${2:?a target: ${targets[*]}}
    shift 2
    work=$(mktemp -d)
    mkdir "$work/empty"
    "$bin_dir/$target" -merge=1 -merge_control_file="$work/control" "$work/empty" \
        "corpus/$target" "$@" >"$work/log" 2>&1 || { tail -n 20 "$work/log" >&2; exit 1; }
    python3 trim_corpus.py "$work/control" "corpus/$target" 400
    rm -rf "$work"
    ;;
*)
    echo "usage: $0 build | smoke [SECONDS] | run TARGET [ARGS…] | merge TARGET DIR…" >&2
    exit 2
    ;;
esac
