//! `core:` — Tauri 2's namespace for its built-in plugins, as Tauri 2.11 defines it.
//!
//! Every `core:<plugin>:allow-<command>` / `deny-<command>`, every `core:<plugin>:default` and
//! `core:default` that Tauri ships is known here, so a Tauri application's capability files
//! resolve unchanged. Each command is marked with two facts: whether Tauri puts it in its
//! plugin's default set, and whether Gatehouse's runtime serves it. What Gatehouse serves is
//! granted; what it does not (windows, webviews, menus, trays, images — they need a webview) is
//! known but grants nothing, and the build says so once per capability.
//!
//! The table is written from Tauri's public reference of its core permissions; it changes
//! between Tauri minor releases (2.11 added `app`'s `supports_multiple_windows`, `tray`'s
//! `set_icon_with_as_template` and `window`'s `activity_name` and `scene_identifier` to the
//! defaults), so it names the release it follows.

use crate::diagnostic::Source;
use crate::resolve::Owner;

/// The Tauri release the table follows.
pub(crate) const TAURI_VERSION: &str = "2.11";

/// In the plugin's default set.
const D: u8 = 1;
/// Served by Gatehouse's runtime.
const S: u8 = 2;
/// Neither.
const N: u8 = 0;

/// One built-in plugin: its name after `core:` and its commands with their flags.
struct Plugin {
    name: &'static str,
    commands: &'static [(&'static str, u8)],
}

/// Tauri 2's built-in plugins, in the order `core:default` lists their defaults.
const PLUGINS: &[Plugin] = &[
    Plugin {
        name: "path",
        commands: &[
            ("resolve_directory", D | S),
            ("resolve", D | S),
            ("normalize", D | S),
            ("join", D | S),
            ("dirname", D | S),
            ("extname", D | S),
            ("basename", D | S),
            ("is_absolute", D | S),
        ],
    },
    Plugin {
        name: "event",
        commands: &[
            ("listen", D | S),
            ("unlisten", D | S),
            ("emit", D | S),
            ("emit_to", D | S),
        ],
    },
    Plugin {
        name: "window",
        commands: &[
            ("create", N),
            // Getters, in the default set.
            ("get_all_windows", D),
            ("scale_factor", D),
            ("inner_position", D),
            ("outer_position", D),
            ("inner_size", D),
            ("outer_size", D),
            ("is_fullscreen", D),
            ("is_minimized", D),
            ("is_maximized", D),
            ("is_focused", D),
            ("is_decorated", D),
            ("is_resizable", D),
            ("is_maximizable", D),
            ("is_minimizable", D),
            ("is_closable", D),
            ("is_visible", D),
            ("is_enabled", D),
            ("title", D),
            ("current_monitor", D),
            ("primary_monitor", D),
            ("monitor_from_point", D),
            ("available_monitors", D),
            ("cursor_position", D),
            ("theme", D),
            ("is_always_on_top", D),
            ("activity_name", D),
            ("scene_identifier", D),
            ("internal_toggle_maximize", D),
            // Setters, not in the default set.
            ("center", N),
            ("request_user_attention", N),
            ("set_enabled", N),
            ("set_resizable", N),
            ("set_maximizable", N),
            ("set_minimizable", N),
            ("set_closable", N),
            ("set_title", N),
            ("maximize", N),
            ("unmaximize", N),
            ("minimize", N),
            ("unminimize", N),
            ("show", N),
            ("hide", N),
            ("close", N),
            ("destroy", N),
            ("set_decorations", N),
            ("set_shadow", N),
            ("set_effects", N),
            ("set_always_on_top", N),
            ("set_always_on_bottom", N),
            ("set_visible_on_all_workspaces", N),
            ("set_content_protected", N),
            ("set_size", N),
            ("set_min_size", N),
            ("set_size_constraints", N),
            ("set_max_size", N),
            ("set_position", N),
            ("set_fullscreen", N),
            ("set_simple_fullscreen", N),
            ("set_focus", N),
            ("set_focusable", N),
            ("set_skip_taskbar", N),
            ("set_cursor_grab", N),
            ("set_cursor_visible", N),
            ("set_cursor_icon", N),
            ("set_cursor_position", N),
            ("set_ignore_cursor_events", N),
            ("start_dragging", N),
            ("start_resize_dragging", N),
            ("set_progress_bar", N),
            ("set_badge_count", N),
            ("set_overlay_icon", N),
            ("set_badge_label", N),
            ("set_icon", N),
            ("set_title_bar_style", N),
            ("set_theme", N),
            ("toggle_maximize", N),
            ("set_background_color", N),
        ],
    },
    Plugin {
        name: "webview",
        commands: &[
            ("create_webview", N),
            ("create_webview_window", N),
            ("get_all_webviews", D),
            ("webview_position", D),
            ("webview_size", D),
            ("webview_close", N),
            ("set_webview_size", N),
            ("set_webview_position", N),
            ("set_webview_focus", N),
            ("set_webview_auto_resize", N),
            ("set_webview_zoom", N),
            ("webview_hide", N),
            ("webview_show", N),
            ("print", N),
            ("reparent", N),
            ("clear_all_browsing_data", N),
            ("set_webview_background_color", N),
            ("internal_toggle_devtools", D),
        ],
    },
    Plugin {
        name: "app",
        commands: &[
            ("version", D | S),
            ("name", D | S),
            ("tauri_version", D),
            ("identifier", D | S),
            ("bundle_type", D),
            ("register_listener", D),
            ("remove_listener", D),
            ("supports_multiple_windows", D),
            ("app_show", N),
            ("app_hide", N),
            ("fetch_data_store_identifiers", N),
            ("remove_data_store", N),
            ("default_window_icon", N),
            ("set_app_theme", N),
            ("set_dock_visibility", N),
        ],
    },
    Plugin {
        name: "image",
        commands: &[
            ("new", D),
            ("from_bytes", D),
            ("from_path", D),
            ("rgba", D),
            ("size", D),
        ],
    },
    Plugin {
        name: "resources",
        commands: &[("close", D)],
    },
    Plugin {
        name: "menu",
        commands: &[
            ("new", D),
            ("append", D),
            ("prepend", D),
            ("insert", D),
            ("remove", D),
            ("remove_at", D),
            ("items", D),
            ("get", D),
            ("popup", D),
            ("create_default", D),
            ("set_as_app_menu", D),
            ("set_as_window_menu", D),
            ("text", D),
            ("set_text", D),
            ("is_enabled", D),
            ("set_enabled", D),
            ("set_accelerator", D),
            ("set_as_windows_menu_for_nsapp", D),
            ("set_as_help_menu_for_nsapp", D),
            ("is_checked", D),
            ("set_checked", D),
            ("set_icon", D),
        ],
    },
    Plugin {
        name: "tray",
        commands: &[
            ("new", D),
            ("get_by_id", D),
            ("remove_by_id", D),
            ("set_icon", D),
            ("set_menu", D),
            ("set_tooltip", D),
            ("set_title", D),
            ("set_visible", D),
            ("set_temp_dir_path", D),
            ("set_icon_as_template", D),
            ("set_icon_with_as_template", D),
            ("set_show_menu_on_left_click", D),
        ],
    },
];

/// The built-in owners: one per `core:<plugin>` with its generated `allow-`/`deny-`
/// permissions and its default set, and `core` itself, whose only entry is `core:default`.
pub(crate) fn owners() -> Vec<Owner> {
    let mut owners: Vec<Owner> = PLUGINS.iter().map(plugin_owner).collect();
    let members: Vec<String> = PLUGINS
        .iter()
        .map(|p| format!("\"core:{}:default\"", p.name))
        .collect();
    owners.push(Owner {
        plugin: Some("core".to_owned()),
        commands: Vec::new(),
        commands_known: true,
        files: default_file("core", &members),
    });
    owners
}

fn plugin_owner(plugin: &Plugin) -> Owner {
    let members: Vec<String> = plugin
        .commands
        .iter()
        .filter(|(_, flags)| flags & D != 0)
        .map(|(c, _)| format!("\"allow-{}\"", c.replace('_', "-")))
        .collect();
    let name = format!("core:{}", plugin.name);
    Owner {
        files: default_file(&name, &members),
        plugin: Some(name),
        commands: plugin
            .commands
            .iter()
            .map(|(c, _)| (*c).to_owned())
            .collect(),
        commands_known: true,
    }
}

/// A permission file holding only a default set, as Tauri generates for each core plugin.
fn default_file(owner: &str, members: &[String]) -> Vec<(Source, crate::model::PermissionFile)> {
    let source = Source {
        path: format!("<Tauri {TAURI_VERSION} {owner}>").into(),
        text: format!(
            "[default]\ndescription = \"Tauri {TAURI_VERSION}'s default set of `{owner}`.\"\npermissions = [{}]\n",
            members.join(", ")
        ),
    };
    match crate::parse::permission_file(&source) {
        Ok(file) => vec![(source, file)],
        // The text is built from the fixed table above; a unit test keeps it parsing.
        Err(_) => Vec::new(),
    }
}

/// Whether Gatehouse's runtime serves the core command `plugin:<plugin>|<command>`.
pub fn served(full_name: &str) -> bool {
    let Some((plugin, command)) = full_name
        .strip_prefix("plugin:")
        .and_then(|rest| rest.split_once('|'))
    else {
        return false;
    };
    PLUGINS.iter().any(|p| {
        p.name == plugin
            && p.commands
                .iter()
                .any(|(c, flags)| *c == command && flags & S != 0)
    })
}

/// Every core command Gatehouse serves, by full name (`plugin:path|join`), sorted.
pub fn served_commands() -> Vec<String> {
    let mut all: Vec<String> = PLUGINS
        .iter()
        .flat_map(|p| {
            p.commands
                .iter()
                .filter(|(_, flags)| flags & S != 0)
                .map(move |(c, _)| format!("plugin:{}|{c}", p.name))
        })
        .collect();
    all.sort();
    all
}

/// Every core command Tauri's `core:default` grants, by full name, sorted.
pub fn tauri_default_commands() -> Vec<String> {
    let mut all: Vec<String> = PLUGINS
        .iter()
        .flat_map(|p| {
            p.commands
                .iter()
                .filter(|(_, flags)| flags & D != 0)
                .map(move |(c, _)| format!("plugin:{}|{c}", p.name))
        })
        .collect();
    all.sort();
    all
}

/// Every permission identifier of the catalogue (`core:default`, `core:window:default`,
/// `core:window:allow-set-title`, …), sorted.
pub fn identifiers() -> Vec<String> {
    let mut all = vec!["core:default".to_owned()];
    for p in PLUGINS {
        all.push(format!("core:{}:default", p.name));
        for (c, _) in p.commands {
            let kebab = c.replace('_', "-");
            all.push(format!("core:{}:allow-{kebab}", p.name));
            all.push(format!("core:{}:deny-{kebab}", p.name));
        }
    }
    all.sort();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_owner_has_its_default_set() {
        let owners = owners();
        assert_eq!(owners.len(), PLUGINS.len() + 1);
        for owner in &owners {
            let [(_, file)] = owner.files.as_slice() else {
                panic!("{:?} has no default file", owner.plugin)
            };
            assert!(file.default.is_some(), "{:?}", owner.plugin);
        }
    }

    #[test]
    fn the_catalogue_is_tauris() {
        // Tauri 2.11: 92 commands in `core:default`, 9 plugins, 163 commands in all.
        assert_eq!(tauri_default_commands().len(), 92);
        let commands: usize = PLUGINS.iter().map(|p| p.commands.len()).sum();
        assert_eq!(commands, 163);
        assert_eq!(identifiers().len(), 1 + PLUGINS.len() + 2 * commands);
        // No command twice in a plugin.
        for p in PLUGINS {
            let mut names: Vec<&str> = p.commands.iter().map(|(c, _)| *c).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), p.commands.len(), "{}", p.name);
        }
        assert_eq!(
            served_commands(),
            [
                "plugin:app|identifier",
                "plugin:app|name",
                "plugin:app|version",
                "plugin:event|emit",
                "plugin:event|emit_to",
                "plugin:event|listen",
                "plugin:event|unlisten",
                "plugin:path|basename",
                "plugin:path|dirname",
                "plugin:path|extname",
                "plugin:path|is_absolute",
                "plugin:path|join",
                "plugin:path|normalize",
                "plugin:path|resolve",
                "plugin:path|resolve_directory",
            ]
        );
        assert!(served("plugin:path|join"));
        assert!(!served("plugin:window|set_title"));
        assert!(!served("join"));
    }
}
