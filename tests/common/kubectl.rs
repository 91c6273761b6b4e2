//! The real kubectl the suite drives: `DRIFTWARDEN_KUBECTL` (which `scripts/test` exports),
//! else the one `scripts/test` installs in `.venv`. Without either a test fails and says
//! so, unless `DRIFTWARDEN_SKIP_KUBECTL=1`, when it is skipped (`None`).

use std::path::{Path, PathBuf};

pub fn kubectl_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DRIFTWARDEN_KUBECTL").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/kubectl");
    if venv.is_file() {
        return Some(venv);
    }
    if std::env::var("DRIFTWARDEN_SKIP_KUBECTL").is_ok_and(|v| v == "1") {
        eprintln!("skipped: DRIFTWARDEN_SKIP_KUBECTL=1 and no kubectl found");
        return None;
    }
    panic!(
        "kubectl not found: run the suite with scripts/test (it installs kubectl 1.37 into .venv and sets \
         DRIFTWARDEN_KUBECTL), or set DRIFTWARDEN_SKIP_KUBECTL=1 to skip the kubectl tests"
    );
}
