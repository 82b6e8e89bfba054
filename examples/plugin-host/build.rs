//! Compiles `permissions/` and `capabilities/` into the static ACL that `gatehouse::acl!()`
//! includes.

fn main() {
    gatehouse_build::build().expect("gatehouse: invalid ACL");
}
