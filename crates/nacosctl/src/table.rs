//! Aligned plain-text tables: a header row and left-aligned columns two spaces apart.

/// A table being filled, row by row.
#[derive(Debug)]
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub(crate) fn new(header: &[&str]) -> Table {
        Table {
            rows: vec![header.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    /// Adds a row; its cells are shown on one line (control characters escaped), so a value
    /// from a server can neither break the layout nor drive the terminal.
    pub(crate) fn row(&mut self, cells: impl IntoIterator<Item = String>) {
        self.rows
            .push(cells.into_iter().map(|c| printable(&c)).collect());
    }

    /// The table as lines, each ending in `\n`, with no trailing blanks.
    pub(crate) fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = widths[i] - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `s` with control characters (line breaks, tabs, escapes) written as escapes.
pub(crate) fn printable(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    s.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_to_the_widest_cell() {
        let mut t = Table::new(&["IP", "PORT", "METADATA"]);
        t.row(["10.0.0.100".to_owned(), "80".to_owned(), "-".to_owned()]);
        t.row(["::1".to_owned(), "8080".to_owned(), "a=b".to_owned()]);
        assert_eq!(
            t.render(),
            "IP          PORT  METADATA\n\
             10.0.0.100  80    -\n\
             ::1         8080  a=b\n"
        );
    }

    #[test]
    fn a_header_alone_is_a_table() {
        assert_eq!(Table::new(&["SERVICE"]).render(), "SERVICE\n");
    }

    #[test]
    fn cells_stay_on_one_line() {
        let mut t = Table::new(&["A", "B"]);
        t.row(["x\ny".to_owned(), "\u{1b}[2J".to_owned()]);
        assert_eq!(t.render(), "A     B\nx\\ny  \\u{1b}[2J\n");
    }
}
