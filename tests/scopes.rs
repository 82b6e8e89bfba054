//! Scopes reach commands: the values of every capability that applies to the caller, built once
//! per caller and command, with global scopes per plugin.

use std::sync::atomic::{AtomicUsize, Ordering};

use gatehouse::{
    command, commands, Acl, CallerInfo, Capability, CommandScope, GlobalScope, Invocation,
    PathScope, Router, RpcError, Scope, ScopeList, ScopeValues,
};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Deserialize, PartialEq)]
struct Url {
    url: String,
}

#[command]
fn fetch(scope: CommandScope<ScopeList<Url>>, global: GlobalScope<ScopeList<Url>>) -> Value {
    let urls = |list: &[Url]| list.iter().map(|u| u.url.clone()).collect::<Vec<_>>();
    json!({
        "allow": urls(&scope.allow),
        "deny": urls(&scope.deny),
        "globalAllow": urls(&global.allow),
    })
}

static BUILT: AtomicUsize = AtomicUsize::new(0);

/// Counts how often it is built, to show the cache works.
struct Counted(usize);

impl Scope for Counted {
    fn from_values(values: &ScopeValues<'_>, _: &Invocation<'_>) -> Result<Self, RpcError> {
        BUILT.fetch_add(1, Ordering::SeqCst);
        Ok(Counted(values.allow.len()))
    }
}

#[command]
fn counted(scope: CommandScope<Counted>) -> usize {
    scope.0
}

#[command]
fn strict(scope: CommandScope<ScopeList<Url>>) -> usize {
    scope.allow.len()
}

fn router() -> Router {
    let acl = Acl::builder()
        .commands(["counted", "fetch", "strict"])
        .capability(
            Capability::builder("main")
                .windows(["main"])
                .allow(["fetch", "counted", "strict"])
                .scope(
                    "fetch",
                    [json!({"url": "https://a.test/"})],
                    [json!({"url": "https://a.test/admin"})],
                )
                .scope("counted", [1, 2, 3], Vec::<i32>::new())
                .scope("strict", [json!({"not": "a url"})], Vec::<Value>::new())
                .global_scope(
                    "",
                    [json!({"url": "https://everywhere.test/"})],
                    Vec::<Value>::new(),
                ),
        )
        .capability(
            Capability::builder("extra")
                .windows(["main", "other"])
                .allow(["fetch"])
                .scope(
                    "fetch",
                    [json!({"url": "https://b.test/"})],
                    Vec::<Value>::new(),
                ),
        )
        .build()
        .expect("valid ACL");
    Router::builder(acl)
        .commands(commands![fetch, counted, strict])
        .build()
        .expect("router")
}

async fn call(router: &Router, label: &str, method: &str) -> Value {
    let caller = router.caller(CallerInfo::local(label));
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method});
    let reply = router
        .handle(&caller, request.to_string().as_bytes())
        .await
        .expect("reply");
    serde_json::from_slice(&reply).expect("JSON")
}

#[tokio::test]
async fn commands_receive_the_scopes_of_the_capabilities_that_apply() {
    let r = router();
    let main = call(&r, "main", "fetch").await;
    assert_eq!(
        main["result"],
        json!({
            "allow": ["https://a.test/", "https://b.test/"],
            "deny": ["https://a.test/admin"],
            "globalAllow": ["https://everywhere.test/"],
        })
    );
    let other = call(&r, "other", "fetch").await;
    assert_eq!(
        other["result"],
        json!({"allow": ["https://b.test/"], "deny": [], "globalAllow": []})
    );
}

#[tokio::test]
async fn a_scope_is_built_once_per_caller_and_command() {
    let r = router();
    let caller = r.caller(CallerInfo::local("main"));
    let before = BUILT.load(Ordering::SeqCst);
    for id in 0..5 {
        let request = json!({"jsonrpc": "2.0", "id": id, "method": "counted"});
        let reply = r
            .handle(&caller, request.to_string().as_bytes())
            .await
            .expect("reply");
        let reply: Value = serde_json::from_slice(&reply).expect("JSON");
        assert_eq!(reply["result"], 3);
    }
    assert_eq!(BUILT.load(Ordering::SeqCst) - before, 1);
}

#[tokio::test]
async fn a_value_that_does_not_fit_the_scope_type_stops_the_call() {
    let v = call(&router(), "main", "strict").await;
    assert_eq!(v["error"]["code"], -32603, "{v}");
}

/// Reads a file through the path scope of its grants.
#[command]
fn read_text(files: CommandScope<PathScope>, path: String) -> Result<String, String> {
    let mut text = String::new();
    let mut file = files.open(&path).map_err(|e| e.to_string())?;
    std::io::Read::read_to_string(&mut file, &mut text).map_err(|e| e.to_string())?;
    Ok(text)
}

#[tokio::test]
async fn a_command_can_take_a_path_scope_that_opens_files() {
    let dir = std::env::temp_dir().join(format!("gatehouse-scopes-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("public")).expect("mkdir");
    std::fs::write(dir.join("public/a.txt"), "public").expect("write");
    std::fs::write(dir.join("secret.txt"), "secret").expect("write");
    let dir = std::fs::canonicalize(&dir).expect("resolve");
    let allow = format!("{}/public/*", dir.display());
    let acl = Acl::builder()
        .commands(["read_text"])
        .capability(
            Capability::builder("main")
                .windows(["main"])
                .allow(["read_text"])
                .scope("read_text", [json!({ "path": allow })], Vec::<Value>::new()),
        )
        .build()
        .expect("valid ACL");
    let router = Router::builder(acl)
        .commands(commands![read_text])
        .build()
        .expect("router");
    let caller = router.caller(CallerInfo::local("main"));
    let read = |path: std::path::PathBuf| {
        let request =
            json!({"jsonrpc": "2.0", "id": 1, "method": "read_text", "params": {"path": path}});
        let router = &router;
        let caller = caller.clone();
        async move {
            let reply = router
                .handle(&caller, request.to_string().as_bytes())
                .await
                .expect("reply");
            serde_json::from_slice::<Value>(&reply).expect("JSON")
        }
    };
    assert_eq!(read(dir.join("public/a.txt")).await["result"], "public");
    let refused = read(dir.join("public/../secret.txt")).await;
    assert_eq!(refused["error"]["code"], -32000, "{refused}");
    assert!(
        refused["error"]["data"]
            .as_str()
            .is_some_and(|m| m.contains("outside the scope")),
        "{refused}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
