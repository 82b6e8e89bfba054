//! Replays every committed input — the seed corpora in `corpus/<target>/` and the crashers
//! kept in `regressions/<target>/` — through the targets, without libFuzzer. A crasher that is
//! fixed stays here as a regression test.

use std::path::Path;

use gatehouse_fuzz::TARGETS;

#[test]
fn every_committed_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut replayed = 0;
    for (name, target) in TARGETS {
        for folder in ["corpus", "regressions"] {
            let dir = root.join(folder).join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for file in files {
                let data =
                    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                eprintln!("{name}: {}", file.display());
                target(&data);
                replayed += 1;
            }
        }
    }
    assert!(replayed > 0, "no input found under {}", root.display());
}
