//! Plot GUP results: one row per experiment x variant, horizontal bars for attempts,
//! violations and time to first violation (log scales: the values span decades), each bar
//! coloured by the row's verdict, a legend, and the verdict (with the expected one when they
//! differ) at the end of the row.
//!
//! SVG or PNG (plotters' pure-Rust backends). Text is laid out with a TrueType font found on
//! the usual font paths at run time (no system libraries are linked): `cargo xtask setup`
//! installs `fonts-dejavu-core` when there is none, `GUPBED_FONT=file.ttf` names another.

use crate::cli::plot_format;
use crate::records::{Rec, RunResult};
use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// One row: an experiment x variant.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub attempts: u64,
    pub violations: u64,
    pub first_violation_s: Option<f64>,
    pub verdict: String,
    pub expected: Option<String>,
    /// Attempts whose race window the writer's step provably hit (CLEAN needs enough).
    pub window_hits: Option<u64>,
}

/// The GUP results (those with a `verdict`) as rows labelled `experiment/variant`.
pub fn points(results: &[Rec<RunResult>]) -> Vec<Point> {
    results
        .iter()
        .filter_map(|r| r.gup())
        .map(|g| {
            let var = g.variant.as_deref().unwrap_or("?");
            let label = match g.experiment.as_deref() {
                Some(e) => format!("{e}/{var}"),
                None => var.to_string(),
            };
            Point {
                label,
                attempts: g.attempts.unwrap_or(0),
                violations: g.violations.total(),
                first_violation_s: g.first_violation_s.filter(|s| s.is_finite() && *s >= 0.0),
                verdict: g.verdict.to_string(),
                expected: g.expected.as_ref().map(ToString::to_string),
                window_hits: g.window_hits,
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

/// Verdicts in legend order, with their colours (CLEAN green, REPRODUCED red, NOT REACHABLE
/// HERE grey-blue, INCONCLUSIVE orange); anything else is purple.
const VERDICTS: [(&str, RGBColor); 4] = [
    ("CLEAN", RGBColor(44, 160, 44)),
    ("REPRODUCED", RGBColor(214, 39, 40)),
    ("NOT REACHABLE HERE", RGBColor(110, 130, 160)),
    ("INCONCLUSIVE", RGBColor(255, 127, 14)),
];
const OTHER: RGBColor = RGBColor(148, 103, 189);
const MUTED: RGBColor = RGBColor(110, 110, 110);

fn verdict_colour(v: &str) -> RGBColor {
    VERDICTS
        .iter()
        .find(|(n, _)| *n == v)
        .map(|(_, c)| *c)
        .unwrap_or(OTHER)
}

/// Whether a row's verdict differs from what it expected ("ANY" matches anything).
fn unexpected(p: &Point) -> bool {
    p.expected
        .as_deref()
        .is_some_and(|e| e != "ANY" && e != p.verdict)
}

/// Layout (pixels): each panel's width, the row height, the title + legend band, the x axis
/// band, and the font size of row labels and verdicts.
const PANEL_W: u32 = 380;
const ROW: u32 = 30;
const HEAD: u32 = 96;
const FOOT: u32 = 44;
const LABEL_PX: u32 = 16;

/// The verdict text at the end of a row.
fn verdict_text(p: &Point) -> String {
    if unexpected(p) {
        format!(
            "{}, expected {}",
            p.verdict,
            p.expected.as_deref().unwrap_or("?")
        )
    } else {
        p.verdict.clone()
    }
}

/// Spaces as en spaces (see [`draw`]).
fn wide_spaces(s: &str) -> String {
    s.replace(' ', "\u{2002}")
}

/// Widest of `texts` at the label size (needs the font registered).
fn text_width(texts: impl Iterator<Item = String>) -> u32 {
    let font = ("sans-serif", LABEL_PX).into_font();
    texts
        .map(|t| {
            font.box_size(&t)
                .map(|(w, _)| w)
                .unwrap_or(8 * t.len() as u32)
        })
        .max()
        .unwrap_or(0)
}

/// The layout for `pts`: label column, verdict column, image size. Columns fit their longest
/// text, so nothing is cut or overlaps; the height grows with the rows.
fn layout(pts: &[Point], bitmap: bool) -> (u32, u32, (u32, u32)) {
    let sp = |s: String| if bitmap { wide_spaces(&s) } else { s };
    let label_w = text_width(pts.iter().map(|p| sp(p.label.clone()))) + 24;
    let verdict_w = text_width(pts.iter().map(|p| sp(verdict_text(p)))) + 24;
    let w = label_w + 3 * PANEL_W + verdict_w;
    let h = HEAD + 34 + ROW * pts.len().max(1) as u32 + FOOT;
    (label_w, verdict_w, (w.max(1200), h))
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
    let (_, _, size) = layout(pts, fmt == "png");
    match fmt {
        "svg" => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw(&root, pts, title, false)?;
            root.present().map_err(|e| anyhow!("{e:?}"))?;
        }
        _ => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw(&root, pts, title, true)?;
            root.present().map_err(|e| anyhow!("{e:?}"))?;
        }
    }
    Ok(())
}

/// A log axis from the decade at or below the smallest positive value to well above the
/// largest (room for the value printed after the longest bar).
fn log_range(values: &[f64]) -> (f64, f64) {
    let pos: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| *v > 0.0 && v.is_finite())
        .collect();
    if pos.is_empty() {
        return (1.0, 10.0);
    }
    let min = pos.iter().copied().fold(f64::INFINITY, f64::min);
    let max = pos.iter().copied().fold(0.0, f64::max);
    // The decade below, with at least a factor 2 of room so the smallest bar shows (a hair
    // below the decade, so its tick survives rounding).
    let lo = 10f64.powf((min / 2.0).log10().floor()) * 0.999;
    // Half a decade of room at the right, and at least one decade in all.
    let hi = (max * 10f64.powf(0.75)).max(lo * 10.0);
    (lo, hi)
}

/// `bitmap`: plotters' bitmap text drops each glyph's left side bearing, which makes a plain
/// space look too thin ("NOTREACHABLE"); an en space there reads as a space.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    pts: &[Point],
    title: &str,
    bitmap: bool,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let sp = |s: &str| -> String {
        if bitmap {
            wide_spaces(s)
        } else {
            s.to_string()
        }
    };
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing: {e:?}");
    root.fill(&WHITE).map_err(e)?;
    let (w, _) = root.dim_in_pixel();
    let title_style = ("sans-serif", 24).into_font().color(&BLACK);
    root.draw(&Text::new(sp(title), (16, 12), title_style))
        .map_err(e)?;
    // Legend: one swatch per verdict, left to right under the title.
    let legend_font: TextStyle = ("sans-serif", 16).into_font().color(&BLACK);
    let mut x = 16i32;
    let legend_y = 52i32;
    let mut legend: Vec<(&str, RGBColor)> = VERDICTS.to_vec();
    if pts
        .iter()
        .any(|p| !VERDICTS.iter().any(|(n, _)| *n == p.verdict))
    {
        legend.push(("other", OTHER));
    }
    root.draw(&Text::new("verdict:", (x, legend_y), legend_font.clone()))
        .map_err(e)?;
    x += 80;
    for (name, colour) in legend {
        root.draw(&Rectangle::new(
            [(x, legend_y + 1), (x + 18, legend_y + 17)],
            colour.filled(),
        ))
        .map_err(e)?;
        let name = sp(name);
        root.draw(&Text::new(
            name.clone(),
            (x + 24, legend_y),
            legend_font.clone(),
        ))
        .map_err(e)?;
        let (tw, _) = root.estimate_text_size(&name, &legend_font).map_err(e)?;
        x += 24 + tw as i32 + 28;
    }
    // The window-hit tick drawn across each attempts bar.
    root.draw(&Rectangle::new(
        [(x, legend_y - 1), (x + 3, legend_y + 19)],
        BLACK.filled(),
    ))
    .map_err(e)?;
    let hits = sp("window hits (in attempts)");
    root.draw(&Text::new(
        hits.clone(),
        (x + 10, legend_y),
        legend_font.clone(),
    ))
    .map_err(e)?;
    let (tw, _) = root.estimate_text_size(&hits, &legend_font).map_err(e)?;
    x += 10 + tw as i32 + 40;
    root.draw(&Text::new(
        sp("log scales; \"none\": nothing seen"),
        (x, legend_y),
        legend_font.clone().color(&MUTED),
    ))
    .map_err(e)?;

    let (label_w, verdict_w, _) = layout(pts, bitmap);
    let body = root.margin(HEAD, 0, 0, 0);
    let (labels, rest) = body.split_horizontally(label_w);
    let (panels_area, verdicts) = rest.split_horizontally(w - label_w - verdict_w);
    let panels = panels_area.split_evenly((1, 3));
    let n = pts.len();
    let series: [(&str, Vec<Option<f64>>, Fmt); 3] = [
        (
            "attempts",
            pts.iter()
                .map(|p| Some(p.attempts as f64).filter(|v| *v > 0.0))
                .collect(),
            Fmt::Count,
        ),
        (
            "violations",
            pts.iter()
                .map(|p| Some(p.violations as f64).filter(|v| *v > 0.0))
                .collect(),
            Fmt::Count,
        ),
        (
            "time to first violation",
            pts.iter().map(|p| p.first_violation_s).collect(),
            Fmt::Seconds,
        ),
    ];
    let label_font: TextStyle = ("sans-serif", LABEL_PX).into_font().color(&BLACK);
    let value_font: TextStyle = ("sans-serif", 13).into_font().color(&BLACK);
    let mut row_centres: Vec<i32> = Vec::new();
    for (k, (area, (name, values, fmt))) in panels.iter().zip(series).enumerate() {
        let mut flat: Vec<f64> = values.iter().flatten().copied().collect();
        if k == 0 {
            // The window-hit ticks share the attempts axis.
            flat.extend(pts.iter().filter_map(|p| p.window_hits).map(|h| h as f64));
        }
        let (lo, hi) = log_range(&flat);
        let mut chart = ChartBuilder::on(area)
            .caption(sp(name), ("sans-serif", 18))
            .margin_left(28)
            .margin_right(28)
            .margin_top(4)
            .x_label_area_size(FOOT)
            .y_label_area_size(0)
            .build_cartesian_2d((lo..hi).log_scale(), 0f64..n as f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(6)
            .x_label_style(("sans-serif", 14))
            .x_label_formatter(&|v| sp(&fmt.show(*v)))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .map_err(e)?;
        // Row i is drawn top to bottom: y from n-i-1 to n-i.
        let top = |i: usize| (n - i) as f64;
        chart
            .draw_series(
                values
                    .iter()
                    .zip(pts)
                    .enumerate()
                    .filter_map(|(i, (v, p))| {
                        let v = (*v)?;
                        let mut r = Rectangle::new(
                            [(lo, top(i) - 1.0), (v, top(i))],
                            verdict_colour(&p.verdict).filled(),
                        );
                        r.set_margin(4, 4, 0, 0);
                        Some(r)
                    }),
            )
            .map_err(e)?;
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| {
                let y = top(i) - 0.5;
                let (at, text, style) = match v {
                    Some(v) => (*v, sp(&fmt.show(*v)), value_font.clone()),
                    None => (lo, "none".to_string(), value_font.clone().color(&MUTED)),
                };
                EmptyElement::at((at, y)) + Text::new(text, (5, -7), style)
            }))
            .map_err(e)?;
        if k == 0 {
            // Window hits: a black tick across the attempts bar.
            chart
                .draw_series(pts.iter().enumerate().filter_map(|(i, p)| {
                    let h = (p.window_hits? as f64).clamp(lo, hi);
                    Some(PathElement::new(
                        vec![(h, top(i) - 0.9), (h, top(i) - 0.1)],
                        BLACK.stroke_width(3),
                    ))
                }))
                .map_err(e)?;
        }
        if row_centres.is_empty() {
            row_centres = (0..n)
                .map(|i| chart.backend_coord(&(lo, top(i) - 0.5)).1)
                .collect();
        }
    }
    // Row labels on the left, verdicts on the right, on the rows' centre lines.
    let (lx, _) = labels.get_base_pixel();
    let (vx, _) = verdicts.get_base_pixel();
    for (p, cy) in pts.iter().zip(&row_centres) {
        let (tw, th) = root.estimate_text_size(&p.label, &label_font).map_err(e)?;
        root.draw(&Text::new(
            sp(&p.label),
            (lx + label_w as i32 - 10 - tw as i32, cy - th as i32 / 2),
            label_font.clone(),
        ))
        .map_err(e)?;
        let colour = verdict_colour(&p.verdict);
        root.draw(&Text::new(
            sp(&verdict_text(p)),
            (vx + 6, cy - th as i32 / 2),
            label_font.clone().color(&colour),
        ))
        .map_err(e)?;
    }
    Ok(())
}

/// How a panel prints its values.
#[derive(Clone, Copy)]
enum Fmt {
    Count,
    Seconds,
}

impl Fmt {
    fn show(self, v: f64) -> String {
        match self {
            Fmt::Count => count(v),
            Fmt::Seconds => seconds(v),
        }
    }
}

/// A count, short: 950, 9.5k, 95k, 1.2M.
fn count(v: f64) -> String {
    let (x, unit) = if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    format!("{}{unit}", sig3(x))
}

/// Seconds with a unit that keeps three significant digits: 40 µs, 2.8 ms, 1.5 s.
fn seconds(v: f64) -> String {
    if v >= 1.0 {
        format!("{} s", sig3(v))
    } else if v >= 1e-3 {
        format!("{} ms", sig3(v * 1e3))
    } else {
        format!("{} µs", sig3(v * 1e6))
    }
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
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn axis_labels_keep_three_significant_digits() {
        assert_eq!(sig3(0.0), "0");
        assert_eq!(sig3(0.0025), "0.0025");
        assert_eq!(sig3(0.002), "0.002");
        assert_eq!(sig3(0.0015), "0.0015");
        assert_eq!(sig3(35000.0), "35000");
        assert_eq!(sig3(2.5), "2.5");
    }

    #[test]
    fn values_read_short() {
        assert_eq!(count(950.0), "950");
        assert_eq!(count(94_313.0), "94.3k");
        assert_eq!(count(1_200_000.0), "1.2M");
        assert_eq!(seconds(0.0028), "2.8 ms");
        assert_eq!(seconds(0.000052), "52 µs");
        assert_eq!(seconds(1.5), "1.5 s");
    }

    #[test]
    fn log_axes_cover_every_value_with_room() {
        let (lo, hi) = log_range(&[57.0, 200_000.0]);
        assert!(lo <= 57.0 / 2.0 && lo > 9.0, "{lo}");
        assert!(hi > 200_000.0 * 5.0, "{hi}");
        assert_eq!(log_range(&[]), (1.0, 10.0));
        // A value on a decade still gets a visible bar.
        assert!(log_range(&[10.0, 1000.0]).0 < 5.0);
        let (lo, hi) = log_range(&[0.0025, 0.0025]);
        assert!(lo < 0.0025 && hi >= lo * 10.0);
    }

    fn obj(v: Value) -> Rec<RunResult> {
        match v {
            Value::Object(m) => Rec::parse(m).unwrap(),
            _ => unreachable!(),
        }
    }

    fn results() -> Vec<Rec<RunResult>> {
        [
            json!({"run":"gup","experiment":"split","variant":"V0","attempts":1000,"violations":{},"first_violation_s":null,"verdict":"CLEAN","expected":"CLEAN","window_hits":990}),
            json!({"run":"gup","experiment":"split","variant":"V1","attempts":900,"violations":{"wrong_head":4,"x":1},"first_violation_s":0.5,"verdict":"REPRODUCED","expected":"REPRODUCED"}),
            json!({"run":"selftest","passed":true}),
        ]
        .into_iter()
        .map(obj)
        .collect()
    }

    /// The default suite's shape: 15 rows over five experiments, values over five decades, one
    /// verdict that differs from its expectation (the longest text).
    fn suite() -> Vec<Point> {
        /// experiment, variant, attempts, violations, first violation, verdict, expected, hits
        type Row<'a> = (
            &'a str,
            &'a str,
            u64,
            u64,
            Option<f64>,
            &'a str,
            &'a str,
            u64,
        );
        let rows: [Row; 15] = [
            ("split", "V0", 100_000, 0, None, "CLEAN", "CLEAN", 99_000),
            (
                "split",
                "V1",
                61_200,
                48_210,
                Some(0.0028),
                "REPRODUCED",
                "REPRODUCED",
                61_000,
            ),
            ("split", "V1i", 38_000, 0, None, "CLEAN", "CLEAN", 37_000),
            (
                "split",
                "V2",
                90_500,
                212,
                Some(0.0912),
                "REPRODUCED",
                "REPRODUCED",
                90_000,
            ),
            (
                "reuse",
                "V3",
                151_000,
                0,
                None,
                "NOT REACHABLE HERE",
                "NOT REACHABLE HERE",
                4000,
            ),
            ("reuse", "V3l", 148_000, 0, None, "CLEAN", "CLEAN", 3900),
            (
                "publish",
                "V4",
                120_000,
                0,
                None,
                "INCONCLUSIVE",
                "NOT REACHABLE HERE",
                35,
            ),
            (
                "recheck-race",
                "V5",
                201_000,
                0,
                None,
                "NOT REACHABLE HERE",
                "NOT REACHABLE HERE",
                180_000,
            ),
            (
                "recheck",
                "V6",
                198_000,
                51_234,
                Some(0.00041),
                "REPRODUCED",
                "REPRODUCED",
                190_000,
            ),
            (
                "recheck",
                "V7",
                201_000,
                100_234,
                Some(0.000052),
                "REPRODUCED",
                "REPRODUCED",
                195_000,
            ),
            ("split", "V8", 99_000, 0, None, "CLEAN", "CLEAN", 98_000),
            (
                "pin",
                "V9",
                85_000,
                0,
                None,
                "NOT REACHABLE HERE",
                "NOT REACHABLE HERE",
                2000,
            ),
            (
                "tables",
                "V10",
                30_100,
                30_090,
                Some(0.00012),
                "REPRODUCED",
                "REPRODUCED",
                30_000,
            ),
            ("split", "V11", 97_000, 0, None, "CLEAN", "CLEAN", 96_000),
            (
                "init",
                "V12",
                6900,
                1410,
                Some(1.21),
                "REPRODUCED",
                "ANY",
                6800,
            ),
        ];
        let res: Vec<_> = rows
            .iter()
            .map(|(e, v, a, n, t, verdict, exp, hits)| {
                obj(
                    json!({"run": "gup", "experiment": e, "variant": v, "attempts": a,
                    "violations": if *n > 0 { json!({"wrong_head": n}) } else { json!({}) },
                    "first_violation_s": t, "verdict": verdict, "expected": exp,
                    "window_hits": hits}),
                )
            })
            .collect();
        points(&res)
    }

    /// A run on a loaded host (real figures, issue 7's machine at load 11): hundreds of
    /// attempts, one violation count exactly on a decade, a violation axis ending at 10k next
    /// to a time axis starting at 10 ms.
    fn loaded() -> Vec<Point> {
        let row = |label: &str, attempts, violations, t: Option<f64>, verdict: &str| Point {
            label: label.into(),
            attempts,
            violations,
            first_violation_s: t,
            verdict: verdict.into(),
            expected: Some("CLEAN".into()),
            window_hits: Some(attempts / 2),
        };
        vec![
            row("split/V0", 489, 0, None, "CLEAN"),
            row("split/V1", 415, 1810, Some(0.0338), "REPRODUCED"),
            row("split/V2", 67, 10, Some(1.54), "REPRODUCED"),
            row("recheck/V6", 108, 53, Some(0.112), "REPRODUCED"),
            row("recheck/V7", 102, 110, Some(0.0252), "REPRODUCED"),
            row("split/V11", 66, 0, None, "INCONCLUSIVE"),
        ]
    }

    #[test]
    fn points_from_gup_results_only() {
        let p = points(&results());
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[1],
            Point {
                label: "split/V1".into(),
                attempts: 900,
                violations: 5,
                first_violation_s: Some(0.5),
                verdict: "REPRODUCED".into(),
                expected: Some("REPRODUCED".into()),
                window_hits: None,
            }
        );
        assert_eq!(p[0].first_violation_s, None);
        assert_eq!(p[0].window_hits, Some(990));
        assert!(!unexpected(&p[0]));
        let s = suite();
        assert!(
            unexpected(&s[6]) && !unexpected(&s[14]),
            "ANY matches anything"
        );
        assert_eq!(
            verdict_text(&s[6]),
            "INCONCLUSIVE, expected NOT REACHABLE HERE"
        );
    }

    fn out(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("gupbed-plot-{}-{name}", std::process::id()))
    }

    /// `(x0, y0, x1, y1, text)` of every `<text>` in a plotters SVG, its width measured with
    /// the font the layout used (plotters writes the size divided by 1.24).
    fn text_boxes(svg: &str) -> Vec<(f64, f64, f64, f64, String)> {
        let mut out = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find("<text ") {
            rest = &rest[i..];
            let end = rest.find("</text>").expect("closed text");
            let (tag, body) = rest[..end].split_once('>').expect("tag");
            let attr = |k: &str| -> String {
                let i = tag
                    .find(&format!(" {k}=\""))
                    .unwrap_or_else(|| panic!("{k} in {tag}"));
                let v = &tag[i + k.len() + 3..];
                v[..v.find('"').unwrap()].to_string()
            };
            // Measured with en spaces, as the PNG draws them (wider than plain spaces): what
            // fits here fits in both formats.
            let text = body.trim().replace("&quot;", "\"").replace("&amp;", "&");
            let wide = wide_spaces(&text);
            let (x, y): (f64, f64) = (attr("x").parse().unwrap(), attr("y").parse().unwrap());
            let px: f64 = attr("font-size").parse::<f64>().unwrap() * 1.24;
            let (w, _) = ("sans-serif", px).into_font().box_size(&wide).unwrap();
            let w = w as f64;
            let x0 = match attr("text-anchor").as_str() {
                "middle" => x - w / 2.0,
                "end" => x - w,
                _ => x,
            };
            out.push((x0, y, x0 + w, y + px * 0.9, text));
            rest = &rest[end..];
        }
        out
    }

    /// Issue 7: at the default size no text runs into another (the old plot's x labels did)
    /// and nothing leaves the picture.
    #[test]
    fn default_size_suite_plot_has_no_overlapping_text() {
        if find_font().is_none() {
            // Without any TTF on the machine plotting must fail loudly, not write a blank chart.
            assert!(plot(&out("nofont.svg"), &suite(), "t").is_err());
            return;
        }
        let boxes = no_overlaps(&suite(), "suite.svg");
        for want in [
            "split/V0",
            "recheck-race/V5",
            "init/V12",
            "CLEAN",
            "REPRODUCED",
            "NOT REACHABLE HERE",
            "INCONCLUSIVE, expected NOT REACHABLE HERE",
            "attempts",
            "violations",
            "time to first violation",
            "window hits (in attempts)",
            "none",
            "2.8 ms",
            "90.5k",
            "1.21 s",
        ] {
            assert!(boxes.iter().any(|b| b.4 == want), "no text {want:?}");
        }
    }

    #[test]
    fn loaded_run_plot_has_no_overlapping_text() {
        if find_font().is_none() {
            return;
        }
        let boxes = no_overlaps(&loaded(), "loaded.svg");
        for want in ["10", "10k", "10 ms", "1.54 s"] {
            assert!(boxes.iter().any(|b| b.4 == want), "no text {want:?}");
        }
    }

    /// Plot `pts` as SVG, check that no two texts overlap and none leaves the picture, and
    /// return the text boxes.
    fn no_overlaps(pts: &[Point], name: &str) -> Vec<(f64, f64, f64, f64, String)> {
        let path = out(name);
        plot(&path, pts, "gupbed suite").unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let (w, h) = layout(pts, false).2;
        assert!(svg.contains(&format!("width=\"{w}\"")), "{}", &svg[..200]);
        let boxes = text_boxes(&svg);
        assert!(boxes.len() > pts.len() * 5, "{} texts", boxes.len());
        for (i, a) in boxes.iter().enumerate() {
            assert!(
                a.0 >= 0.0 && a.2 <= w as f64 && a.1 >= 0.0 && a.3 <= h as f64,
                "{a:?} leaves the {w}x{h} picture"
            );
            for b in &boxes[i + 1..] {
                let apart = a.2 <= b.0 || b.2 <= a.0 || a.3 <= b.1 || b.3 <= a.1;
                assert!(apart, "overlap: {a:?} and {b:?}");
            }
        }
        boxes
    }

    #[test]
    fn png_is_written() {
        if find_font().is_none() {
            return;
        }
        let path = out("one.png");
        plot(&path, &points(&results())[1..], "one").unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        let _ = std::fs::remove_file(&path);
        assert!(len > 1000, "png of {len} bytes");
    }

    #[test]
    fn empty_plot_is_an_error() {
        assert!(plot(Path::new("/tmp/x.svg"), &[], "t").is_err());
    }
}
