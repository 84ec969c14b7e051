//! Reading catalogue import files (`respite import`): CSV with a header row,
//! or JSON Lines. Records stream one at a time, each validated by
//! [`Material::from_json`], and come back with their line number so a bad
//! line is reported and skipped rather than aborting the import. Nothing
//! here writes to a store.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::model::{FieldError, Material};

/// Columns a CSV file may have: the fields a client may send (timestamps
/// are accepted and ignored, so an export imports back).
const CSV_COLUMNS: [&str; 11] = super::model::FIELDS;

/// Why a whole file cannot be imported (as opposed to one bad line).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The extension names no format we read.
    #[error("{path}: unknown file type (expected .csv, .jsonl or .ndjson)")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The CSV header row is missing or wrong.
    #[error("{path}: CSV header: {reason}")]
    Header {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// One line's outcome: its physical line number (1-based) and the record
/// or the reason it was refused.
pub type Line = (usize, Result<Material, FieldError>);

/// The records of an import file, read lazily.
pub struct Records {
    inner: Format,
}

enum Format {
    Csv(CsvRecords),
    Jsonl(JsonlRecords),
}

impl Iterator for Records {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        match &mut self.inner {
            Format::Csv(r) => r.next(),
            Format::Jsonl(r) => r.next(),
        }
    }
}

/// Open `path` and stream its records, the format chosen by extension
/// (`.csv`, `.jsonl`, `.ndjson`). Fails only for problems with the whole
/// file (cannot open, unknown type, bad CSV header).
pub fn read_file(path: &Path) -> Result<Records, ImportError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let inner = match extension.as_deref() {
        Some("csv") => Format::Csv(CsvRecords::open(path)?),
        Some("jsonl" | "ndjson") => Format::Jsonl(JsonlRecords::open(path)?),
        _ => {
            return Err(ImportError::UnknownFormat {
                path: path.to_path_buf(),
            })
        }
    };
    Ok(Records { inner })
}

fn io_error(path: &Path, source: std::io::Error) -> ImportError {
    ImportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn record_error(reason: impl Into<String>) -> FieldError {
    FieldError {
        field: "record",
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------
// CSV

struct CsvRecords {
    reader: csv::StringRecordsIntoIter<File>,
    /// Column names, as validated model field names.
    columns: Vec<&'static str>,
    /// Timestamp stamped on every record read.
    now: DateTime<Utc>,
    /// Line of the last record, for errors that carry no position.
    last_line: usize,
    /// Set after an I/O error: the rest of the file is unreadable.
    done: bool,
}

impl CsvRecords {
    fn open(path: &Path) -> Result<Self, ImportError> {
        let file = File::open(path).map_err(|e| io_error(path, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(file);
        let header_error = |reason: String| ImportError::Header {
            path: path.to_path_buf(),
            reason,
        };
        let header = reader
            .headers()
            .map_err(|e| header_error(e.to_string()))?
            .clone();
        let columns = columns(&header).map_err(header_error)?;
        Ok(CsvRecords {
            reader: reader.into_records(),
            columns,
            now: Utc::now(),
            last_line: 1,
            done: false,
        })
    }

    fn next(&mut self) -> Option<Line> {
        if self.done {
            return None;
        }
        match self.reader.next()? {
            Ok(row) => {
                self.last_line = position_line(row.position()).unwrap_or(self.last_line + 1);
                Some((self.last_line, self.row(&row)))
            }
            Err(e) => {
                self.done = e.is_io_error();
                let line = position_line(e.position()).unwrap_or(self.last_line + 1);
                self.last_line = line;
                Some((line, Err(record_error(format!("bad CSV: {e}")))))
            }
        }
    }

    /// One row as a JSON object, validated by the model.
    fn row(&self, row: &csv::StringRecord) -> Result<Material, FieldError> {
        if row.len() != self.columns.len() {
            return Err(record_error(format!(
                "expected {} columns, got {}",
                self.columns.len(),
                row.len()
            )));
        }
        let mut object = Map::new();
        for (&column, cell) in self.columns.iter().zip(row.iter()) {
            if let Some(value) = cell_value(column, cell)? {
                object.insert(column.to_string(), value);
            }
        }
        Material::from_json(&Value::Object(object), self.now)
    }
}

/// The header's column names, each a known field, none twice.
fn columns(header: &csv::StringRecord) -> Result<Vec<&'static str>, String> {
    let mut columns: Vec<&'static str> = Vec::with_capacity(header.len());
    for name in header.iter().map(str::trim) {
        let Some(&known) = CSV_COLUMNS.iter().find(|&&c| c == name) else {
            return Err(format!(
                "unknown column '{name}' (known: {})",
                CSV_COLUMNS.join(", ")
            ));
        };
        if columns.contains(&known) {
            return Err(format!("column '{name}' appears twice"));
        }
        columns.push(known);
    }
    Ok(columns)
}

/// A cell as the JSON value the model expects: empty cells are absent,
/// `attributes` is JSON text, everything else a string (the model parses
/// prices from strings).
fn cell_value(column: &'static str, cell: &str) -> Result<Option<Value>, FieldError> {
    if cell.trim().is_empty() {
        return Ok(None);
    }
    if column != "attributes" {
        return Ok(Some(Value::String(cell.to_string())));
    }
    serde_json::from_str(cell)
        .map(Some)
        .map_err(|e| FieldError {
            field: "attributes",
            reason: format!("malformed JSON: {e}"),
        })
}

fn position_line(position: Option<&csv::Position>) -> Option<usize> {
    position.map(|p| p.line() as usize)
}

// ---------------------------------------------------------------------------
// JSON Lines

struct JsonlRecords {
    reader: BufReader<File>,
    buf: Vec<u8>,
    line: usize,
    now: DateTime<Utc>,
    done: bool,
}

impl JsonlRecords {
    fn open(path: &Path) -> Result<Self, ImportError> {
        let file = File::open(path).map_err(|e| io_error(path, e))?;
        Ok(JsonlRecords {
            reader: BufReader::new(file),
            buf: Vec::new(),
            line: 0,
            now: Utc::now(),
            done: false,
        })
    }

    /// The next non-blank line's record.
    fn next(&mut self) -> Option<Line> {
        while !self.done {
            self.buf.clear();
            self.line += 1;
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => self.done = true,
                Ok(_) if self.buf.trim_ascii().is_empty() => {}
                Ok(_) => {
                    let record = Material::from_json_text(self.buf.trim_ascii(), self.now);
                    return Some((self.line, record));
                }
                Err(e) => {
                    self.done = true;
                    return Some((self.line, Err(record_error(format!("read error: {e}")))));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(suffix: &str, text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f.flush().unwrap();
        f
    }

    fn read(suffix: &str, text: &str) -> Vec<Line> {
        let f = file(suffix, text);
        read_file(f.path()).unwrap().collect()
    }

    /// The rejection on `line`, as (field, reason).
    fn rejection(lines: &[Line], line: usize) -> (&'static str, String) {
        let (_, result) = lines.iter().find(|(l, _)| *l == line).unwrap();
        let err = result.as_ref().unwrap_err();
        (err.field, err.reason.clone())
    }

    #[test]
    fn good_csv_with_quotes_commas_and_cyrillic() {
        let text = "name,id,price,category,attributes,unit\n\
            \"Цемент М500, 50 кг\",m-1,420.50,Цемент и смеси,\"{\"\"brand\"\":\"\"Евроцемент\"\"}\",меш\n\
            Facing brick,m-2,35,Кирпич и блоки,,шт\n";
        let lines = read(".csv", text);
        assert_eq!(lines.len(), 2);
        let (line, first) = &lines[0];
        let first = first.as_ref().unwrap();
        assert_eq!(*line, 2);
        assert_eq!(first.name, "Цемент М500, 50 кг");
        assert_eq!(first.price, 420.5);
        assert_eq!(first.attributes["brand"], "Евроцемент");
        assert_eq!(first.unit, "меш");
        let (line, second) = &lines[1];
        assert_eq!(*line, 3);
        assert!(second.as_ref().unwrap().attributes.is_empty());
    }

    #[test]
    fn bad_csv_lines_are_rejected_with_line_and_field() {
        let text = "id,name,price,attributes\n\
            m-1,ok,1,\n\
            ,no id,1,\n\
            m-3,bad price,abc,\n\
            m-4,bad attrs,1,[1]\n\
            m-5,too,many,cells,here\n\
            m-6,\"multi\nline\",2,\n\
            m-7,broken attrs,1,{x\n\
            m-8,ok again,3,\n";
        let lines = read(".csv", text);
        let numbers: Vec<usize> = lines.iter().map(|(l, _)| *l).collect();
        assert_eq!(numbers, [2, 3, 4, 5, 6, 7, 9, 10]);
        assert!(lines[0].1.is_ok());
        assert_eq!(rejection(&lines, 3).0, "id");
        assert_eq!(rejection(&lines, 4).0, "price");
        assert_eq!(rejection(&lines, 5).0, "attributes");
        let (field, reason) = rejection(&lines, 6);
        assert_eq!(field, "record");
        assert!(reason.contains("expected 4 columns, got 5"), "{reason}");
        assert_eq!(lines[5].1.as_ref().unwrap().name, "multi\nline");
        let (field, reason) = rejection(&lines, 9);
        assert_eq!(field, "attributes");
        assert!(reason.contains("malformed JSON"));
        assert!(lines[7].1.is_ok());
    }

    #[test]
    fn csv_header_problems_fail_the_file() {
        for header in ["id,name,colour\n", "id,name,id\n"] {
            let f = file(".csv", header);
            let err = read_file(f.path()).err().unwrap();
            assert!(matches!(err, ImportError::Header { .. }), "{err}");
        }
    }

    #[test]
    fn good_and_bad_jsonl() {
        let text = "{\"id\":\"m-1\",\"name\":\"Гипсокартон Knauf\",\"price\":390}\n\
            \n\
            {not json\n\
            {\"name\":\"no id\",\"price\":1}\n\
            {\"id\":\"m-4\",\"name\":\"x\",\"price\":\"abc\"}\n\
            {\"id\":\"m-5\",\"name\":\"x\",\"price\":1,\"attributes\":[]}\r\n\
            \x20\x20\n\
            {\"id\":\"m-6\",\"name\":\"last\",\"price\":2}";
        let lines = read(".jsonl", text);
        let numbers: Vec<usize> = lines.iter().map(|(l, _)| *l).collect();
        assert_eq!(numbers, [1, 3, 4, 5, 6, 8]);
        assert_eq!(lines[0].1.as_ref().unwrap().name, "Гипсокартон Knauf");
        let (field, reason) = rejection(&lines, 3);
        assert_eq!(field, "record");
        assert!(reason.contains("malformed JSON"));
        assert_eq!(rejection(&lines, 4).0, "id");
        assert_eq!(rejection(&lines, 5).0, "price");
        assert_eq!(rejection(&lines, 6).0, "attributes");
        assert_eq!(lines[5].1.as_ref().unwrap().id, "m-6");
    }

    #[test]
    fn unknown_extension_and_missing_file() {
        let f = file(".xml", "<x/>");
        assert!(matches!(
            read_file(f.path()),
            Err(ImportError::UnknownFormat { .. })
        ));
        let err = read_file(Path::new("/nonexistent/x.ndjson")).err().unwrap();
        assert!(err.to_string().contains("/nonexistent/x.ndjson"));
    }

    #[test]
    fn seed_output_round_trips_through_jsonl() {
        let text: String = crate::materials::seed::generate(50, 3)
            .map(|m| format!("{}\n", m.to_json()))
            .collect();
        let lines = read(".ndjson", &text);
        assert_eq!(lines.len(), 50);
        assert!(lines.iter().all(|(_, r)| r.is_ok()));
    }
}
