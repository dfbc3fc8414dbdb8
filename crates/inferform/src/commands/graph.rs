//! `inferform graph`: the configuration's dependency graph in DOT.

use std::path::Path;

use crate::ui::Ui;
use crate::workspace;

pub fn run(dir: &Path, ui: &Ui) -> u8 {
    let (config, diags) = inferform_lang::load_dir(dir, &workspace::display_dir(dir));
    if ui.diagnostics(diags.iter()) {
        return 1;
    }
    ui.out(&inferform_engine::graph::to_dot(&config));
    0
}
