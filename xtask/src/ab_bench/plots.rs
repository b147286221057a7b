//! The report's SVG plots (plotters, SVG backend).

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
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

/// How a line is dashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dash {
    Solid,
    /// Dash length and gap, in pixels.
    Dashed(u32, u32),
}

/// A marker shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Circle,
    Triangle,
    Square,
    Cross,
}

/// How series `i` is drawn. Series that coincide must stay visible in a PNG without hover
/// text: each differs from its neighbours in colour, dash and marker, and earlier series
/// are drawn wider, so a later series on the same points leaves a rim of the earlier one.
#[derive(Debug, Clone, Copy)]
struct Look {
    color: RGBAColor,
    dash: Dash,
    marker: Marker,
    width: u32,
}

impl Look {
    const DASHES: [Dash; 3] = [Dash::Solid, Dash::Dashed(12, 6), Dash::Dashed(3, 4)];
    const MARKERS: [Marker; 4] = [
        Marker::Circle,
        Marker::Triangle,
        Marker::Square,
        Marker::Cross,
    ];

    fn of(i: usize) -> Self {
        Look {
            color: Palette99::pick(i).to_rgba(),
            dash: Self::DASHES[i % Self::DASHES.len()],
            marker: Self::MARKERS[i % Self::MARKERS.len()],
            width: 5u32.saturating_sub(i as u32).max(2),
        }
    }

    /// The dash pattern in pixels (a solid line is one long dash).
    fn pattern(self) -> (u32, u32) {
        match self.dash {
            Dash::Solid => (1_000_000, 0),
            Dash::Dashed(on, off) => (on, off),
        }
    }

    /// The marker's outline around (0, 0), in pixels: every shape is one polygon, so
    /// plotted points and the legend draw it the same way.
    fn outline(self, r: i32) -> Vec<(i32, i32)> {
        match self.marker {
            Marker::Circle => (0..12)
                .map(|k| {
                    let a = f64::from(k) * std::f64::consts::TAU / 12.0;
                    let r = f64::from(r);
                    ((r * a.cos()).round() as i32, (r * a.sin()).round() as i32)
                })
                .collect(),
            Marker::Triangle => vec![(0, -r - 1), (r + 1, r), (-r - 1, r)],
            Marker::Square => vec![(-r, -r), (r, -r), (r, r), (-r, r)],
            Marker::Cross => {
                let t = (r / 3).max(1);
                vec![
                    (-t, -r),
                    (t, -r),
                    (t, -t),
                    (r, -t),
                    (r, t),
                    (t, t),
                    (t, r),
                    (-t, r),
                    (-t, t),
                    (-r, t),
                    (-r, -t),
                    (-t, -t),
                ]
            }
        }
    }

    fn marker_radius(self) -> i32 {
        3 + self.width as i32
    }
}

/// About how many markers a dense series gets.
const MARKERS_PER_SERIES: usize = 12;

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
                let look = Look::of(i);
                let pts: Vec<(f64, f64)> = pts
                    .iter()
                    .copied()
                    .filter(|(x, y)| *x > 0.0 && (!log_y || *y > 0.0))
                    .collect();
                let style = look.color.stroke_width(look.width);
                let (on, off) = look.pattern();
                chart
                    .draw_series(DashedLineSeries::new(pts.clone(), on, off, style))
                    .map_err(err)?
                    .label(name.as_str())
                    .legend(move |(x, y)| {
                        EmptyElement::at((x, y))
                            + DashedPathElement::new(vec![(0, 0), (20, 0)], on, off, style)
                            + Polygon::new(
                                look.outline(4)
                                    .into_iter()
                                    .map(|(dx, dy)| (dx + 10, dy))
                                    .collect::<Vec<_>>(),
                                look.color.filled(),
                            )
                    });
                let outline = look.outline(look.marker_radius());
                // A dense series (a latency ladder) gets about a dozen markers, each
                // series at its own phase, so coinciding series show alternating markers
                // instead of one hiding the other.
                let step = (pts.len() / MARKERS_PER_SERIES).max(1);
                let phase = i * step / series.len().max(1) % step;
                chart
                    .draw_series(
                        pts.iter()
                            .enumerate()
                            .filter(|(k, _)| k % step == phase || step == 1)
                            .map(|(_, &p)| {
                                EmptyElement::at(p)
                                    + Polygon::new(outline.clone(), look.color.filled())
                            }),
                    )
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
