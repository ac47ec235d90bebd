"""Runs the SQL of docs/FLEET.md, extracted from it, and prints the rows as one JSON object
{query name: [row, ...]} on stdout.

  fleet_sql.py duckdb FLEET.md s3://BUCKET/PREFIX ENDPOINT KEY_ID SECRET
      DuckDB (pinned 1.1.3) with the httpfs extension of the pinned PyPI package
      duckdb-extension-httpfs, reading the runs Parquet straight from the S3 server at
      ENDPOINT (http, path-style).
  fleet_sql.py spark FLEET.md LOCAL_DIR
      Spark SQL (pyspark, local[1]) over a local copy of the bucket's prefix.

Only the view's location is replaced; the view and the queries are the doc's text.
"""

import json
import math
import pathlib
import re
import sys

DOC_S3 = "s3://my-fleet/edgewatt"
DOC_LOCAL = "/srv/fleet/edgewatt"


def blocks(doc, kind):
    """{name: sql} of the `<!-- fleet-KIND: NAME -->` + ```sql blocks of the doc."""
    found = re.findall(r"<!-- fleet-%s: (\w+) -->\s*```sql\n(.*?)```" % kind, doc, re.S)
    if not found:
        sys.exit(f"no fleet-{kind} blocks in the doc")
    return {name: sql.strip() for name, sql in found}


def clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    return str(v)


def duckdb_rows(doc, location, endpoint, key_id, secret):
    import duckdb
    import duckdb_extension_httpfs

    ext = (pathlib.Path(duckdb_extension_httpfs.__file__).parent
           / f"extensions/v{duckdb.__version__}/httpfs.duckdb_extension")
    con = duckdb.connect()
    con.load_extension(str(ext))
    host = endpoint.removeprefix("http://")
    con.sql(f"""CREATE SECRET (TYPE S3, KEY_ID '{key_id}', SECRET '{secret}',
                REGION 'us-east-1', ENDPOINT '{host}', URL_STYLE 'path', USE_SSL false)""")
    con.sql(blocks(doc, "view")["duckdb"].replace(DOC_S3, location))
    out = {}
    for name, sql in blocks(doc, "sql").items():
        rel = con.sql(sql)
        out[name] = [dict(zip(rel.columns, map(clean, row))) for row in rel.fetchall()]
    # Hive columns beside the file's own, no clash.
    cols = [c[0] for c in con.sql("DESCRIBE runs").fetchall()]
    out["columns"] = cols
    out["partitions"] = [list(map(clean, r)) for r in con.sql(
        "SELECT device, date, count(*) FROM runs GROUP BY ALL ORDER BY ALL").fetchall()]
    return out


def spark_rows(doc, local):
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[1]").appName("edgewatt-fleet")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.sql(blocks(doc, "view")["spark"].replace(DOC_LOCAL, local))
    out = {}
    for name, sql in blocks(doc, "sql").items():
        out[name] = [{k: clean(v) for k, v in r.asDict().items()} for r in spark.sql(sql).collect()]
    out["columns"] = spark.table("runs").columns
    out["partitions"] = [[clean(x) for x in r] for r in spark.sql(
        "SELECT device, date, count(*) FROM runs GROUP BY device, date ORDER BY device, date"
    ).collect()]
    spark.stop()
    return out


def main():
    engine, doc_path = sys.argv[1], sys.argv[2]
    doc = pathlib.Path(doc_path).read_text()
    if engine == "duckdb":
        out = duckdb_rows(doc, *sys.argv[3:7])
    elif engine == "spark":
        out = spark_rows(doc, sys.argv[3])
    else:
        sys.exit(f"unknown engine {engine!r}: duckdb or spark")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
