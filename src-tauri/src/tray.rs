//! The tray icon: Open, Stop server, Quit. With the local API running,
//! closing the window hides it and the app keeps serving; Quit ends both.

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};

use crate::api_server::ApiServer;

pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Switchboard", true, None::<&str>)?;
    let stop = MenuItem::with_id(app, "stop-server", "Stop server", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &stop, &quit])?;
    let mut tray = TrayIconBuilder::with_id("main").tooltip("Switchboard").menu(&menu);
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.on_menu_event(|app, event| match event.id.as_ref() {
        "open" => crate::single_instance::show_window(app),
        "stop-server" => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                app.state::<ApiServer>().stop().await;
                // Nothing to serve and no window: nothing left to run for.
                if app.get_webview_window("main").is_none_or(|w| !w.is_visible().unwrap_or(true)) {
                    app.exit(0);
                }
            });
        }
        "quit" => app.exit(0),
        _ => {}
    })
    .build(app)?;
    Ok(())
}
