//! Who may call what: capability matching, deny semantics, origins, and what a refused caller
//! is told. A refused call must never reach the command.

use std::sync::atomic::{AtomicUsize, Ordering};

use gatehouse::{
    command, commands, Acl, BuildProblem, Caller, CallerInfo, Capability, Router, State,
};
use serde_json::{json, Value};

#[derive(Default)]
struct Runs(AtomicUsize);

#[command]
fn read_note(runs: State<'_, Runs>) -> usize {
    runs.0.fetch_add(1, Ordering::SeqCst) + 1
}

#[command]
fn write_note(runs: State<'_, Runs>) -> usize {
    runs.0.fetch_add(1, Ordering::SeqCst) + 1
}

#[command]
fn delete_note(runs: State<'_, Runs>) -> usize {
    runs.0.fetch_add(1, Ordering::SeqCst) + 1
}

const NAMES: [&str; 3] = ["delete_note", "read_note", "write_note"];

fn router_with(acl: Acl, explain: bool) -> Router {
    Router::builder(acl)
        .commands(commands![read_note, write_note, delete_note])
        .manage(Runs::default())
        .explain_denials(explain)
        .build()
        .expect("valid router")
}

fn acl() -> Acl {
    Acl::builder()
        .commands(NAMES)
        .capability(Capability::builder("main").windows(["main"]).allow([
            "read_note",
            "write_note",
            "delete_note",
        ]))
        .capability(
            Capability::builder("viewers")
                .windows(["viewer-*"])
                .allow(["read_note"]),
        )
        .capability(
            // Applies to `main` too: its deny wins over main's allow.
            Capability::builder("no-delete-anywhere")
                .windows(["main", "viewer-*"])
                .deny(["delete_note"]),
        )
        .capability(
            // Applies only to `other`: must not leak into `main`'s grants.
            Capability::builder("other-no-write")
                .windows(["other"])
                .deny(["write_note"]),
        )
        .capability(
            Capability::builder("remote-site")
                .windows(["main"])
                .local(false)
                .remote(["https://*.example.com"])
                .allow(["read_note"]),
        )
        .capability(
            Capability::builder("by-webview")
                .webviews(["panel"])
                .allow(["write_note"]),
        )
        .build()
        .expect("valid ACL")
}

async fn call(router: &Router, caller: &Caller, method: &str) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method});
    let reply = router
        .handle(caller, request.to_string().as_bytes())
        .await
        .expect("reply");
    serde_json::from_slice(&reply).expect("JSON")
}

fn allowed(router: &Router, info: CallerInfo) -> Vec<&'static str> {
    let caller = router.caller(info);
    NAMES
        .iter()
        .copied()
        .filter(|n| router.check(&caller, n))
        .collect()
}

#[test]
fn grants_follow_capabilities() {
    let r = router_with(acl(), true);
    assert_eq!(
        allowed(&r, CallerInfo::local("main")),
        ["read_note", "write_note"]
    );
    assert_eq!(allowed(&r, CallerInfo::local("viewer-1")), ["read_note"]);
    assert_eq!(allowed(&r, CallerInfo::local("viewer")), Vec::<&str>::new());
    assert_eq!(allowed(&r, CallerInfo::local("other")), Vec::<&str>::new());
    assert_eq!(
        allowed(&r, CallerInfo::local("stranger")),
        Vec::<&str>::new()
    );
}

#[test]
fn a_deny_applies_only_to_the_callers_of_its_capability() {
    let r = router_with(acl(), true);
    // `other-no-write` denies write_note to `other` only; `main` keeps it.
    assert!(allowed(&r, CallerInfo::local("main")).contains(&"write_note"));
    // `no-delete-anywhere` applies to `main`: deny wins over main's allow.
    assert!(!allowed(&r, CallerInfo::local("main")).contains(&"delete_note"));
}

#[test]
fn windows_and_webviews_combine_with_or() {
    let r = router_with(acl(), true);
    let in_panel = CallerInfo::local("tools").with_webview("panel");
    assert_eq!(allowed(&r, in_panel), ["write_note"]);
    // Without a separate webview, the webview label is the window label.
    assert_eq!(allowed(&r, CallerInfo::local("panel")), ["write_note"]);
}

#[test]
fn remote_origins_get_only_what_remote_capabilities_grant() {
    let r = router_with(acl(), true);
    // A remote page in the main window gets `remote-site`, not main's local grants.
    assert_eq!(
        allowed(&r, CallerInfo::remote("main", "https://app.example.com")),
        ["read_note"]
    );
    for lookalike in [
        "https://app.example.com.evil.test",
        "http://app.example.com",
        "https://example.com.evil.test",
        "https://app.example.com:444",
        "null",
        "not a url",
    ] {
        assert_eq!(
            allowed(&r, CallerInfo::remote("main", lookalike)),
            Vec::<&str>::new(),
            "{lookalike}"
        );
    }
    // `local(false)` keeps the remote capability away from local callers... which still have
    // their own local grants.
    assert_eq!(
        allowed(&r, CallerInfo::local("main")),
        ["read_note", "write_note"]
    );
}

#[test]
fn no_acl_means_nothing_is_allowed() {
    let empty = Acl::builder().commands(NAMES).build().expect("valid");
    let r = router_with(empty, true);
    for label in ["main", "", "*"] {
        assert_eq!(allowed(&r, CallerInfo::local(label)), Vec::<&str>::new());
    }
    let default = Acl::default();
    let r = Router::builder(default)
        .build()
        .expect("an empty router builds");
    let c = r.caller(CallerInfo::local("main"));
    assert!(!r.check(&c, "read_note"));
}

#[tokio::test]
async fn a_refused_call_never_runs_and_says_who_and_what() {
    for explain in [true, false] {
        let r = router_with(acl(), explain);
        let viewer = r.caller(CallerInfo::local("viewer-7"));
        let v = call(&r, &viewer, "write_note").await;
        assert_eq!(v["error"]["code"], -32001, "{v}");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("`write_note`"), "{message}");
        assert!(message.contains("`viewer-7`"), "{message}");
        assert_eq!(v["error"]["data"]["command"], "write_note");
        assert_eq!(v["error"]["data"]["caller"], "viewer-7");
        if explain {
            assert!(
                message.contains("`main`"),
                "names the granting capability: {message}"
            );
            assert_eq!(
                v["error"]["data"]["grantedBy"],
                json!(["main", "by-webview"])
            );
        } else {
            assert!(!message.contains("`main`"), "{message}");
            assert!(v["error"]["data"].get("grantedBy").is_none());
        }
        let main = r.caller(CallerInfo::local("main"));
        let v = call(&r, &main, "delete_note").await;
        if explain {
            assert_eq!(
                v["error"]["data"]["deniedBy"],
                json!(["no-delete-anywhere"])
            );
        }
        // Nothing ran so far; the allowed call is the first to run.
        assert_eq!(call(&r, &main, "read_note").await["result"], 1);
    }
}

#[tokio::test]
async fn callers_from_another_router_are_refused() {
    let a = router_with(acl(), true);
    let b = router_with(acl(), true);
    let foreign = b.caller(CallerInfo::local("main"));
    assert!(!a.check(&foreign, "read_note"));
    let v = call(&a, &foreign, "read_note").await;
    assert_eq!(v["error"]["code"], -32001);
    assert_eq!(call(&b, &foreign, "read_note").await["result"], 1);
}

#[test]
fn unknown_commands_are_not_allowed() {
    let r = router_with(acl(), true);
    let main = r.caller(CallerInfo::local("main"));
    assert!(!r.check(&main, "read_notes"));
    assert!(!r.check(&main, ""));
}

mod dup {
    #[gatehouse::command(rename = "read_note")]
    pub(crate) fn another_read_note() {}
}

#[command]
fn unlisted() {}

#[test]
fn build_reports_every_problem_together() {
    let acl = Acl::builder()
        .commands(["read_note", "write_note", "ghost"])
        .build()
        .expect("valid");
    let err = Router::builder(acl)
        .commands(commands![
            read_note,
            write_note,
            dup::another_read_note,
            unlisted
        ])
        .build()
        .expect_err("invalid");
    let text = err.to_string();
    let kinds: Vec<&str> = err
        .problems
        .iter()
        .map(|p| match p {
            BuildProblem::DuplicateCommand { .. } => "duplicate",
            BuildProblem::MissingState { .. } => "state",
            BuildProblem::UnknownToAcl { .. } => "unknown",
            BuildProblem::Unserved { .. } => "unserved",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["state", "state", "duplicate", "unknown", "unserved"],
        "{text}"
    );
    assert!(text.contains("`Runs`") || text.contains("Runs`"), "{text}");
    assert!(
        text.contains("tests/access.rs:"),
        "points at the source: {text}"
    );
    assert!(text.contains("manage"), "says what to do: {text}");
}
