"""Scan analytics: loads scan lines (docs/scan-events.md) into DuckDB and prints the
tables of the ready queries in analytics/queries/. Run it through analytics/run,
which installs the pinned DuckDB first.

    analytics/run local/logs/scans            # a folder, searched recursively
    analytics/run 'logs/2026-03-*.log.gz'     # a glob; gzip'd files are read as such

The lines are read as they are: `read_json(files, format = 'newline_delimited')`
with the column types of analytics/bigquery-schema.json, so that a column that
happens to be all null in a sample (say `referer`) still gets its real type, and
a column a line does not have is NULL: lines of schema v 1 (without `piece`,
`class`, `class_reason` and `visitor`) load next to v 2 lines, in one view.
"""
import argparse
import glob
import json
import os
import sys
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
QUERIES = HERE / "queries"
BIGQUERY_TO_DUCKDB = {"INTEGER": "BIGINT", "STRING": "VARCHAR", "BOOLEAN": "BOOLEAN", "TIMESTAMP": "TIMESTAMPTZ"}


def log_files(paths):
    """The regular files under each folder (recursively, skipping hidden ones) or matching each glob."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files += [os.path.join(folder, n) for n in sorted(names) if not n.startswith(".")]
        else:
            files += sorted(f for f in glob.glob(path, recursive=True) if os.path.isfile(f))
    return files


def schema_columns():
    """Column name → DuckDB type, from the BigQuery schema (one schema for both)."""
    fields = json.loads((HERE / "bigquery-schema.json").read_text())
    return {f["name"]: BIGQUERY_TO_DUCKDB[f["type"]] for f in fields}


def sql_string(text):
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def scans_source(files, typed=True):
    """The `read_json` call over `files`; `typed=False` leaves every type to DuckDB's
    detection, over every line of every file: by default DuckDB samples only the
    first 32 files, and a column null in all of them is detected as type NULL."""
    listing = "[" + ", ".join(sql_string(f) for f in files) + "]"
    if not typed:
        return (
            f"read_json({listing}, format = 'newline_delimited', "
            "sample_size = -1, maximum_sample_files = -1)"
        )
    # Explicit columns: a key missing from a line (a v 1 line's `class`) reads as NULL.
    columns = "{" + ", ".join(f"{sql_string(k)}: {sql_string(v)}" for k, v in schema_columns().items()) + "}"
    return f"read_json({listing}, format = 'newline_delimited', columns = {columns})"


def connect(files):
    """An in-memory DuckDB with the view `scans` over `files`, days in UTC."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW scans AS SELECT * FROM {scans_source(files)}")
    return con


def queries():
    """(file name, title, SQL) of each ready query, in file-name order."""
    found = []
    for path in sorted(QUERIES.glob("*.sql")):
        sql = path.read_text()
        title = sql.splitlines()[0].removeprefix("--").strip()
        found.append((path.name, title, sql))
    return found


def main():
    parser = argparse.ArgumentParser(description="Print the scan analytics tables for NDJSON scan logs.")
    parser.add_argument("paths", nargs="+", help="folders (searched recursively) or globs of scan log files; .gz is read as gzip")
    args = parser.parse_args()
    files = log_files(args.paths)
    if not files:
        sys.exit(f"no log files found in {' '.join(args.paths)}")
    try:
        con = connect(files)
        [(lines,)] = con.execute("SELECT count(*) FROM scans").fetchall()
        print(f"{lines} scans in {len(files)} files\n")
        for _, title, sql in queries():
            print(f"## {title}")
            con.sql(sql).show(max_rows=1000, max_width=200)
            print()
    except duckdb.InvalidInputException as e:
        sys.exit(f"cannot read the scan lines: {e}\n(each line must be one JSON object: give the log endpoint the message type 'blank')")


if __name__ == "__main__":
    main()
