//! Checks this plugin's permissions and exports them, with its commands, to applications.

fn main() {
    gatehouse_build::export_plugin("fs").expect("gatehouse: invalid plugin permissions");
}
