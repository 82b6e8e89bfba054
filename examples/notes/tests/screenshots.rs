//! Screenshots of the notes page, as the README shows it: the `main` window with a note open
//! and the `viewer` window after a search and a refused save. Each is checked to be a PNG; with
//! `GATEHOUSE_SCREENSHOTS=<folder>` they are also saved there as `notes-main.png` and
//! `notes-viewer.png` (the README's are made with `GATEHOUSE_SCREENSHOTS=docs/screenshots`,
//! relative to the workspace).

#[path = "support/browser.rs"]
mod browser;
#[path = "support/temp.rs"]
mod temp;

use std::path::PathBuf;

use browser::{bounded, Driver};
use temp::TempDir;

const NOTES: &[(&str, &str)] = &[
    (
        "Groceries",
        "# Groceries\n\n- oat milk\n- eggs (a dozen)\n- sourdough bread\n- coffee beans\n- lemons, basil\n",
    ),
    (
        "Trip to Lisbon",
        "# Trip to Lisbon\n\nFlights on the 14th, back on the 21st.\n\n- book the tram 28 early\n- pastéis de nata in Belém\n- ask Rui about the fado place\n",
    ),
    (
        "Reading list",
        "# Reading list\n\n1. The Rust Programming Language\n2. Designing Data-Intensive Applications\n3. A Philosophy of Software Design\n",
    ),
    (
        "Ideas",
        "# Ideas\n\nA notes app whose core decides what each window may do.\nMilk the idea for a blog post.\n",
    ),
    (
        "Meeting 2024-05-02",
        "# Meeting 2024-05-02\n\nAttendees: Ann, Rui, Sam\n\n- ship the WebSocket transport\n- screenshots for the README\n- buy milk for the office\n",
    ),
];

fn out_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("GATEHOUSE_SCREENSHOTS").filter(|d| !d.is_empty())?;
    let dir = PathBuf::from(dir);
    // Relative to the workspace root, not to this crate (where cargo runs tests).
    Some(if dir.is_absolute() {
        dir
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(dir)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_the_main_and_viewer_windows() {
    bounded(async {
        let dir = TempDir::new("screenshots");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("mkdir");
        for (name, body) in NOTES {
            std::fs::write(data.join(format!("{name}.md")), body).expect("seed a note");
        }
        let app = notes::start(notes::Config {
            data_dir: data,
            ..notes::Config::default()
        })
        .await
        .expect("start");
        let driver = Driver::start().await;
        let (main, viewer) = tokio::join!(driver.browser(), driver.browser());
        let (main_url, viewer_url) = (app.main_url(), app.viewer_url());
        tokio::join!(main.open_notes(&main_url), viewer.open_notes(&viewer_url));

        main.click("#notes li[data-name=\"Trip to Lisbon\"]").await;
        main.until(
            "the note to open",
            "return document.getElementById('name').value === 'Trip to Lisbon';",
        )
        .await;
        main.click("#body").await;

        viewer.type_into("#search", "milk").await;
        viewer
            .until(
                "the search results",
                "return document.querySelectorAll('#notes li mark').length >= 3;",
            )
            .await;
        viewer.click("#notes li[data-name=\"Groceries\"]").await;
        viewer
            .until(
                "the note to open",
                "return document.getElementById('name').value === 'Groceries';",
            )
            .await;
        // The viewer may try to save; the core refuses, and the status line says so.
        viewer.click("#save").await;
        viewer
            .until(
                "the refusal",
                "return document.getElementById('status').textContent.includes('not allowed');",
            )
            .await;

        let shots = [
            ("notes-main.png", main.screenshot().await),
            ("notes-viewer.png", viewer.screenshot().await),
        ];
        for (name, png) in &shots {
            assert!(
                png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
                "{name} is not a real PNG"
            );
        }
        if let Some(out) = out_dir() {
            std::fs::create_dir_all(&out).expect("create the screenshot folder");
            for (name, png) in &shots {
                std::fs::write(out.join(name), png).expect("save the screenshot");
            }
        }

        tokio::join!(main.close(), viewer.close());
        app.shutdown().await;
    })
    .await;
}
