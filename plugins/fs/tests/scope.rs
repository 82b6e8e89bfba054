//! The plugin's commands through `Router::handle`, as a caller sends them: confined to the
//! merged command and global scopes, blind to dot-files unless configured, and never reading or
//! writing outside while a local process swaps what they touch for links out (issue #10).

#[path = "../../../tests/scope_support/racer.rs"]
mod racer;

use std::fs;
use std::sync::Arc;

use gatehouse::{Acl, BaseDirs, Caller, CallerInfo, Capability, Router};
use gatehouse_plugin_fs::Config;
use racer::Sandbox;
use serde_json::{json, Value};

const READ: &str = "plugin:fs|read_file";
const WRITE: &str = "plugin:fs|write_file";
const LIST: &str = "plugin:fs|list_dir";
const SECRET: &str = "OUTSIDE SECRET";

/// `S/notes/{welcome.txt, private/diary.txt, shared/{a.txt, .env, .ssh/id_ed25519},
/// folder/note.txt}`, `S/extra/e.txt`, `S/outside/{secret.txt, note.txt}`.
fn sandbox(what: &str) -> Sandbox {
    let sandbox = Sandbox::new(what);
    for (path, text) in [
        ("notes/welcome.txt", "hello"),
        ("notes/private/diary.txt", "diary"),
        ("notes/shared/a.txt", "shared"),
        ("notes/shared/.env", "TOKEN=1"),
        ("notes/shared/.ssh/id_ed25519", "KEY"),
        ("notes/folder/note.txt", "inside"),
        ("extra/e.txt", "extra"),
        ("outside/secret.txt", SECRET),
        ("outside/note.txt", SECRET),
    ] {
        let path = sandbox.join(path);
        fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }
    sandbox
}

/// `main` may read, write and list `$N/**` except `$N/private/**`, plus `$X/**` through the
/// plugin's global scope; `viewer` may read and list `$N/shared/**`.
fn router(sandbox: &Sandbox, config: Option<Config>) -> Arc<Router> {
    let notes = json!({"path": "$N/**"});
    let private = json!({"path": "$N/private/**"});
    let acl = Acl::builder()
        .commands([READ, WRITE, LIST])
        .capability(
            Capability::builder("main")
                .windows(["main"])
                .allow([READ, WRITE, LIST])
                .scope(READ, [&notes], [&private])
                .scope(WRITE, [&notes], [&private])
                .scope(LIST, [&notes], [&private])
                .global_scope("fs", ["$X/**"], Vec::<Value>::new()),
        )
        .capability(
            Capability::builder("viewer")
                .windows(["viewer"])
                .allow([READ, LIST])
                .scope(READ, ["$N/shared/**"], Vec::<Value>::new())
                .scope(LIST, ["$N/shared/**"], Vec::<Value>::new()),
        )
        .build()
        .expect("valid ACL");
    let dirs = BaseDirs::new()
        .with("N", sandbox.join("notes"))
        .with("X", sandbox.join("extra"));
    let mut builder = Router::builder(acl)
        .commands(gatehouse_plugin_fs::commands())
        .manage(dirs);
    if let Some(config) = config {
        builder = builder.manage(config);
    }
    Arc::new(builder.build().expect("router"))
}

async fn call(router: &Router, caller: &Caller, method: &str, params: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let reply = router
        .handle(caller, request.to_string().as_bytes())
        .await
        .expect("a reply");
    serde_json::from_slice(&reply).expect("JSON")
}

fn path(sandbox: &Sandbox, relative: &str) -> String {
    sandbox
        .join(relative)
        .to_str()
        .expect("a Unicode path")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_confined_to_the_merged_scopes() {
    let sandbox = sandbox("confined");
    let router = router(&sandbox, None);
    let main = router.caller(CallerInfo::local("main"));
    let p = |relative| path(&sandbox, relative);

    let v = call(
        &router,
        &main,
        READ,
        json!({"path": p("notes/welcome.txt")}),
    )
    .await;
    assert_eq!(v["result"], "hello", "{v}");
    let v = call(&router, &main, READ, json!({"path": p("extra/e.txt")})).await;
    assert_eq!(
        v["result"], "extra",
        "the global scope adds to the command's: {v}"
    );
    let v = call(
        &router,
        &main,
        WRITE,
        json!({"path": p("notes/new.txt"), "contents": "new"}),
    )
    .await;
    assert_eq!(v["result"], Value::Null, "{v}");
    assert_eq!(
        fs::read_to_string(sandbox.join("notes/new.txt")).expect("read"),
        "new"
    );
    let v = call(&router, &main, LIST, json!({"path": p("notes")})).await;
    assert_eq!(
        v["result"],
        json!(["folder", "new.txt", "private", "shared", "welcome.txt"]),
        "{v}"
    );

    for (method, params) in [
        (READ, json!({"path": p("notes/private/diary.txt")})),
        (
            READ,
            json!({"path": p("notes/shared/../private/diary.txt")}),
        ),
        (READ, json!({"path": p("outside/secret.txt")})),
        (READ, json!({"path": "notes/welcome.txt"})),
        (
            WRITE,
            json!({"path": p("notes/private/x.txt"), "contents": "x"}),
        ),
        (
            WRITE,
            json!({"path": p("outside/secret.txt"), "contents": "x"}),
        ),
        (LIST, json!({"path": p("notes/private")})),
        (LIST, json!({"path": p("outside")})),
    ] {
        let v = call(&router, &main, method, params.clone()).await;
        assert_eq!(v["error"]["code"], -32000, "{method} {params}: {v}");
        assert_eq!(
            v["error"]["data"]["kind"], "outsideScope",
            "{method} {params}: {v}"
        );
    }
    let v = call(
        &router,
        &main,
        READ,
        json!({"path": p("notes/missing.txt")}),
    )
    .await;
    assert_eq!(v["error"]["data"]["kind"], "io", "{v}");
    assert_eq!(
        fs::read_to_string(sandbox.join("outside/secret.txt")).expect("read"),
        SECRET
    );
    assert!(!sandbox.join("notes/private/x.txt").exists());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_out_of_the_scope_is_refused() {
    let sandbox = sandbox("link");
    std::os::unix::fs::symlink(sandbox.join("outside"), sandbox.join("notes/escape"))
        .expect("symlink");
    let router = router(&sandbox, None);
    let main = router.caller(CallerInfo::local("main"));
    for (method, params) in [
        (
            READ,
            json!({"path": path(&sandbox, "notes/escape/secret.txt")}),
        ),
        (
            WRITE,
            json!({"path": path(&sandbox, "notes/escape/secret.txt"), "contents": "x"}),
        ),
        (LIST, json!({"path": path(&sandbox, "notes/escape")})),
    ] {
        let v = call(&router, &main, method, params.clone()).await;
        assert_eq!(
            v["error"]["data"]["kind"], "outsideScope",
            "{method} {params}: {v}"
        );
    }
    assert_eq!(
        fs::read_to_string(sandbox.join("outside/secret.txt")).expect("read"),
        SECRET
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcards_do_not_reach_dot_files_unless_configured() {
    let sandbox = sandbox("dot");
    let p = |relative| path(&sandbox, relative);
    let router_default = router(&sandbox, None);
    let viewer = router_default.caller(CallerInfo::local("viewer"));
    let v = call(
        &router_default,
        &viewer,
        READ,
        json!({"path": p("notes/shared/a.txt")}),
    )
    .await;
    assert_eq!(v["result"], "shared", "{v}");
    for hidden in ["notes/shared/.env", "notes/shared/.ssh/id_ed25519"] {
        let v = call(&router_default, &viewer, READ, json!({"path": p(hidden)})).await;
        assert_eq!(v["error"]["data"]["kind"], "outsideScope", "{hidden}: {v}");
    }
    let v = call(
        &router_default,
        &viewer,
        LIST,
        json!({"path": p("notes/shared/.ssh")}),
    )
    .await;
    assert_eq!(v["error"]["data"]["kind"], "outsideScope", "{v}");

    let config: Config =
        serde_json::from_str(r#"{"requireLiteralLeadingDot": false}"#).expect("Tauri's key");
    assert!(!config.require_literal_leading_dot);
    let defaults: Config = serde_json::from_str("{}").expect("empty");
    assert_eq!(defaults, Config::default());
    assert!(defaults.require_literal_leading_dot);
    assert!(serde_json::from_str::<Config>(r#"{"requireLiteralLeadingdot": false}"#).is_err());

    let router_opted_out = router(&sandbox, Some(config));
    let viewer = router_opted_out.caller(CallerInfo::local("viewer"));
    let v = call(
        &router_opted_out,
        &viewer,
        READ,
        json!({"path": p("notes/shared/.env")}),
    )
    .await;
    assert_eq!(v["result"], "TOKEN=1", "{v}");
    let v = call(
        &router_opted_out,
        &viewer,
        READ,
        json!({"path": p("notes/shared/.ssh/id_ed25519")}),
    )
    .await;
    assert_eq!(v["result"], "KEY", "{v}");
}

#[cfg(unix)]
mod races {
    //! 10 000 calls each, through `Router::handle`, while a thread swaps the file or folder
    //! they touch for a link out of the scope.

    use super::*;
    use racer::{names, Racer, ITERATIONS};

    /// Calls `method` with `params(i)` [`ITERATIONS`] times as `main`; `check` sees every
    /// reply. Returns (results, errors).
    async fn hammer(
        router: &Router,
        method: &str,
        params: impl Fn(usize) -> Value,
        check: impl Fn(usize, &Value),
    ) -> (usize, usize) {
        let main = router.caller(CallerInfo::local("main"));
        let (mut ok, mut refused) = (0, 0);
        for i in 0..ITERATIONS {
            let v = call(router, &main, method, params(i)).await;
            check(i, &v);
            if v.get("result").is_some() {
                ok += 1;
            } else {
                refused += 1;
            }
        }
        (ok, refused)
    }

    fn assert_outside_untouched(sandbox: &Sandbox) {
        assert_eq!(names(&sandbox.join("outside")), ["note.txt", "secret.txt"]);
        for name in ["note.txt", "secret.txt"] {
            assert_eq!(
                fs::read_to_string(sandbox.join("outside").join(name)).expect("read"),
                SECRET,
                "{name} was written"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn read_file_never_reads_outside() {
        let sandbox = sandbox("race-read");
        let router = router(&sandbox, None);
        let file = path(&sandbox, "notes/welcome.txt");
        let note = path(&sandbox, "notes/folder/note.txt");
        let never_secret = |i: usize, v: &Value| assert_ne!(v["result"], SECRET, "#{i}: {v}");

        let racer = Racer::file(
            &sandbox.join("notes/welcome.txt"),
            &sandbox.join("outside/secret.txt"),
            "hello",
        );
        let counts = hammer(&router, READ, |_| json!({"path": file}), never_secret).await;
        eprintln!(
            "read_file, file swapped: {counts:?}, {} swaps",
            racer.stop()
        );

        let racer = Racer::folder(&sandbox.join("notes/folder"), &sandbox.join("outside"));
        let counts = hammer(&router, READ, |_| json!({"path": note}), never_secret).await;
        eprintln!(
            "read_file, folder swapped: {counts:?}, {} swaps",
            racer.stop()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn write_file_never_writes_outside() {
        let sandbox = sandbox("race-write");
        let router = router(&sandbox, None);
        let file = path(&sandbox, "notes/welcome.txt");
        let note = path(&sandbox, "notes/folder/note.txt");

        let racer = Racer::file(
            &sandbox.join("notes/welcome.txt"),
            &sandbox.join("outside/secret.txt"),
            "hello",
        );
        let counts = hammer(
            &router,
            WRITE,
            |i| json!({"path": file, "contents": format!("w{i}")}),
            |_, _| {},
        )
        .await;
        eprintln!(
            "write_file, file swapped: {counts:?}, {} swaps",
            racer.stop()
        );
        assert_outside_untouched(&sandbox);

        let racer = Racer::folder(&sandbox.join("notes/folder"), &sandbox.join("outside"));
        let counts = hammer(
            &router,
            WRITE,
            |i| json!({"path": note, "contents": format!("w{i}")}),
            |_, _| {},
        )
        .await;
        eprintln!(
            "write_file, folder swapped: {counts:?}, {} swaps",
            racer.stop()
        );
        assert_outside_untouched(&sandbox);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn list_dir_never_lists_outside() {
        let sandbox = sandbox("race-list");
        let router = router(&sandbox, None);
        let folder = path(&sandbox, "notes/folder");
        let racer = Racer::folder(&sandbox.join("notes/folder"), &sandbox.join("outside"));
        let counts = hammer(
            &router,
            LIST,
            |_| json!({"path": folder}),
            |i, v| {
                let listed = v["result"].as_array().cloned().unwrap_or_default();
                assert!(!listed.contains(&json!("secret.txt")), "#{i}: {v}");
            },
        )
        .await;
        eprintln!(
            "list_dir, folder swapped: {counts:?}, {} swaps",
            racer.stop()
        );
    }
}
