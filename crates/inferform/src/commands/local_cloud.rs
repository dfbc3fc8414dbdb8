//! `inferform local-cloud serve`: the local cloud, standalone, until Ctrl-C.

use inferform_local_cloud::{Config, LocalCloud};

use crate::ui::Ui;
use crate::LocalCloudCommand;

pub async fn run(cmd: LocalCloudCommand, ui: &Ui) -> u8 {
    let LocalCloudCommand::Serve {
        addr,
        data,
        config,
        access_key,
        secret_key,
        alaya_access_key,
        alaya_secret_key,
    } = cmd;
    let mut cfg = match config {
        Some(path) => match Config::load(&path) {
            Ok(c) => c,
            Err(e) => {
                ui.error_line(&format!("Error: cannot read {}: {e}", path.display()));
                return 1;
            }
        },
        None => Config::default(),
    };
    if data.is_some() {
        cfg.data_dir = data;
    }
    // Flags win over the config file, which wins over the documented local defaults.
    for (flag, key) in [
        (access_key, &mut cfg.fabric_access_key),
        (secret_key, &mut cfg.fabric_secret_key),
        (alaya_access_key, &mut cfg.alaya_access_key),
        (alaya_secret_key, &mut cfg.alaya_secret_key),
    ] {
        if let Some(value) = flag {
            *key = value;
        }
    }
    let cloud = match LocalCloud::start(cfg, addr).await {
        Ok(c) => c,
        Err(e) => {
            ui.error_line(&format!(
                "Error: cannot start the local cloud on {addr}: {e}"
            ));
            return 1;
        }
    };
    ui.line(&format!("local cloud listening on {}", cloud.base_url()));
    ui.line(
        "  DataArts Fabric: endpoint and ep_endpoint = this URL; Alaya NeW: endpoint = this URL",
    );
    ui.line("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    cloud.shutdown().await;
    0
}
