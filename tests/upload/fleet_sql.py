"""Runs the SQL of docs/FLEET.md, extracted from it, and prints the rows as one JSON object
{query name: [row, ...]} on stdout.

  fleet_sql.py duckdb FLEET.md s3://BUCKET/PREFIX ENDPOINT KEY_ID SECRET
      DuckDB (pinned 1.1.3) with the httpfs extension of the pinned PyPI package
      duckdb-extension-httpfs, reading the runs Parquet straight from the S3 server at
      ENDPOINT (http, path-style).
  fleet_sql.py spark FLEET.md s3://BUCKET/PREFIX ENDPOINT KEY_ID SECRET
      Spark SQL (pyspark, local[1]) over a local copy of the prefix's Parquet, fetched
      with boto3 first (Spark has no S3 client without hadoop-aws).
  fleet_sql.py older s3://BUCKET/PREFIX/device=ID ENDPOINT KEY_ID SECRET COLUMN...
      Rewrites the device's runs files as an older edgewatt wrote them: without COLUMNs
      (columns are only appended), with pyarrow, in place.

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
    # Hive columns beside the file's own, no clash; each runs file on its own.
    out["columns"] = [c[0] for c in con.sql("DESCRIBE runs").fetchall()]
    files = [r[0] for r in con.sql(f"SELECT file FROM glob('{location}/*/*/*.runs.parquet')").fetchall()]
    out["files"] = {}
    for f in files:
        rel = con.sql(f"SELECT * FROM read_parquet('{f}', hive_partitioning = false)")
        out["files"][f.removeprefix(location + "/")] = [len(rel.fetchall()), len(rel.columns)]
    out["partitions"] = [list(map(clean, r)) for r in con.sql(
        "SELECT device, date, count(*) FROM runs GROUP BY ALL ORDER BY ALL").fetchall()]
    return out


def local_copy(location, endpoint, key_id, secret, into):
    """Every Parquet object under the s3:// location, at its key under `into`."""
    import boto3

    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=key_id, aws_secret_access_key=secret)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
    for page in pages:
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(".parquet"):
                path = pathlib.Path(into) / obj["Key"]
                path.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, obj["Key"], str(path))
    return str(pathlib.Path(into) / prefix)


def older(location, endpoint, key_id, secret, *columns):
    import io

    import boto3
    import pyarrow.parquet as pq

    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=key_id, aws_secret_access_key=secret)
    done = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(".runs.parquet"):
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                table = pq.read_table(io.BytesIO(body))
                if table.column_names[-len(columns):] != list(columns):
                    sys.exit(f"{obj['Key']}: its last columns are not {columns}")
                out = io.BytesIO()
                pq.write_table(table.drop_columns(list(columns)), out)
                s3.put_object(Bucket=bucket, Key=obj["Key"], Body=out.getvalue())
                done += 1
    if done == 0:
        sys.exit(f"no runs files under {location}")
    json.dump({"rewritten": done}, sys.stdout)


def spark_rows(doc, location, endpoint, key_id, secret):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return spark_local(doc, local_copy(location, endpoint, key_id, secret, tmp))


def spark_local(doc, local):
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        sys.exit(f"{e}: pyspark is not in this venv: run scripts/test.sh (or "
                 "`. scripts/lib/setup.sh && ensure_test_python`); "
                 "EDGEWATT_SKIP_SPARK_TESTS=1 skips the Spark test")

    spark = (SparkSession.builder.master("local[1]").appName("edgewatt-fleet")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.sql(blocks(doc, "view")["spark"].replace(DOC_LOCAL, local))
    out = {}
    for name, sql in blocks(doc, "sql").items():
        out[name] = [{k: clean(v) for k, v in r.asDict().items()} for r in spark.sql(sql).collect()]
    out["columns"] = spark.table("runs").columns
    out["files"] = {}
    for f in sorted(pathlib.Path(local).glob("*/*/*.runs.parquet")):
        df = spark.read.parquet(str(f))
        out["files"][str(f.relative_to(local))] = [df.count(), len(df.columns)]
    out["partitions"] = [[clean(x) for x in r] for r in spark.sql(
        "SELECT device, date, count(*) FROM runs GROUP BY device, date ORDER BY device, date"
    ).collect()]
    spark.stop()
    return out


def main():
    if sys.argv[1] == "older":
        return older(*sys.argv[2:])
    engine, doc_path = sys.argv[1], sys.argv[2]
    doc = pathlib.Path(doc_path).read_text()
    if engine == "duckdb":
        out = duckdb_rows(doc, *sys.argv[3:7])
    elif engine == "spark":
        out = spark_rows(doc, *sys.argv[3:7])
    else:
        sys.exit(f"unknown engine {engine!r}: duckdb or spark")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
