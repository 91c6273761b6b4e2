//! Colour (ANSI, only on a terminal and without `NO_COLOR`) and aligned tables.

use std::ffi::OsString;
use std::io::IsTerminal;

use clap::ValueEnum;

/// When to colour the output.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set to a non-empty value.
    #[default]
    Auto,
    /// Always, whatever the output and `NO_COLOR`.
    Always,
    /// Never.
    Never,
}

/// What a cell means, which its colour shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// A heading.
    Heading,
    /// Healthy: ready, on track, compliant, succeeded.
    Good,
    /// Needs attention soon: at risk, waiting, deferred.
    Warn,
    /// Needs a person: escalated, not ready, failed, missed.
    Bad,
    /// Less important: placeholders, hashes.
    Faint,
}

impl Tone {
    fn code(self) -> &'static str {
        match self {
            Self::Heading => "1",
            Self::Good => "32",
            Self::Warn => "33",
            Self::Bad => "31",
            Self::Faint => "2",
        }
    }
}

/// Paints text, or leaves it as it is when colour is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Palette {
    enabled: bool,
}

impl Palette {
    /// Colour on or off, as `choice` says for an output that is (or is not) a terminal and
    /// the value of `NO_COLOR`.
    pub fn new(choice: ColorChoice, terminal: bool, no_color: Option<OsString>) -> Self {
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
        };
        Self { enabled }
    }

    /// As `choice` says for standard output and this process's `NO_COLOR`.
    pub fn detect(choice: ColorChoice) -> Self {
        Self::new(choice, std::io::stdout().is_terminal(), std::env::var_os("NO_COLOR"))
    }

    /// No colour.
    #[cfg(test)]
    pub fn plain() -> Self {
        Self { enabled: false }
    }

    /// `text` in `tone`.
    pub fn paint(&self, tone: Tone, text: &str) -> String {
        match self.enabled && !text.is_empty() {
            true => format!("\x1b[{}m{text}\x1b[0m", tone.code()),
            false => text.to_string(),
        }
    }
}

/// One cell: its text and, optionally, its tone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    text: String,
    tone: Option<Tone>,
}

impl Cell {
    /// A cell in `tone`.
    pub fn toned(text: impl Into<String>, tone: Tone) -> Self {
        Self { tone: Some(tone), ..Self::from(text.into()) }
    }
}

impl<T: Into<String>> From<T> for Cell {
    fn from(text: T) -> Self {
        let text = text.into();
        Self { text: if text.is_empty() { "-".into() } else { text }, tone: None }
    }
}

/// Columns aligned by padding, as `kubectl get` prints them: upper-case headings, three
/// spaces between columns, the last column unpadded. Colour never shifts a column: cells
/// are padded by their text before they are painted.
#[derive(Clone, Debug, Default)]
pub struct Table {
    headings: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with these column headings.
    pub fn new(headings: &[&'static str]) -> Self {
        Self { headings: headings.to_vec(), rows: Vec::new() }
    }

    /// Adds a row (as many cells as headings).
    pub fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.headings.len(), "one cell per column");
        self.rows.push(cells);
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as lines of text.
    pub fn render(&self, palette: Palette) -> String {
        let width = |text: &str| text.chars().count();
        let mut widths: Vec<usize> = self.headings.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (column, cell) in row.iter().enumerate() {
                widths[column] = widths[column].max(width(&cell.text));
            }
        }
        let last = self.headings.len().saturating_sub(1);
        let line = |cells: Vec<(String, Option<Tone>)>| {
            let mut out = String::new();
            for (column, (text, tone)) in cells.into_iter().enumerate() {
                let padding = if column == last { 0 } else { widths[column] - width(&text) + 3 };
                out.push_str(&match tone {
                    Some(tone) => palette.paint(tone, &text),
                    None => text,
                });
                out.extend(std::iter::repeat_n(' ', padding));
            }
            out.truncate(out.trim_end().len());
            out.push('\n');
            out
        };
        let mut out = line(self.headings.iter().map(|h| (h.to_string(), Some(Tone::Heading))).collect());
        for row in &self.rows {
            out.push_str(&line(row.iter().map(|c| (c.text.clone(), c.tone)).collect()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_follows_the_choice_the_terminal_and_no_color() {
        let on =
            |choice, terminal, no_color: Option<&str>| Palette::new(choice, terminal, no_color.map(Into::into)).enabled;
        assert!(on(ColorChoice::Auto, true, None));
        assert!(!on(ColorChoice::Auto, false, None), "not on a pipe");
        assert!(!on(ColorChoice::Auto, true, Some("1")), "NO_COLOR");
        assert!(on(ColorChoice::Auto, true, Some("")), "an empty NO_COLOR is unset");
        assert!(on(ColorChoice::Always, false, Some("1")), "the flag wins over NO_COLOR");
        assert!(!on(ColorChoice::Never, true, None));
    }

    #[test]
    fn tables_align_by_text_whatever_the_colour() {
        let mut table = Table::new(&["NAME", "READY"]);
        table.row(vec!["owners".into(), Cell::toned("True", Tone::Good)]);
        table.row(vec!["a".into(), "".into()]);
        assert_eq!(table.render(Palette::plain()), "NAME     READY\nowners   True\na        -\n");
        let coloured = table.render(Palette::new(ColorChoice::Always, false, None));
        assert_eq!(coloured, "\x1b[1mNAME\x1b[0m     \x1b[1mREADY\x1b[0m\nowners   \x1b[32mTrue\x1b[0m\na        -\n");
    }
}
