#!/usr/bin/env python3
"""The inventory stratus computes from an S3 Inventory Parquet report, computed by DuckDB
instead: the yardstick in docs/BENCHMARKS.md ("Inventory reports").

    target/emulators/venv/bin/python scripts/duckdb_inventory.py target/bench-reports/parquet-10000000

Same work as `stratus::inventory::reports::read` at depth 2: totals, objects and bytes per
prefix at depths 1 and 2, per storage class, the 20 largest objects, oldest and newest.
DuckDB uses every core (as stratus does) and reads only the columns it needs.

With `--oracle CASES.json` it is the test suite's independent oracle instead (see below).
"""
import glob
import json
import os
import sys

import duckdb


# ---- The oracle of the test suite (tests/oracle.rs) ----
#
#     python scripts/duckdb_inventory.py --oracle CASES.json
#
# CASES.json: a list of {"name", "tree" (a folder, or null), "parquet" (a glob of an
# export's data files, or null), "prefix", "depth", "top", "as_of_ms"}. For each case,
# the figures an inventory of that tree (what a local store lists: every file but those
# named NAME#N, which are counted apart as "unlisted") or of those report files gives,
# computed by DuckDB from its own reading of the files (os.walk and os.stat, or
# read_parquet), in the normalized form tests/oracle.rs compares field by field. Times
# are whole milliseconds, as stratus buckets ages.

DAY_MS = 86_400_000
AGE_MAX_DAYS = [1, 7, 30, 90, 365, 3 * 365]  # AGE_BUCKETS' upper bounds; the last is open


def hidden(name):
    """object_store's local store hides NAME#N (N digits after the first `#`)."""
    _, sep, suffix = name.partition("#")
    return bool(sep) and suffix != "" and suffix.isascii() and suffix.isdigit()


def unholdable(segment):
    """No key holds a segment with an ASCII control or bytes that are not UTF-8 (which
    os.walk gives as surrogates): stratus's local stores leave such names out."""
    return segment in (".", "..") or any(
        ord(c) < 0x20 or ord(c) == 0x7F or 0xDC80 <= ord(c) <= 0xDCFF for c in segment
    )


def walk_tree(root):
    rows = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        rel = os.path.relpath(folder, root)
        for name in files:
            path = os.path.join(folder, name)
            st = os.stat(path)
            key = name if rel == "." else f"{rel}/{name}"
            # st_mtime_ns // 10**6: milliseconds toward the past, as stratus truncates.
            hide = hidden(name) or any(unholdable(part) for part in key.split("/"))
            rows.append((key, st.st_size, st.st_mtime_ns // 1_000_000, hide))
    return rows


def figures(con, case):
    prefix = case["prefix"]
    quoted = "'" + prefix.replace("'", "''") + "'"
    where = "TRUE" if prefix == "" else f"starts_with(key, {quoted} || '/')"
    rel = "key" if prefix == "" else f"substr(key, length({quoted}) + 2)"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE o AS SELECT key, {rel} AS rel, size, ms FROM rows "
        f"WHERE NOT hidden AND {where}"
    )
    n, total, zero, lo, hi, old, new = con.execute(
        "SELECT count(*), coalesce(sum(size), 0)::UBIGINT, count(*) FILTER (size = 0), min(size), max(size), min(ms), max(ms) FROM o"
    ).fetchone()
    sizes = con.execute(
        "SELECT CASE WHEN size = 0 THEN 0 ELSE floor(log2(size))::INTEGER + 1 END AS b, count(*), sum(size)::UBIGINT "
        "FROM o GROUP BY b ORDER BY b"
    ).fetchall()
    as_of = case["as_of_ms"]
    bucket = " ".join(
        f"WHEN {as_of} - ms < {d * DAY_MS} THEN {i}" for i, d in enumerate(AGE_MAX_DAYS)
    )
    ages = con.execute(
        f"SELECT CASE WHEN ms > {as_of} THEN -1 {bucket} ELSE 6 END AS b, count(*), sum(size)::UBIGINT FROM o GROUP BY b"
    ).fetchall()
    future = [0, 0]
    buckets = [[0, 0] for _ in range(7)]
    for b, count, size in ages:
        (future if b == -1 else buckets[b])[:] = [count, int(size)]
    levels = " UNION ALL ".join(
        f"SELECT array_to_string(string_split(rel, '/')[1:{d}], '/') AS p, size FROM o "
        f"WHERE len(string_split(rel, '/')) > {d}"
        for d in range(1, case["depth"] + 1)
    )
    prefixes = (
        con.execute(f"SELECT p, count(*), sum(size)::UBIGINT FROM ({levels}) GROUP BY p ORDER BY p").fetchall()
        if case["depth"] > 0
        else []
    )
    top = con.execute(f"SELECT key, size, ms FROM o ORDER BY size DESC, key LIMIT {case['top']}").fetchall()
    unlisted = con.execute(
        f"SELECT count(*), coalesce(sum(size), 0)::UBIGINT, list(key ORDER BY key)[1:5] FROM rows WHERE hidden AND {where}"
    ).fetchone()
    return {
        "objects": n,
        "bytes": int(total),
        "zero_byte_objects": zero,
        "smallest": lo,
        "largest": hi,
        "oldest_ms": old,
        "newest_ms": new,
        "sizes": [[b, c, int(s)] for b, c, s in sizes],
        "ages": {"future": future, "buckets": buckets},
        "prefixes": [[p, c, int(s)] for p, c, s in prefixes],
        "top": [[k, s, m] for k, s, m in top],
        "unlisted": None if unlisted[0] == 0 else [unlisted[0], int(unlisted[1]), unlisted[2]],
    }


def oracle(path):
    with open(path, encoding="utf-8") as f:
        cases = json.load(f)
    con = duckdb.connect()
    out = []
    for case in cases:
        con.execute("CREATE OR REPLACE TABLE rows (key VARCHAR, size UBIGINT, ms BIGINT, hidden BOOLEAN)")
        if case.get("tree"):
            rows = walk_tree(case["tree"])
            if rows:
                con.executemany("INSERT INTO rows VALUES (?, ?, ?, ?)", rows)
        elif glob.glob(case["parquet"]):  # an export of nothing writes no data file
            con.execute(
                "INSERT INTO rows SELECT key, size, epoch_ms(last_modified_date), FALSE "
                f"FROM read_parquet('{case['parquet']}')"
            )
        out.append(figures(con, case))
    json.dump(out, sys.stdout, ensure_ascii=False)


if len(sys.argv) == 3 and sys.argv[1] == "--oracle":
    oracle(sys.argv[2])
    sys.exit(0)

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
