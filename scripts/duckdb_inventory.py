#!/usr/bin/env python3
"""The inventory stratus computes from an S3 Inventory Parquet report, computed by DuckDB
instead: the yardstick in BENCHMARKS.md ("Inventory reports").

    target/emulators/venv/bin/python scripts/duckdb_inventory.py target/bench-reports/parquet-10000000

Same work as `stratus::inventory::reports::read` at depth 2: totals, objects and bytes per
prefix at depths 1 and 2, per storage class, the 20 largest objects, oldest and newest.
DuckDB uses every core (as stratus does) and reads only the columns it needs.
"""
import sys

import duckdb

root = sys.argv[1]
files = f"{root}/inventory/data/*.parquet"
con = duckdb.connect()
con.execute(f"CREATE VIEW rows AS SELECT key, size, last_modified_date AS t, storage_class FROM read_parquet('{files}')")
total = con.execute("SELECT count(*), sum(size), min(epoch_ms(t)), max(epoch_ms(t)) FROM rows").fetchone()
by_prefix = con.execute(
    """
    SELECT p, count(*), sum(size) FROM (
        SELECT split_part(key, '/', 1) AS p, size FROM rows WHERE strpos(key, '/') > 0
        UNION ALL
        SELECT split_part(key, '/', 1) || '/' || split_part(key, '/', 2), size FROM rows
            WHERE len(key) - len(replace(key, '/', '')) >= 2
    ) GROUP BY p
    """
).fetchall()
by_class = con.execute("SELECT storage_class, count(*), sum(size) FROM rows GROUP BY 1").fetchall()
largest = con.execute("SELECT key, size FROM rows ORDER BY size DESC, key LIMIT 20").fetchall()
print(f"{total[0]} objects, {total[1]} bytes, {len(by_prefix)} prefixes, {len(by_class)} classes, largest {largest[0][1]}")
