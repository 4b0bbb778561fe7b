#!/usr/bin/env python3
"""Regenerate fixtures/data/: a small, deterministic tree for the examples and tests.

The same seed always yields the same names, sizes and bytes. It has what an inventory
should cope with: nesting several levels deep, zero-byte files, sizes spread over many
powers of two, a few large-ish files, and names with spaces, unicode and '%'.
Run from the repository root: python3 scripts/make_fixture_data.py
"""
import os
import random
import shutil

ROOT = os.path.join("fixtures", "data")
rng = random.Random(20261122)

LAYOUT = {
    "logs/2026/10": ("app-{:02}.log", 14),
    "logs/2026/11": ("app-{:02}.log", 9),
    "images/raw": ("IMG_{:04}.raw", 6),
    "images/thumbs": ("thumb-{:03}.jpg", 18),
    "reports": ("report-{:02}.csv", 7),
    "backups/db": ("dump-{:02}.sql.gz", 3),
    "empty-markers": ("done-{:02}", 4),
}


def size_for(folder: str) -> int:
    if folder == "empty-markers":
        return 0
    if folder == "backups/db":
        return rng.randint(40_000, 90_000)
    if folder == "images/raw":
        return rng.randint(8_000, 30_000)
    # Log-uniform between 1 byte and 16 KiB: many histogram buckets.
    return int(2 ** rng.uniform(0, 14))


def body(size: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(size))


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    for folder, (pattern, count) in LAYOUT.items():
        os.makedirs(os.path.join(ROOT, folder), exist_ok=True)
        for i in range(count):
            with open(os.path.join(ROOT, folder, pattern.format(i)), "wb") as f:
                f.write(body(size_for(folder)))
    odd = os.path.join(ROOT, "odd names", "ünïcode and 100% spaces")
    os.makedirs(odd, exist_ok=True)
    for name, size in [("résumé final.txt", 1200), ("50% off.txt", 37), ("empty file", 0)]:
        with open(os.path.join(odd, name), "wb") as f:
            f.write(body(size))
    with open(os.path.join(ROOT, "README.txt"), "wb") as f:
        f.write(b"Sample data for stratus examples; regenerate with scripts/make_fixture_data.py\n")


if __name__ == "__main__":
    main()
