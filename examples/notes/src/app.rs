//! Starting the application: the router, the web server, the two windows.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gatehouse::ws::{Server, ServerHandle, Window};
use gatehouse::Router;

use crate::config::Config;
use crate::error::Error;
use crate::files::NotesDir;

/// The router serving the notes in `data_dir` (created if missing), with the ACL compiled from
/// `permissions/` and `capabilities/`.
///
/// # Errors
///
/// The folder cannot be created, or the router refuses its commands.
pub fn router(data_dir: &Path) -> Result<Arc<Router>, Error> {
    let dir = NotesDir::open(data_dir).map_err(|source| Error::DataDir {
        path: data_dir.to_owned(),
        source,
    })?;
    let router = Router::builder(gatehouse::acl!())
        .commands(gatehouse::commands![
            crate::commands::list_notes,
            crate::commands::read_note,
            crate::commands::write_note,
            crate::commands::delete_note,
            crate::commands::search,
            crate::commands::whoami,
        ])
        .manage(dir.base_dirs())
        .manage(dir)
        .build()?;
    Ok(Arc::new(router))
}

/// The running application: its server and its two windows.
#[derive(Debug)]
pub struct App {
    router: Arc<Router>,
    server: ServerHandle,
    main: Window,
    viewer: Window,
    addr: SocketAddr,
    data_dir: PathBuf,
}

/// Starts the notes application: opens the notes folder, builds the router, starts the web
/// server on the current tokio runtime and registers the windows `main` (reads and writes)
/// and `viewer` (only reads).
///
/// # Errors
///
/// The notes folder cannot be opened, or the server cannot bind.
pub async fn start(config: Config) -> Result<App, Error> {
    let router = router(&config.data_dir)?;
    let server = Server::builder(Arc::clone(&router))
        .frontend(&config.frontend)
        .bind(config.bind)
        .build()
        .await?;
    let main = server.window("main");
    let viewer = server.window("viewer");
    let addr = server.local_addr();
    let data_dir = std::fs::canonicalize(&config.data_dir).unwrap_or(config.data_dir);
    tracing::info!(%addr, data = %data_dir.display(), "notes server listening");
    Ok(App {
        router,
        server: server.spawn(),
        main,
        viewer,
        addr,
        data_dir,
    })
}

impl App {
    /// The URL of the `main` window (it carries the window's secret token).
    pub fn main_url(&self) -> String {
        self.main.url()
    }

    /// The URL of the `viewer` window (it carries the window's secret token).
    pub fn viewer_url(&self) -> String {
        self.viewer.url()
    }

    /// The `main` window.
    pub fn main(&self) -> &Window {
        &self.main
    }

    /// The `viewer` window.
    pub fn viewer(&self) -> &Window {
        &self.viewer
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The notes folder (absolute).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The router, to call commands in-process or emit events.
    pub fn router(&self) -> &Arc<Router> {
        &self.router
    }

    /// Stops the server and waits until it has.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
