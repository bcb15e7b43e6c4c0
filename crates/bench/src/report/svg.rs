//! SVG charts (plotters' SVG backend; text is drawn as `<text>` elements,
//! with no font library): overhead per workload per mode (grouped bars),
//! where the cycles went (stacked bars), the nanobenchmark table, and the
//! exit-cost sweep.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use vmlab_monitor::Category;

use super::nanobench_table;
use crate::error::BenchError;
use crate::run::BenchReport;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Res = Result<(), String>;

/// One color per mode/mem configuration, stable across charts.
fn config_color(config: &str) -> RGBColor {
    match config {
        "native/none" => RGBColor(120, 120, 120),
        "trap/shadow" => RGBColor(214, 39, 40),
        "hw/shadow" => RGBColor(255, 127, 14),
        "hw/nested" => RGBColor(31, 119, 180),
        "bt/shadow" => RGBColor(44, 160, 44),
        "pv/direct" => RGBColor(148, 103, 189),
        _ => RGBColor(140, 86, 75),
    }
}

const CATEGORY_COLORS: [RGBColor; 11] = [
    RGBColor(199, 199, 199),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(31, 119, 180),
    RGBColor(148, 103, 189),
    RGBColor(44, 160, 44),
    RGBColor(23, 190, 207),
    RGBColor(227, 119, 194),
    RGBColor(140, 86, 75),
];

/// Writes every chart `report` has data for; returns the files.
pub fn write_charts(report: &BenchReport, dir: &Path) -> Result<Vec<PathBuf>, BenchError> {
    let mut files = Vec::new();
    let mut charts: Vec<(&str, String)> = vec![
        ("overhead.svg", draw(1400, 560, |a| overhead(report, a))?),
        ("breakdown.svg", {
            let h = 120 + 18 * report.rows.len() as u32;
            draw(1200, h, |a| breakdown(report, a))?
        }),
    ];
    if !report.nanobench.is_empty() {
        charts.push(("nanobench.svg", nanobench_svg(report)));
    }
    if report.sweep.is_some() {
        let n = report.sweep.as_ref().map_or(0, |s| {
            let mut w: Vec<&str> = s.series.iter().map(|x| x.workload).collect();
            w.dedup();
            w.len()
        });
        let rows = n.div_ceil(4).max(1) as u32;
        charts.push((
            "sweep.svg",
            draw(1400, 80 + 260 * rows, |a| sweep(report, a))?,
        ));
    }
    for (name, text) in charts {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| BenchError::Write {
            path: path.clone(),
            source,
        })?;
        files.push(path);
    }
    Ok(files)
}

/// Renders one chart into a string.
fn draw(w: u32, h: u32, f: impl FnOnce(&Area<'_>) -> Res) -> Result<String, BenchError> {
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        area.fill(&WHITE).map_err(|e| chart_err(&e))?;
        f(&area).map_err(|message| BenchError::Chart {
            path: PathBuf::from("(svg)"),
            message,
        })?;
        area.present().map_err(|e| chart_err(&e))?;
    }
    Ok(svg)
}

fn chart_err(e: &dyn std::fmt::Display) -> BenchError {
    BenchError::Chart {
        path: PathBuf::from("(svg)"),
        message: e.to_string(),
    }
}

fn s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Distinct values in first-seen order.
fn distinct<T: PartialEq + Copy>(it: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for x in it {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

fn overhead(r: &BenchReport, area: &Area<'_>) -> Res {
    let workloads = distinct(r.rows.iter().map(|x| x.workload));
    let mut configs: Vec<String> = Vec::new();
    for c in r.rows.iter().map(|x| x.config()) {
        if !configs.contains(&c) {
            configs.push(c);
        }
    }
    let ymax = r
        .rows
        .iter()
        .filter_map(|x| x.overhead_vs_native)
        .fold(1.0, f64::max)
        * 1.1;
    let n = workloads.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Overhead vs native (modeled cycles), per workload and mode",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..n, 0f64..ymax)
        .map_err(s)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("x native")
        .draw()
        .map_err(s)?;
    let width = 0.8 / configs.len().max(1) as f64;
    for (ci, config) in configs.iter().enumerate() {
        let color = config_color(config);
        let bars: Vec<(f64, f64)> = r
            .rows
            .iter()
            .filter(|x| x.config() == *config)
            .filter_map(|x| {
                let wi = workloads.iter().position(|w| *w == x.workload)? as f64;
                Some((wi + 0.1 + width * ci as f64, x.overhead_vs_native?))
            })
            .collect();
        chart
            .draw_series(
                bars.iter().map(|&(x, y)| {
                    Rectangle::new([(x, 0.0), (x + width * 0.95, y)], color.filled())
                }),
            )
            .map_err(s)?
            .label(config.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 1.0), (n, 1.0)],
            BLACK,
        )))
        .map_err(s)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(s)?;
    for (i, w) in workloads.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        let style = ("sans-serif", 12).into_font().color(&BLACK).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            ),
        );
        area.draw(&Text::new(*w, (px, py + 8 + 14 * (i as i32 % 2)), style))
            .map_err(s)?;
    }
    Ok(())
}

fn breakdown(r: &BenchReport, area: &Area<'_>) -> Res {
    let n = r.rows.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Where the modeled cycles went (percent of each row)",
            ("sans-serif", 20),
        )
        .margin(12)
        .margin_right(150)
        .x_label_area_size(30)
        .y_label_area_size(190)
        .build_cartesian_2d(0f64..100f64, 0f64..n)
        .map_err(s)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("% of modeled cycles")
        .draw()
        .map_err(s)?;
    let mut legend = Vec::new();
    for (ci, cat) in Category::ALL.iter().enumerate() {
        let color = CATEGORY_COLORS[ci % CATEGORY_COLORS.len()];
        let mut bars = Vec::new();
        for (ri, row) in r.rows.iter().enumerate() {
            let total = row.breakdown.total().max(1) as f64;
            let before: u64 = Category::ALL[..ci]
                .iter()
                .map(|&c| row.breakdown.category(c))
                .sum();
            let (x0, x1) = (
                100.0 * before as f64 / total,
                100.0 * (before + row.breakdown.category(*cat)) as f64 / total,
            );
            let y = n - ri as f64 - 1.0;
            if x1 > x0 {
                bars.push(Rectangle::new(
                    [(x0, y + 0.1), (x1, y + 0.9)],
                    color.filled(),
                ));
            }
        }
        if !bars.is_empty() {
            chart.draw_series(bars).map_err(s)?;
            legend.push((cat.name(), color));
        }
    }
    // The legend sits in the right margin, clear of the bars.
    let (right, top) = chart.backend_coord(&(100.0, n));
    for (i, (name, color)) in legend.iter().enumerate() {
        let y = top + 16 * i as i32;
        area.draw(&Rectangle::new(
            [(right + 12, y), (right + 24, y + 10)],
            color.filled(),
        ))
        .map_err(s)?;
        area.draw(&Text::new(
            *name,
            (right + 30, y),
            ("sans-serif", 12).into_font(),
        ))
        .map_err(s)?;
    }
    for (ri, row) in r.rows.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(0.0, n - ri as f64 - 0.5));
        let label = format!("{} {}", row.workload, row.config());
        let style = ("sans-serif", 11).into_font().color(&BLACK).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Right,
                plotters::style::text_anchor::VPos::Center,
            ),
        );
        area.draw(&Text::new(label, (px - 6, py), style))
            .map_err(s)?;
    }
    Ok(())
}

fn sweep(r: &BenchReport, area: &Area<'_>) -> Res {
    let Some(sw) = &r.sweep else { return Ok(()) };
    let workloads = distinct(sw.series.iter().map(|x| x.workload));
    let (title, body) = area.split_vertically(50);
    let bt = if sw.series.iter().any(|x| x.config.starts_with("bt")) {
        ""
    } else {
        " (bt not yet available)"
    };
    let caption = format!(
        "Exit-cost sweep: modeled cycles / native, hw vs bt, as the VM exit round trip gets cheaper{bt}"
    );
    title.titled(&caption, ("sans-serif", 20)).map_err(s)?;
    // One legend for every panel, under the title.
    let configs = distinct(sw.series.iter().map(|x| x.config.as_str()));
    for (i, config) in configs.iter().enumerate() {
        let x = 20 + 150 * i as i32;
        let color = config_color(config);
        title
            .draw(&PathElement::new(
                vec![(x, 38), (x + 24, 38)],
                color.stroke_width(3),
            ))
            .map_err(s)?;
        title
            .draw(&Text::new(
                *config,
                (x + 30, 32),
                ("sans-serif", 13).into_font(),
            ))
            .map_err(s)?;
    }
    let rows = workloads.len().div_ceil(4).max(1);
    let panels = body.split_evenly((rows, 4));
    let (hi, lo) = (
        sw.values.first().copied().unwrap_or(1) as f64,
        sw.values.last().copied().unwrap_or(0) as f64,
    );
    for (w, panel) in workloads.iter().zip(panels.iter()) {
        let native = sw
            .series
            .iter()
            .find(|x| x.workload == *w && x.config == "native/none")
            .and_then(|x| x.cycles.first().copied())
            .unwrap_or(1)
            .max(1) as f64;
        let series: Vec<_> = sw.series.iter().filter(|x| x.workload == *w).collect();
        let ymax = series
            .iter()
            .flat_map(|x| x.cycles.iter())
            .map(|&c| c as f64 / native)
            .fold(1.0, f64::max)
            * 1.1;
        let mut chart = ChartBuilder::on(panel)
            .caption(*w, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(40)
            .build_cartesian_2d(lo..hi, 0f64..ymax)
            .map_err(s)?;
        chart
            .configure_mesh()
            .x_labels(4)
            .y_labels(5)
            .x_label_formatter(&|x| format!("{:.0}k", x / 1000.0))
            .draw()
            .map_err(s)?;
        for x in &series {
            let color = config_color(&x.config);
            let points: Vec<(f64, f64)> = sw
                .values
                .iter()
                .zip(&x.cycles)
                .map(|(&v, &c)| (v as f64, c as f64 / native))
                .collect();
            let style = if x.config == "native/none" {
                color.stroke_width(1)
            } else {
                color.stroke_width(2)
            };
            chart
                .draw_series(LineSeries::new(points, style))
                .map_err(s)?;
        }
    }
    Ok(())
}

/// XML-escapes text for an SVG `<text>` element.
fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The nanobenchmark table as an SVG table (text in a grid).
fn nanobench_svg(r: &BenchReport) -> String {
    let t = nanobench_table(r);
    let col_w: Vec<u32> = (0..t.headers.len())
        .map(|i| {
            let longest = t
                .rows
                .iter()
                .map(|row| row[i].chars().count())
                .chain([t.headers[i].len()])
                .max();
            (longest.unwrap_or(4) as u32) * 7 + 20
        })
        .collect();
    let width: u32 = (col_w.iter().sum::<u32>() + 20).max(760);
    let height = 90 + 24 * (t.rows.len() as u32 + 1);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"24\" font-family=\"sans-serif\" font-size=\"16\">Nanobenchmarks: modeled cycles per iteration, cost model {}</text>\n\
         <text x=\"10\" y=\"46\" font-family=\"sans-serif\" font-size=\"12\">[Adams &amp; Agesen 2006: C = calibrated the preset, V = validates it, ! = disagrees (report.md says why)]</text>\n",
        esc(&r.cost)
    );
    let mut y = 80;
    for (ri, row) in std::iter::once(&t.headers).chain(t.rows.iter()).enumerate() {
        let mut x = 10;
        if ri % 2 == 1 {
            out.push_str(&format!(
                "<rect x=\"5\" y=\"{}\" width=\"{}\" height=\"24\" fill=\"#f0f0f0\"/>\n",
                y - 17,
                width - 10
            ));
        }
        for (ci, cell) in row.iter().enumerate() {
            let weight = if ri == 0 || ci == 0 { "bold" } else { "normal" };
            out.push_str(&format!(
                "<text x=\"{x}\" y=\"{y}\" font-family=\"monospace\" font-size=\"12\" font-weight=\"{weight}\">{}</text>\n",
                esc(cell)
            ));
            x += col_w[ci];
        }
        y += 24;
    }
    out.push_str("</svg>\n");
    out
}
