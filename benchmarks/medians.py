"""Print a table of median and mean wall times from a hyperfine --export-json file."""

import json
import statistics
import sys

with open(sys.argv[1]) as handle:
    results = json.load(handle)["results"]
print("| command | median [ms] | mean ± σ [ms] | min [ms] | max [ms] |")
print("|:---|---:|---:|---:|---:|")
for r in results:
    times = [t * 1000 for t in r["times"]]
    print(f"| `{r['command']}` | {statistics.median(times):.1f} | {r['mean'] * 1000:.1f} ± "
          f"{(r['stddev'] or 0) * 1000:.1f} | {min(times):.1f} | {max(times):.1f} |")
