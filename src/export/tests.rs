//! Writing and reading tables: CSV quoting and nulls, Parquet round trips, errors named.

use std::path::Path;

use super::*;

const COLS: &[Column] = &[
    Column::distinct("n", ColumnType::Int64),
    Column::new("x_j", ColumnType::Float64),
    Column::new("ok", ColumnType::Bool),
    Column::new("label", ColumnType::Utf8),
];

fn table() -> Table {
    let mut t = Table::new(COLS);
    t.rows = vec![
        vec![
            Value::Int(-3),
            Value::Float(0.1 + 0.2),
            Value::Bool(true),
            Value::Text("plain".into()),
        ],
        vec![
            Value::Null,
            Value::Float(1e-300),
            Value::Null,
            Value::Text("a, \"quoted\"\nline".into()),
        ],
        vec![
            Value::Int(i64::MAX),
            Value::Null,
            Value::Bool(false),
            Value::Text(String::new()),
        ],
        vec![
            Value::Int(0),
            Value::Float(-2.5),
            Value::Bool(true),
            Value::Null,
        ],
    ];
    t
}

fn round_trip(format: Format, ext: &str) -> Table {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("t.{ext}"));
    let mut bytes = Vec::new();
    write_table(&table(), format, &mut bytes, &path).unwrap();
    std::fs::write(&path, bytes).unwrap();
    read_table(&path, COLS).unwrap()
}

#[test]
fn csv_and_parquet_read_back_every_cell_exactly() {
    assert_eq!(round_trip(Format::Csv, "csv"), table());
    assert_eq!(round_trip(Format::Parquet, "parquet"), table());
}

/// `table()` written by a [`TableWriter`] `batch` rows at a time.
fn in_batches(format: Format, batch: usize) -> Vec<u8> {
    let t = table();
    let mut bytes = Vec::new();
    let mut w = TableWriter::new(COLS, format, &mut bytes, Path::new("x")).unwrap();
    for rows in t.rows.chunks(batch) {
        w.write(rows).unwrap();
    }
    w.finish().unwrap();
    bytes
}

fn parquet_meta(bytes: Vec<u8>) -> ::parquet::file::metadata::ParquetMetaData {
    use ::parquet::file::reader::FileReader as _;
    let mut file = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut file, &bytes).unwrap();
    let reader = ::parquet::file::reader::SerializedFileReader::new(file).unwrap();
    reader.metadata().clone()
}

/// Rows written in batches are the rows written at once: the same CSV and JSON lines, and
/// in Parquet a row group per batch holding the same cells.
#[test]
fn a_table_written_in_batches_is_the_table_written_at_once() {
    let mut once = Vec::new();
    for format in [Format::Csv, Format::Jsonl] {
        once.clear();
        write_table(&table(), format, &mut once, Path::new("x")).unwrap();
        assert_eq!(in_batches(format, 3), once, "{format:?}");
        assert_eq!(in_batches(format, 1), once, "{format:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    for (batch, groups) in [(1, 4), (3, 2), (4, 1), (100, 1)] {
        let bytes = in_batches(Format::Parquet, batch);
        assert_eq!(parquet_meta(bytes.clone()).num_row_groups(), groups);
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(
            read_table(&path, COLS).unwrap(),
            table(),
            "batches of {batch}"
        );
    }
}

/// A table with no rows is a header (CSV), nothing (JSON lines), or a Parquet file with
/// one empty row group that reads back as no rows.
#[test]
fn a_table_of_no_rows_is_written_whole() {
    let empty = Table::new(COLS);
    let mut out = Vec::new();
    write_table(&empty, Format::Csv, &mut out, Path::new("x")).unwrap();
    assert_eq!(out, b"n,x_j,ok,label\n");
    out.clear();
    write_table(&empty, Format::Jsonl, &mut out, Path::new("x")).unwrap();
    assert!(out.is_empty());
    out.clear();
    write_table(&empty, Format::Parquet, &mut out, Path::new("x")).unwrap();
    let meta = parquet_meta(out.clone());
    assert_eq!(meta.num_row_groups(), 1);
    assert_eq!(meta.file_metadata().num_rows(), 0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    std::fs::write(&path, out).unwrap();
    assert_eq!(read_table(&path, COLS).unwrap(), empty);
}

/// A column whose every row has a value of its own is stored without a dictionary; the
/// others keep theirs.
#[test]
fn a_distinct_column_has_no_dictionary_in_parquet() {
    use ::parquet::basic::Encoding;
    let meta = parquet_meta(in_batches(Format::Parquet, 100));
    let group = meta.row_group(0);
    let dictionary = |name: &str| {
        let col = group
            .columns()
            .iter()
            .find(|c| c.column_path().string() == name)
            .unwrap();
        col.dictionary_page_offset().is_some()
            || col.encodings().any(|e| e == Encoding::RLE_DICTIONARY)
    };
    assert!(!dictionary("n"));
    assert!(dictionary("label"));
    assert!(dictionary("x_j"));
}

#[test]
fn csv_writes_null_as_empty_and_quotes_what_needs_it() {
    let mut out = Vec::new();
    write_table(&table(), Format::Csv, &mut out, Path::new("x")).unwrap();
    let text = String::from_utf8(out).unwrap();
    let want = "n,x_j,ok,label\n-3,0.30000000000000004,true,plain\n,1e-300,,\"a, \
                \"\"quoted\"\"\nline\"\n9223372036854775807,,false,\"\"\n0,-2.5,true,\n";
    assert_eq!(text, want);
}

#[test]
fn jsonl_keeps_the_column_order_and_nulls() {
    let mut out = Vec::new();
    write_table(&table(), Format::Jsonl, &mut out, Path::new("x")).unwrap();
    let first = String::from_utf8(out)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        first,
        r#"{"n":-3,"x_j":0.30000000000000004,"ok":true,"label":"plain"}"#
    );
}

#[test]
fn bad_csv_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, "n,x_j\n1,2\n3,oops\n").unwrap();
    let e = read_table(&path, COLS).unwrap_err().to_string();
    assert!(
        e.ends_with("bad.csv:3: column x_j: \"oops\" is not a number"),
        "{e}"
    );
    std::fs::write(&path, "n,x_j\n1\n").unwrap();
    let e = read_table(&path, COLS).unwrap_err().to_string();
    assert!(e.ends_with("bad.csv:2: 1 fields, the header has 2"), "{e}");
    std::fs::write(&path, "n,label\n1,\"open\n").unwrap();
    let e = read_table(&path, COLS).unwrap_err().to_string();
    assert!(
        e.ends_with("bad.csv:2: a quoted field is not closed"),
        "{e}"
    );
    let other = dir.path().join("t.txt");
    std::fs::write(&other, "").unwrap();
    let e = read_table(&other, COLS).unwrap_err().to_string();
    assert!(e.contains("unknown format"), "{e}");
    let pq = dir.path().join("bad.parquet");
    std::fs::write(&pq, "not parquet").unwrap();
    let e = read_table(&pq, COLS).unwrap_err().to_string();
    assert!(e.contains("bad.parquet: parquet:"), "{e}");
}

#[test]
fn unknown_columns_are_left_out_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "n,newer_column\n7,x\n").unwrap();
    let t = read_table(&path, COLS).unwrap();
    assert_eq!(t.columns, vec![COLS[0]]);
    assert_eq!(t.rows, vec![vec![Value::Int(7)]]);
}

#[test]
fn run_columns_have_units_and_unique_names() {
    let mut names: Vec<&str> = RUN_COLUMNS.iter().map(|c| c.name).collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "unique");
    for c in RUN_COLUMNS.iter().filter(|c| c.ty == ColumnType::Float64) {
        let unit = [
            "_s", "_j", "_pct", "_mb", "_w", "_hz", "_mhz", "_c", "coverage",
        ];
        assert!(
            unit.iter().any(|u| c.name.ends_with(u)),
            "{} has no unit",
            c.name
        );
    }
}

/// (name, type) of each row of the table under `## <section>` in docs/EXPORT.md.
fn doc_columns(doc: &str, section: &str) -> Vec<(String, String)> {
    let start = doc
        .find(&format!("\n## {section} "))
        .unwrap_or_else(|| panic!("docs/EXPORT.md has no section {section}"));
    let body = &doc[start + 1..];
    let body = &body[..body[3..].find("\n## ").map_or(body.len(), |i| i + 3)];
    body.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_owned(), (*cells.get(2)?).to_owned()))
        })
        .collect()
}

#[test]
fn docs_export_md_is_the_schema() {
    let doc = include_str!("../../docs/EXPORT.md");
    for (section, columns) in [("runs", &RUN_COLUMNS[..]), ("samples", SAMPLE_COLUMNS)] {
        let want: Vec<(String, String)> = columns
            .iter()
            .map(|c| (c.name.to_owned(), c.ty.name().to_owned()))
            .collect();
        assert_eq!(doc_columns(doc, section), want, "docs/EXPORT.md, {section}");
    }
}

#[test]
fn a_files_extension_names_its_format_in_any_case() {
    let of = |name: &str| Format::from_path(Path::new(name));
    assert_eq!(of("runs.csv"), Some(Format::Csv));
    assert_eq!(of("RUNS.CSV"), Some(Format::Csv));
    assert_eq!(of("s.JsonL"), Some(Format::Jsonl));
    assert_eq!(of("s.ndjson"), Some(Format::Jsonl));
    assert_eq!(of("s.Parquet"), Some(Format::Parquet));
    assert_eq!(of("s.PQ"), Some(Format::Parquet));
    assert_eq!(of("runs.xlsx"), None);
    assert_eq!(of("runs"), None);
}

#[test]
fn the_formats_help_is_plain_text_with_the_batch_size() {
    use clap::ValueEnum;
    let help = |f: Format| {
        f.to_possible_value()
            .unwrap()
            .get_help()
            .unwrap()
            .to_string()
    };
    let parquet = help(Format::Parquet);
    assert!(!parquet.contains('['), "{parquet}");
    assert_eq!(BATCH_ROWS, 65_536);
    assert!(
        parquet.contains("one per 65 536 rows for samples"),
        "{parquet}"
    );
}

/// The runs table of a synthetic log of one run: its plan's idle row, then the run.
fn one_run_table() -> Table {
    run_table(&one_run_rows())
}

/// The cost rows of a synthetic log of one run: its plan's idle row, then the run.
fn one_run_rows() -> Vec<crate::cost::RunCost> {
    use crate::synth::calib::{write, PowerTruth, SynthCase, SynthLog, SynthRun};
    let truth = PowerTruth {
        idle_w: 3.0,
        cpu_w_per_pct: 0.035,
        ram_w_per_mb: 0.002,
        cpu_ghz_w_per_pct_ghz: 0.0,
    };
    let run = SynthRun {
        load_pct: 50.0,
        duration_s: 5.0,
        ram_mb: 200.0,
        freq_mhz: 2400,
        prompt_tokens: 64,
        ok: true,
        case: SynthCase::default(),
    };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &SynthLog::new(truth, vec![run])).unwrap();
    let source = crate::logread::LogSource::dir(dir.path());
    let opts = crate::cost::CostOptions::default();
    let costs = crate::cost::CostLog::read(&source, crate::logread::Filter::default(), opts);
    costs.unwrap().rows
}

#[test]
fn an_idle_row_leaves_the_run_only_columns_null() {
    let table = one_run_table();
    let cell = |row: usize, name: &str| &table.rows[row][table.column(name).unwrap()];
    assert_eq!(cell(0, "kind"), &Value::Text("idle".into()));
    assert_eq!(cell(1, "kind"), &Value::Text("run".into()));
    let run_only = [
        "workload",
        "warmup",
        "repetition",
        "threads",
        "prompt_tokens",
        "generated_tokens",
        "model",
    ];
    for name in run_only {
        assert_eq!(cell(0, name), &Value::Null, "idle row's {name}");
        assert_ne!(cell(1, name), &Value::Null, "run row's {name}");
    }
    // The synthetic worker's peak RSS is not known (0 on its record): null, not 0 (rev-c).
    assert_eq!(cell(0, "peak_rss_kb"), &Value::Null);
    assert_eq!(cell(1, "peak_rss_kb"), &Value::Null);
    assert_eq!(cell(1, "prompt_tokens"), &Value::Int(64));
    // Every figure of the run trusted: no reasons, null (as CSV's empty cell reads), not "".
    assert_eq!(cell(1, "untrusted_reasons"), &Value::Null);
    // Calibration fits an idle span as a point at rest: it stays `ok`, with its energy.
    assert_eq!(cell(0, "ok"), &Value::Bool(true));
    let (points, excluded) =
        crate::estimate::import::points_from_table(&table, "t", crate::cost::DEFAULT_MIN_COVERAGE)
            .unwrap();
    assert_eq!((points.len(), excluded.idle), (2, 1));
}

/// A value no log gives, in a table to pool: an error naming its row, label and column
/// (rev-k: a NaN or negative energy was fitted or left out without a word).
#[test]
fn an_impossible_value_in_a_runs_table_is_named() {
    use crate::estimate::import::points_from_table;
    use crate::estimate::import::ImportError;
    let good = one_run_table();
    for (column, value) in [
        ("energy_gross_j", f64::NAN),
        ("energy_gross_j", -1.0),
        ("duration_s", -5.0),
        ("energy_coverage", -0.5),
        ("cpu_signed_auc_pct_s", f64::INFINITY),
        // Outside review (stop 27): fitted, and written to a calibration of MAPE 76 %.
        ("cpu_signed_auc_pct_s", -50_000.0),
        ("cpu_mean_pct", 150.0),
        ("cpu_mean_pct", -1.0),
    ] {
        let mut table = good.clone();
        let at = table.column(column).unwrap();
        table.rows[1][at] = Value::Float(value);
        let err = points_from_table(&table, "runs.csv", 0.9).unwrap_err();
        let ImportError::Impossible {
            row, column: named, ..
        } = &err
        else {
            panic!("{column} = {value}: {err}");
        };
        assert_eq!((*row, *named), (2, column));
        let text = err.to_string();
        assert!(text.starts_with("runs.csv: row 2 ("), "{text}");
        assert!(text.contains(&format!("{column} = {value}")), "{text}");
    }
    // A signed AUC below the baseline is a run's, not an impossible value.
    let mut table = good.clone();
    let at = table.column("cpu_signed_auc_pct_s").unwrap();
    table.rows[1][at] = Value::Float(-3.0);
    assert!(points_from_table(&table, "runs.csv", 0.9).is_ok());
}

/// A run no sample covers (inside a gap of the log) has no CPU/RAM figures: null, not AUCs
/// of 0 and a mean CPU at its baseline (rev-k).
#[test]
fn a_run_no_sample_covers_has_null_usage_figures() {
    let mut rows = one_run_rows();
    let covered = run_table(&rows);
    let usage = rows[1].usage.as_mut().unwrap();
    usage.coverage = 0.0;
    let table = run_table(&rows);
    let cell = |t: &Table, name: &str| t.rows[1][t.column(name).unwrap()].clone();
    for name in [
        "cpu_auc_pct_s",
        "cpu_auc_core_pct_s",
        "cpu_signed_auc_pct_s",
        "ram_auc_mb_s",
        "ram_signed_auc_mb_s",
        "cpu_mean_pct",
    ] {
        assert_ne!(cell(&covered, name), Value::Null, "{name} when covered");
        assert_eq!(cell(&table, name), Value::Null, "{name}");
    }
    assert_eq!(cell(&table, "usage_coverage"), Value::Float(0.0));
}
