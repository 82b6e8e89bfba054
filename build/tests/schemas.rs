//! The committed JSON Schemas are the ones the types generate. Regenerate them with
//! `GATEHOUSE_BLESS=1 cargo test -p gatehouse-build --test schemas`.

use std::path::Path;

#[test]
fn committed_schemas_are_current() {
    let (permissions, capabilities) = gatehouse_build::schemas();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    for (name, text) in [
        ("permissions.schema.json", permissions),
        ("capability.schema.json", capabilities),
    ] {
        let path = dir.join(name);
        if std::env::var_os("GATEHOUSE_BLESS").is_some() {
            std::fs::write(&path, &text).expect("write schema");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "{} is out of date: run GATEHOUSE_BLESS=1 cargo test -p gatehouse-build --test schemas",
            path.display()
        );
        let schema: serde_json::Value = serde_json::from_str(&text).expect("a schema is JSON");
        assert!(schema["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("json-schema.org")));
    }
}
