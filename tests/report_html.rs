//! The HTML reports in a real browser: headless Chromium loads each page from a file,
//! takes a screenshot and dumps the DOM after layout. The charts must have drawn (the
//! series' colours are on the screenshot, which is not blank) and the DOM must hold each
//! series with its points, the projection, the deadline and the checkpoints.
//!
//! Chromium comes from `DRIFTWARDEN_CHROMIUM` (which `scripts/test` exports), else
//! `chromium` on the PATH. Without it, the tests fail and say so, unless
//! `DRIFTWARDEN_SKIP_CHROMIUM=1`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use driftwarden::api::campaign::RemediationCampaign;
use driftwarden::api::finding::Finding;
use driftwarden::api::policy::{Mode, PolicyStatus};
use driftwarden::report::{CampaignReport, Format, PolicyReport, svg};
use serde_json::json;

/// Chromium; `None` means skip.
fn chromium_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DRIFTWARDEN_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join("chromium")).find(|p| p.is_file()))
        .unwrap_or_default();
    if found.is_some() {
        return found;
    }
    if std::env::var("DRIFTWARDEN_SKIP_CHROMIUM").is_ok_and(|v| v == "1") {
        eprintln!("skipped: DRIFTWARDEN_SKIP_CHROMIUM=1 and no chromium found");
        return None;
    }
    panic!(
        "chromium not found: install it (Debian/Ubuntu: apt-get install chromium; scripts/test does it when run as \
         root) or set DRIFTWARDEN_SKIP_CHROMIUM=1 to skip the report rendering tests"
    );
}

/// Runs headless Chromium on `page` with `args`, at most two minutes.
fn run_chromium(binary: &Path, profile: &Path, page: &Path, args: &[String]) -> Output {
    let mut child = Command::new(binary)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
        .args(["--disable-extensions", "--disable-background-networking", "--window-size=1200,1600"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    // Polls the child so that a hung browser fails the test instead of hanging it.
    while child.try_wait().expect("chromium runs").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().expect("chromium's output");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// An RGB image.
struct Image {
    width: u32,
    height: u32,
    pixels: Vec<[u8; 3]>,
}

fn decode(path: &Path) -> Image {
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("a screenshot"));
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a size")];
    let frame = reader.next_frame(&mut buffer).expect("a frame");
    let channels = frame.color_type.samples();
    let pixels = buffer[..frame.buffer_size()].chunks(channels).map(|p| [p[0], p[1], p[2]]).collect();
    Image { width: frame.width, height: frame.height, pixels }
}

fn rgb(hex: &str) -> [u8; 3] {
    let value = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
    [(value >> 16) as u8, (value >> 8) as u8, value as u8]
}

impl Image {
    /// How many pixels are within a small distance of `colour`.
    fn count(&self, colour: &str) -> usize {
        let [r, g, b] = rgb(colour);
        self.pixels
            .iter()
            .filter(|p| p[0].abs_diff(r) <= 12 && p[1].abs_diff(g) <= 12 && p[2].abs_diff(b) <= 12)
            .count()
    }

    fn distinct_colours(&self) -> usize {
        self.pixels.iter().collect::<HashSet<_>>().len()
    }

    fn non_white(&self) -> usize {
        self.pixels.iter().filter(|p| p.iter().any(|&c| c < 240)).count()
    }
}

/// The screenshot and the DOM after layout of `html`.
fn render(chromium: &Path, html: &str) -> (Image, String) {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, html).unwrap();
    let shot = dir.path().join("report.png");
    run_chromium(chromium, &dir.path().join("profile-shot"), &page, &[format!("--screenshot={}", shot.display())]);
    let image = decode(&shot);
    assert_eq!((image.width, image.height), (1200, 1600));
    let dom = run_chromium(chromium, &dir.path().join("profile-dom"), &page, &["--dump-dom".to_string()]);
    (image, String::from_utf8(dom.stdout).unwrap())
}

/// The polylines and groups of `series` in the DOM, each with the number of its points.
fn series_points(dom: &str, series: &str) -> Vec<usize> {
    let marker = format!("data-series=\"{series}\"");
    dom.match_indices(&marker)
        .map(|(at, _)| {
            let element = &dom[dom[..at].rfind('<').unwrap()..];
            let element = &element[..element.find('>').unwrap()];
            match element.find(" points=\"") {
                Some(start) if element.starts_with("<polyline") => {
                    let points = &element[start + 9..];
                    points[..points.find('"').unwrap()].split_whitespace().count()
                }
                _ => {
                    element.split("data-points=\"").nth(1).and_then(|p| p.split('"').next()?.parse().ok()).unwrap_or(0)
                }
            }
        })
        .collect()
}

const SEVERITIES: [&str; 4] = ["Critical", "High", "Medium", "Low"];
const TEAMS: [&str; 3] = ["shop", "payments", "<script>alert(1)</script>"];
const CLASSES: [&str; 2] = ["Metadata", "Rollout"];
const ACTIONS: [&str; 2] = ["Remediate", "Escalate"];

fn campaign() -> (RemediationCampaign, Vec<Finding>) {
    let day = |d: u32| format!("2026-04-{d:02}T00:00:00Z");
    let campaign = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign",
        "metadata": {"name": "no-token-automount", "uid": "c-1"},
        "spec": {
            "objective": "No workload mounts a token it does not use",
            "owner": {"team": "platform-security"},
            "control": {"check": {"name": "ServiceAccountTokenAutomount"}},
            "deadline": day(28), "successCriteria": {"compliantPercent": 90},
            "checkpoints": [{"date": day(7), "compliantPercent": 20}, {"date": day(14), "compliantPercent": 60},
                            {"date": day(24), "compliantPercent": 80}]
        },
        "status": {
            "total": 40, "findings": {"open": 14, "escalated": 6, "closed": 18, "excepted": 2}, "compliantPercent": 50,
            "checkpoints": [
                {"date": day(7), "target": 20, "actual": 25, "result": "Met"},
                {"date": day(14), "target": 60, "actual": 40, "result": "Missed"},
                {"date": day(24), "target": 80, "actual": 50, "result": "Pending"}
            ],
            "burnDown": (1..=18).map(|d| json!({"time": day(d), "open": 40 - d, "closed": d})).collect::<Vec<_>>(),
            "projectedCompletion": day(26)
        }
    }))
    .unwrap();
    let findings = (0..40)
        .map(|i| {
            let state = if i % 2 == 0 { "Closed" } else { "Open" };
            serde_json::from_value(json!({
                "apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding",
                "metadata": {"name": format!("no-token-automount.deployment.app-{i}"), "namespace": "shop",
                    "creationTimestamp": day(1 + i % 10)},
                "spec": {"campaign": "no-token-automount", "control": "ServiceAccountTokenAutomount",
                    "severity": SEVERITIES[i as usize % 4],
                    "asset": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": format!("app-{i}")},
                    "owner": {"team": TEAMS[i as usize % 3]}},
                "status": {"state": state, "lastTransitionTime": day(10 + i % 8),
                    "evidence": [{"time": day(10 + i % 8), "action": "Verified", "actor": "driftwarden",
                        "resourceVersion": "88", "desiredHash": "9f2c", "liveHash": "9f2c", "result": "Succeeded"}]}
            }))
            .unwrap()
        })
        .collect();
    (campaign, findings)
}

#[test]
fn the_campaign_page_draws_its_charts_in_chromium() {
    let Some(chromium) = chromium_binary() else { return };
    let (campaign, findings) = campaign();
    let now = "2026-04-18T12:00:00Z".parse().unwrap();
    let html = CampaignReport::build(&campaign, &findings, 0, now).render(Format::Html);
    let (image, dom) = render(&chromium, &html);

    assert!(image.distinct_colours() > 50, "{} colours: a blank page", image.distinct_colours());
    assert!(image.non_white() > 20_000, "{} non-white pixels", image.non_white());
    // Lines 2 to 3 pixels wide: open and closed run across the chart, the dashed projection
    // over its last days.
    for (name, colour, least) in
        [("open", svg::OPEN, 300), ("closed", svg::CLOSED, 300), ("projection", svg::PROJECTION, 100)]
    {
        let count = image.count(colour);
        assert!(count > least, "the {name} series drew {count} pixels of {colour}");
    }

    assert_eq!(series_points(&dom, "open"), [18]);
    assert_eq!(series_points(&dom, "closed"), [18]);
    assert_eq!(series_points(&dom, "projection"), [2]);
    assert!(dom.contains("data-marker=\"deadline\""));
    for result in ["Met", "Missed", "Pending"] {
        assert_eq!(dom.matches(&format!("data-checkpoint=\"{result}\"")).count(), 1, "{result}");
    }
    // The owner named <script> is text: no script element made it into the DOM.
    assert!(!dom.contains("<script"), "a script element in the DOM");
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn the_policy_page_draws_its_charts_in_chromium() {
    let Some(chromium) = chromium_binary() else { return };
    let hour = |h: u32| format!("2026-04-20T{h:02}:00:00Z");
    let status: PolicyStatus = serde_json::from_value(json!({
        "targets": 30, "compliant": 26, "drifted": 4, "remediated": 40, "escalated": 2,
        "drifts": (0..4).map(|i| json!({
            "target": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": format!("cm-{i}")},
            "paths": ["/metadata/labels/team"], "class": CLASSES[i % 2],
            "action": ACTIONS[i % 2], "firstSeen": hour(i as u32), "attempts": 1,
            "owner": TEAMS[i % 2]
        })).collect::<Vec<_>>(),
        "history": (0..12).map(|h| json!({"time": hour(h), "targets": 30, "drifted": 12 - h / 2,
            "escalated": 1 + h % 3, "remediated": h * 3})).collect::<Vec<_>>()
    }))
    .unwrap();
    let now = hour(12).parse().unwrap();
    let html =
        PolicyReport::build("DriftPolicy", Some("shop"), "owners", Mode::Enforce, &status, now).render(Format::Html);
    let (image, dom) = render(&chromium, &html);
    assert!(image.distinct_colours() > 50 && image.non_white() > 20_000, "a blank page");
    for (name, colour) in [("drifted", svg::DRIFTED), ("escalated", svg::ESCALATED), ("fixes", svg::FIXES)] {
        let count = image.count(colour);
        assert!(count > 300, "the {name} series drew {count} pixels of {colour}");
    }
    assert_eq!(series_points(&dom, "drifted"), [12]);
    assert_eq!(series_points(&dom, "escalated"), [12]);
    assert_eq!(series_points(&dom, "fixes"), [11]);
    assert_eq!(dom.matches("data-fixes=\"3\"").count(), 11);
}
