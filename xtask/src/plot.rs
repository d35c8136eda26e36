//! Plot GUP results per variant: attempts, violations and time to first violation.
//!
//! SVG or PNG (plotters' pure-Rust backends). Text is laid out with a TrueType font found on
//! the usual font paths at run time (no system libraries are linked).

use crate::cli::plot_format;
use crate::table::violations;
use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// One bar group.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub attempts: u64,
    pub violations: u64,
    pub first_violation_s: Option<f64>,
}

/// The GUP results (those with a `verdict`) as plot points, labelled by variant (prefixed by the
/// experiment when several experiments are present).
pub fn points(results: &[Map<String, Value>]) -> Vec<Point> {
    let gup: Vec<_> = results
        .iter()
        .filter(|r| r.contains_key("verdict"))
        .collect();
    let exps: std::collections::BTreeSet<_> = gup
        .iter()
        .filter_map(|r| r.get("experiment").and_then(Value::as_str))
        .collect();
    gup.iter()
        .map(|r| {
            let var = r.get("variant").and_then(Value::as_str).unwrap_or("?");
            let label = match r.get("experiment").and_then(Value::as_str) {
                Some(e) if exps.len() > 1 => format!("{e}/{var}"),
                _ => var.to_string(),
            };
            Point {
                label,
                attempts: r.get("attempts").and_then(Value::as_u64).unwrap_or(0),
                violations: violations(r).0,
                first_violation_s: r.get("first_violation_s").and_then(Value::as_f64),
            }
        })
        .collect()
}

const FONT_DIRS: [&str; 3] = [
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "/usr/share/fonts/truetype",
];
const PREFERRED: [&str; 3] = [
    "DejaVuSans.ttf",
    "LiberationSans-Regular.ttf",
    "NotoSans-Regular.ttf",
];

/// The TrueType font plots use: `$GUPBED_FONT`, else DejaVu Sans (or Liberation / Noto Sans,
/// or any `.ttf`) under the usual font directories.
pub fn font_path() -> Option<PathBuf> {
    find_font()
}

fn find_font() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GUPBED_FONT") {
        return Some(PathBuf::from(p));
    }
    let mut all = Vec::new();
    for d in FONT_DIRS {
        collect_ttf(Path::new(d), &mut all, 0);
    }
    PREFERRED
        .iter()
        .find_map(|name| {
            all.iter()
                .find(|p| p.file_name().is_some_and(|f| f == *name))
                .cloned()
        })
        .or_else(|| all.into_iter().next())
}

fn collect_ttf(dir: &Path, out: &mut Vec<PathBuf>, depth: u32) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() && depth < 4 {
            collect_ttf(&p, out, depth + 1);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("ttf")) {
            out.push(p);
        }
    }
}

fn register_font() -> Result<()> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let path = find_font().ok_or_else(|| {
            "no TrueType font found under /usr/share/fonts (install fonts-dejavu-core, or set GUPBED_FONT=file.ttf)"
                .to_string()
        })?;
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| format!("{}: not a usable font", path.display()))
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// Draw `pts` to `path` (format from the extension).
pub fn plot(path: &Path, pts: &[Point], title: &str) -> Result<()> {
    if pts.is_empty() {
        bail!("nothing to plot: no GUP result records (with a verdict) in this run");
    }
    let fmt = plot_format(path).map_err(|e| anyhow!(e))?;
    register_font()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let size = (1500, 520);
    match fmt {
        "svg" => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw(&root, pts, title)?;
            root.present().map_err(|e| anyhow!("{e:?}"))?;
        }
        _ => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw(&root, pts, title)?;
            root.present().map_err(|e| anyhow!("{e:?}"))?;
        }
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, pts: &[Point], title: &str) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing: {e:?}");
    root.fill(&WHITE).map_err(e)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(e)?;
    let panels = root.split_evenly((1, 3));
    let none = "no violation";
    let series: [(&str, Vec<Option<f64>>, RGBColor); 3] = [
        (
            "attempts",
            pts.iter().map(|p| Some(p.attempts as f64)).collect(),
            BLUE,
        ),
        (
            "violations",
            pts.iter().map(|p| Some(p.violations as f64)).collect(),
            RED,
        ),
        (
            "first violation (s)",
            pts.iter().map(|p| p.first_violation_s).collect(),
            GREEN,
        ),
    ];
    for (area, (name, values, color)) in panels.iter().zip(series) {
        let top = values.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
        let top = if top > 0.0 { top * 1.15 } else { 1.0 };
        let mut chart = ChartBuilder::on(area)
            .caption(name, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d((0..pts.len().saturating_sub(1)).into_segmented(), 0.0..top)
            .map_err(e)?;
        let labels: Vec<String> = pts.iter().map(|p| p.label.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(pts.len().max(1))
            .x_label_formatter(&|x| match x {
                SegmentValue::Exact(i) | SegmentValue::CenterOf(i) => {
                    labels.get(*i).cloned().unwrap_or_default()
                }
                SegmentValue::Last => String::new(),
            })
            .y_label_formatter(&|y| sig3(*y))
            .draw()
            .map_err(e)?;
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(color.filled())
                    .margin(8)
                    .data(
                        values
                            .iter()
                            .enumerate()
                            .filter_map(|(i, v)| v.map(|v| (i, v))),
                    ),
            )
            .map_err(e)?;
        // Say so where a bar is absent because nothing was seen.
        chart
            .draw_series(
                values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_none())
                    .map(|(i, _)| {
                        Text::new(
                            none,
                            (SegmentValue::CenterOf(i), top * 0.02),
                            ("sans-serif", 12),
                        )
                    }),
            )
            .map_err(e)?;
    }
    Ok(())
}

/// `y` with three significant digits, trailing zeros dropped: axis labels stay distinct from
/// milliseconds (0.0025) to tens of thousands (35000).
fn sig3(y: f64) -> String {
    if y == 0.0 || !y.is_finite() {
        return "0".into();
    }
    let mag = y.abs().log10().floor() as i32;
    let decimals = (2 - mag).max(0) as usize;
    let s = format!("{y:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn axis_labels_keep_three_significant_digits() {
        use super::sig3;
        assert_eq!(sig3(0.0), "0");
        assert_eq!(sig3(0.0025), "0.0025");
        assert_eq!(sig3(0.002), "0.002");
        assert_eq!(sig3(0.0015), "0.0015");
        assert_eq!(sig3(35000.0), "35000");
        assert_eq!(sig3(2.5), "2.5");
    }

    use super::*;
    use serde_json::json;

    fn results() -> Vec<Map<String, Value>> {
        [
            json!({"run":"gup","experiment":"split","variant":"V0","attempts":1000,"violations":{},"first_violation_s":null,"verdict":"CLEAN"}),
            json!({"run":"gup","experiment":"split","variant":"V1","attempts":900,"violations":{"wrong_head":4,"x":1},"first_violation_s":0.5,"verdict":"REPRODUCED"}),
            json!({"run":"selftest","passed":true}),
        ]
        .into_iter()
        .map(|v| match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        })
        .collect()
    }

    #[test]
    fn points_from_gup_results_only() {
        let p = points(&results());
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[1],
            Point {
                label: "V1".into(),
                attempts: 900,
                violations: 5,
                first_violation_s: Some(0.5)
            }
        );
        assert_eq!(p[0].first_violation_s, None);
    }

    #[test]
    fn writes_an_svg_when_a_font_exists() {
        if find_font().is_none() {
            // Without any TTF on the machine plotting must fail loudly, not write a blank chart.
            let out = std::env::temp_dir().join("gupbed-plot-nofont.svg");
            assert!(plot(&out, &points(&results()), "t").is_err());
            return;
        }
        let out = std::env::temp_dir().join(format!("gupbed-plot-{}.svg", std::process::id()));
        plot(&out, &points(&results()), "gup split").unwrap();
        let svg = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        for label in ["V0", "V1", "attempts", "violations", "no violation"] {
            assert!(svg.contains(label), "missing {label}");
        }
    }

    #[test]
    fn single_variant_plots() {
        if find_font().is_none() {
            return;
        }
        let out = std::env::temp_dir().join(format!("gupbed-plot1-{}.png", std::process::id()));
        plot(&out, &points(&results())[1..], "one").unwrap();
        let len = std::fs::metadata(&out).unwrap().len();
        let _ = std::fs::remove_file(&out);
        assert!(len > 1000, "png of {len} bytes");
    }

    #[test]
    fn empty_plot_is_an_error() {
        assert!(plot(Path::new("/tmp/x.svg"), &[], "t").is_err());
    }
}
