//! The per-call check allocates nothing: counted with a counting global allocator around the
//! check (counts, not time). The counter only counts on the thread that asked for it, so other
//! tests running in parallel cannot disturb it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use gatehouse::{Acl, CallerInfo, Capability, Router};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

#[allow(unsafe_code)] // The documented exception: a global allocator is unsafe by definition; this one only forwards.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

fn router(commands: usize) -> (Router, Vec<String>) {
    let names: Vec<String> = (0..commands).map(|i| format!("command_{i}")).collect();
    let acl = Acl::builder()
        .commands(names.iter().cloned())
        .capability(
            Capability::builder("half")
                .windows(["main"])
                .allow(names.iter().step_by(2).cloned()),
        )
        .build()
        .expect("valid ACL");
    let router = Router::builder(acl)
        .allow_unserved_commands(true)
        .build()
        .expect("valid router");
    (router, names)
}

#[test]
fn the_counter_counts() {
    // Without this, a broken counter would make the real assertions pass vacuously.
    assert!(allocations_in(|| drop(black_box(vec![1u8; 16]))) >= 1);
}

#[test]
fn checking_a_call_does_not_allocate() {
    for size in [10, 1_000, 10_000] {
        let (router, names) = router(size);
        let caller = router.caller(CallerInfo::local("main"));
        let probes: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .chain(["unknown", "", "command_"])
            .collect();
        let ids: Vec<_> = probes.iter().filter_map(|n| router.command_id(n)).collect();
        let mut allowed = 0usize;
        let count = allocations_in(|| {
            for name in &probes {
                if router.check(&caller, black_box(name)) {
                    allowed += 1;
                }
            }
            for id in &ids {
                if caller.allows(black_box(*id)) {
                    allowed += 1;
                }
            }
        });
        assert_eq!(count, 0, "the check allocated with {size} commands");
        assert_eq!(
            allowed,
            2 * size.div_ceil(2),
            "half the commands are allowed"
        );
    }
}
