//! Printing results: aligned tables and goal lines.

use std::time::Duration;

/// A table printed with aligned columns, numbers to the right.
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new<const N: usize>(header: [&str; N]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// A table with column names made at run time.
    pub fn with_header(header: Vec<String>) -> Table {
        Table {
            header,
            rows: Vec::new(),
        }
    }

    /// Adds a row (as many cells as columns).
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.rows.push(cells);
    }

    /// The table as text.
    pub fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r[c].chars().count())
                    .chain([self.header[c].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            cells
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    if c == 0 {
                        format!("{cell:<w$}", w = widths[c])
                    } else {
                        format!("{cell:>w$}", w = widths[c])
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        };
        let mut out = line(&self.header);
        out.push('\n');
        out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
        for row in &self.rows {
            out.push('\n');
            out.push_str(&line(row));
        }
        out
    }

    /// Prints the table to stdout.
    pub fn print(&self) {
        println!("{}\n", self.render());
    }
}

/// How a figure compares with its goal.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// The figure must be at least this.
    AtLeast(f64),
    /// The figure must be at most this.
    AtMost(f64),
}

impl Goal {
    fn met(self, value: f64) -> bool {
        match self {
            Goal::AtLeast(goal) => value >= goal,
            Goal::AtMost(goal) => value <= goal,
        }
    }

    fn text(self) -> String {
        match self {
            Goal::AtLeast(goal) => format!(">= {}", number(goal)),
            Goal::AtMost(goal) => format!("<= {}", number(goal)),
        }
    }
}

/// Prints `name = value (goal ...: met|MISSED)` and returns whether the goal was met.
pub fn goal(name: &str, value: f64, goal: Goal) -> bool {
    let met = goal.met(value);
    println!(
        "{name} = {} (goal {}: {})",
        number(value),
        goal.text(),
        if met { "met" } else { "MISSED" }
    );
    met
}

/// A number with as many decimals as it deserves.
pub fn number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A rate per second, without decimals.
pub fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// The `p`-th percentile (0..=100) of sorted values, nearest rank.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let values: Vec<u32> = (1..=200).collect();
        assert_eq!(percentile(&values, 50.0), Some(100));
        assert_eq!(percentile(&values, 99.0), Some(198));
        assert_eq!(percentile(&values, 100.0), Some(200));
        assert_eq!(percentile(&values, 0.0), Some(1));
        assert_eq!(percentile::<u32>(&[], 50.0), None);
    }

    #[test]
    fn aligns_columns() {
        let mut t = Table::new(["side", "calls/s"]);
        t.row(vec!["client".into(), "12345".into()]);
        t.row(vec!["raw".into(), "7".into()]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "side    calls/s");
        assert_eq!(lines[2], "client    12345");
        assert_eq!(lines[3], "raw           7");
    }

    #[test]
    fn goals_compare_both_ways() {
        assert!(Goal::AtLeast(0.8).met(0.8) && !Goal::AtLeast(0.8).met(0.79));
        assert!(Goal::AtMost(20.0).met(3.0) && !Goal::AtMost(20.0).met(21.0));
        assert_eq!(number(1234.5), "1234");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(0.934), "0.93");
    }
}
