//! The report's SVG plots (plotters, SVG backend).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

/// A named series of points.
pub(crate) type Series = (String, Vec<(f64, f64)>);

/// What an axis counts, for its tick labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Nanoseconds, labelled with a time unit.
    Nanos,
    /// A plain quantity (items, items/s), labelled with k/M suffixes.
    Count,
    /// A fraction between 0 and 1.
    Fraction,
}

impl Unit {
    fn label(self, v: f64) -> String {
        match self {
            Unit::Nanos => super::report::fmt_ns(v),
            Unit::Count if v.abs() >= 1e6 => format!("{}M", trim(v / 1e6)),
            Unit::Count if v.abs() >= 1e3 => format!("{}k", trim(v / 1e3)),
            Unit::Count => trim(v),
            Unit::Fraction => format!("{v:.1}"),
        }
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

fn err(e: impl std::fmt::Display) -> String {
    format!("plot: {e}")
}

fn bounds(series: &[Series], pick: impl Fn(&(f64, f64)) -> f64, log: bool) -> (f64, f64) {
    let values = series
        .iter()
        .flat_map(|(_, pts)| pts.iter().map(&pick))
        .filter(|v| v.is_finite() && (!log || *v > 0.0));
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (1.0, 10.0);
    }
    if log {
        (lo / 1.5, hi * 1.5)
    } else {
        let pad = ((hi - lo) * 0.05).max(1e-9);
        (lo.min(0.0), hi + pad)
    }
}

fn canvas(path: &Path) -> DrawingArea<SVGBackend<'_>, Shift> {
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    let _ = root.fill(&WHITE);
    root
}

/// Draws `series` as lines with markers; both axes logarithmic when `log_y`, else only x.
pub(crate) fn lines(
    path: &Path,
    title: &str,
    (x_desc, x_unit): (&str, Unit),
    (y_desc, y_unit): (&str, Unit),
    series: &[Series],
    log_y: bool,
) -> Result<(), String> {
    let root = canvas(path);
    let (x0, x1) = bounds(series, |p| p.0, true);
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(y_desc)
                .x_label_formatter(&|v| x_unit.label(*v))
                .y_label_formatter(&|v| y_unit.label(*v))
                .draw()
                .map_err(err)?;
            for (i, (name, pts)) in series.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                let pts: Vec<(f64, f64)> = pts
                    .iter()
                    .copied()
                    .filter(|(x, y)| *x > 0.0 && (!log_y || *y > 0.0))
                    .collect();
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                    .map_err(err)?
                    .label(name.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(err)?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(err)?;
        }};
    }
    macro_rules! builder {
        () => {
            ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 22))
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(80)
        };
    }
    if log_y {
        let (y0, y1) = bounds(series, |p| p.1, true);
        draw!(
            builder!()
                .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(err)?
        );
    } else {
        let (y0, y1) = bounds(series, |p| p.1, false);
        draw!(
            builder!()
                .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(err)?
        );
    }
    root.present().map_err(err)
}

/// Draws one bar per `(name, value)`.
pub(crate) fn bars(
    path: &Path,
    title: &str,
    (y_desc, y_unit): (&str, Unit),
    bars: &[(String, f64)],
) -> Result<(), String> {
    let root = canvas(path);
    let top = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1e-9) * 1.15;
    let names: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    let n = bars.len().max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(90)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc(y_desc)
        .y_label_formatter(&|v| y_unit.label(*v))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
            let x = i as f64;
            Rectangle::new(
                [(x - 0.35, 0.0), (x + 0.35, *v)],
                Palette99::pick(i).to_rgba().filled(),
            )
        }))
        .map_err(err)?;
    root.present().map_err(err)
}
