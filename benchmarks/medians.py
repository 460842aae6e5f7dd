"""Print a table of median and mean wall times from a hyperfine --export-json file.

With --cpu, also the mean user + system CPU time per run: on a machine shared with other
work, the wall time grows with the load while the CPU time stays what the command costs."""

import json
import statistics
import sys

cpu = "--cpu" in sys.argv[2:]
with open(sys.argv[1]) as handle:
    results = json.load(handle)["results"]
extra = " user + sys [ms] |" if cpu else ""
print(f"| command | median [ms] | mean ± σ [ms] | min [ms] | max [ms] |{extra}")
print("|:---|---:|---:|---:|---:|" + ("---:|" if cpu else ""))
for r in results:
    times = [t * 1000 for t in r["times"]]
    line = (f"| `{r['command']}` | {statistics.median(times):.1f} | {r['mean'] * 1000:.1f} ± "
            f"{(r['stddev'] or 0) * 1000:.1f} | {min(times):.1f} | {max(times):.1f} |")
    if cpu:
        line += f" {(r['user'] + r['system']) * 1000:.1f} |"
    print(line)
