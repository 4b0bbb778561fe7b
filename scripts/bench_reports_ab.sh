#!/bin/bash
# Alternate old and new bench_reports children on the same generated reports; medians of
# wall time (what the child prints) and of CPU time (user + sys, from /usr/bin/time).
# OLD and NEW: two builds of benches/reports.rs (`cargo bench --no-run --features reports
# --bench reports` prints the binary; copy it aside after each build); run from the repository (the reports are under target/bench-reports/).
OLD=${OLD:?the old bench_reports binary}; NEW=${NEW:?the new bench_reports binary}
runs=${RUNS:-7}
variants=("parquet true" "parquet false" "csv true")
[ -n "$ONLY" ] && variants=("$ONLY")
for variant in "${variants[@]}"; do
  set -- $variant
  : > /tmp/b24a.old; : > /tmp/b24a.new
  for i in $(seq 1 $runs); do
    if [ $((i % 2)) = 1 ]; then order="old new"; else order="new old"; fi
    for which in $order; do
      bin=$OLD; [ $which = new ] && bin=$NEW
      out=$(/usr/bin/time -o /tmp/b24a.time -f "%U %S" $bin --child $1 10000000 $2 | tail -1)
      echo $out $(cat /tmp/b24a.time) >> /tmp/b24a.$which
    done
  done
  python3 - "$1 verify=$2" <<'PY'
import sys, statistics
def load(w):
    rows=[l.split() for l in open(f"/tmp/b24a.{w}") if l.strip()]
    return [float(r[0]) for r in rows], [int(r[1]) for r in rows], [float(r[2])+float(r[3]) for r in rows]
(to,po,co),(tn,pn,cn)=load("old"),load("new")
mo,mn=statistics.median(to),statistics.median(tn)
print(f"{sys.argv[1]}: wall old {mo:.3f} s ({1e7/mo/1e6:.2f} M rows/s), new {mn:.3f} s ({1e7/mn/1e6:.2f} M rows/s), rate new/old {mo/mn:.3f}; cpu old {statistics.median(co):.2f} s new {statistics.median(cn):.2f} s, new/old {statistics.median(cn)/statistics.median(co):.3f}; peak MiB old {statistics.median(po)/1024:.0f}/{max(po)/1024:.0f}, new {statistics.median(pn)/1024:.0f}/{max(pn)/1024:.0f}")
print("  old", ['%.2f'%t for t in to], "new", ['%.2f'%t for t in tn])
PY
done
