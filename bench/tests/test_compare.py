#!/usr/bin/python3
"""compare.py's parsing and rules, on leasewire-bench --json outputs recorded by compare.sh
(bench/tests/compare-work: a leasewired in-memory case and a reflect case from two short
runs, with their /proc/PID/stat samples). Fails if the 2.5 % criterion, the count of
offered sessions, the choice of the maximum or the rate search is broken.

  test_compare.py BENCH_DIR
"""
import copy
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

bench = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))
sys.path.insert(0, bench)
import compare  # noqa: E402

WORK = os.path.join(bench, "tests", "compare-work")
failures = []


def check(what, got, want):
    if got != want:
        failures.append("%s: got %r, want %r" % (what, got, want))


def near(what, got, want, tol=1e-9):
    if got is None or abs(got - want) > tol:
        failures.append("%s: got %r, want %r" % (what, got, want))


mem = compare.load_steps(os.path.join(WORK, "case-2-memory"))
ref = compare.load_steps(os.path.join(WORK, "case-1-reflect"))
check("recorded memory steps", len(mem), 4)

# Parsing: offered counts refused (blocked) sessions; drops are what did not complete.
s1 = mem[1]	# rate 111298: 81302 started, 12053 blocked, 78230 DORA done
check("offered = started + blocked", compare.offered(s1), 81302 + 12053)
near("drop fraction", compare.drop_fraction(s1), (81302 + 12053 - 78230) / (81302 + 12053))
check("16 % dropped fails", compare.passes(s1), False)
s3 = mem[3]	# rate 55649: 534 of 55650 timed out
near("drop fraction 0.96 %", compare.drop_fraction(s3), 534 / 55650)
check("0.96 % dropped passes", compare.passes(s3), True)
check("probe recognised", [compare.is_probe(s) for s in mem], [True, False, False, False])


def variant(base, started, blocked, done):
    s = copy.deepcopy(base)
    s.update(sessions_started=started, blocked=blocked, dora_completed=done)
    return s


# The 2.5 % edge: strictly under passes.
check("2.49 % passes", compare.passes(variant(s3, 10000, 0, 9751)), True)
check("2.50 % fails", compare.passes(variant(s3, 10000, 0, 9750)), False)
check("2.51 % fails", compare.passes(variant(s3, 10000, 0, 9749)), False)
check("1 % passes", compare.passes(variant(s3, 10000, 0, 9900)), True)
check("5 % fails", compare.passes(variant(s3, 10000, 0, 9500)), False)
# Blocked sessions are offered: 300 refused of 10000 asked is 3 %.
check("3 % blocked fails", compare.passes(variant(s3, 9700, 300, 9700)), False)
check("2 % blocked passes", compare.passes(variant(s3, 9800, 200, 9800)), True)
check("nothing offered fails", compare.passes(variant(s3, 0, 0, 0)), False)

# The maximum: the passing rate step with the most DORA/s; not the probe (closed loop,
# 139 k/s), not a failing step (105 k/s).
check("memory maximum", compare.best_step(mem)["dora_per_s"], 54402.0)
check("reflect: no passing step", compare.best_step(ref), None)
fast = variant(s3, 60000, 0, 59000)	# 1.7 % dropped, more DORA/s than s3
fast["dora_per_s"] = 59000.0
check("the fastest passing step wins", compare.best_step([fast] + mem)["dora_per_s"], 59000.0)
check("... in any order", compare.best_step(mem + [fast])["dora_per_s"], 59000.0)
slow_fail = variant(s3, 200000, 0, 150000)
slow_fail["dora_per_s"] = 150000.0
check("a failing faster step is not the maximum",
      compare.best_step(mem + [slow_fail])["dora_per_s"], 54402.0)

# The search: probe, fractions of the probe's rate, then bisection, bounded.
P = mem[0]["dora_per_s"]
check("first a probe", compare.next_rate([], "short"), "probe")
check("then 0.5 P", compare.next_rate(mem[:1], "short"), int(round(0.5 * P)))
rated = [variant(s3, 1, 0, 1) for _ in range(2)]
for s, r, ok in zip(rated, (70000, 125000), (True, False)):
    s["rate_asked"] = r
    s.update(variant(s, 10000, 0, 10000 if ok else 9000))
check("bisect between pass and fail", compare.next_rate(mem[:1] + rated, "short"), 97500)
both_fail = copy.deepcopy(rated)
both_fail[0].update(variant(both_fail[0], 10000, 0, 9000))
check("all fail: a quarter of the lowest", compare.next_rate(mem[:1] + both_fail, "short"),
      17500)
both_pass = copy.deepcopy(rated)
both_pass[1].update(variant(both_pass[1], 10000, 0, 10000))
check("all pass: go 25 % higher", compare.next_rate(mem[:1] + both_pass, "short"), 156250)
extra = copy.deepcopy(rated) + [copy.deepcopy(rated[0]) for _ in range(compare.REFINES["short"])]
check("bounded: done after the refines", compare.next_rate(mem[:1] + extra, "short"), "done")
dead = copy.deepcopy(mem[0])
dead["dora_per_s"] = 0.0
dead["offers"] = 0
check("nothing answers: done", compare.next_rate([dead], "short"), "done")
slow = copy.deepcopy(mem[0])	# no DORA within 1 s, 24 OFFERs in a 2.4 s probe
slow.update(dora_per_s=0.0, dora_completed=0, offers=24, seconds_total=2.4)
check("a very slow server: scale from its OFFERs", compare.next_rate([slow], "short"), 5)
check("full mode: 7 fractions first", compare.next_rate(mem[:1] + rated, "full"),
      int(round(compare.FRACTIONS["full"][2] * P)))

# CPU: /proc/PID/stat parsing (a comm with spaces and parentheses) and the samples.
stat = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 111 22 0 0 20 0 1 0"
check("utime + stime", compare.cpu_ticks(stat), 133)
samples, end = compare.read_cpu(os.path.join(WORK, "case-2-memory", "step03.cpu"))
check("samples read", len(samples) > 5 and end is not None, True)
secs, share = compare.cpu_used(samples, end, s3, os.sysconf("SC_CLK_TCK"))
hz = os.sysconf("SC_CLK_TCK")
t1 = end - compare.GEN_TAIL_S
near("CPU seconds over the step's run", secs,
     (compare.ticks_at(samples, t1) - compare.ticks_at(samples, t1 - s3["seconds_total"])) / hz)
near("share of one CPU", share, secs / s3["seconds_total"], 1e-6)
check("a plausible share", 0.05 < share < 2.5, True)
check("interpolation", compare.ticks_at([(0.0, 0), (1.0, 100)], 0.25), 25.0)

# The report, end to end, on the recorded work dir.
out = tempfile.mkdtemp(prefix="lwt-compare-")
try:
    r = subprocess.run([sys.executable, os.path.join(bench, "compare.py"), "report", WORK,
                        out], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check("report exit", r.returncode, 0)
    line = [l for l in r.stdout.splitlines() if l.startswith("leasewired, in memory")]
    check("table row", len(line) == 1 and line[0].split()[3], "54402")
    with open(os.path.join(out, "steps.csv")) as f:
        rows = list(csv.DictReader(f))
    check("every step in the CSV", len(rows), 8)
    check("CSV pass column", [r["passes"] for r in rows if r["case"] == "memory"],
          ["1", "0", "0", "1"])
    with open(os.path.join(out, "results.json")) as f:
        res = {r["key"]: r for r in json.load(f)["results"]}
    check("results: maximum", res["memory"]["max_leases_per_s"], 54402.0)
    check("results: reflect has none", "max_leases_per_s" in res["reflect"], False)
    if shutil.which("gnuplot"):
        check("PNG written", os.path.getsize(os.path.join(out, "offered-vs-completed.png"))
              > 1000, True)
finally:
    shutil.rmtree(out, ignore_errors=True)

for f in failures:
    print("FAIL", f)
print("%s: %d failures" % ("FAIL" if failures else "PASS", len(failures)))
sys.exit(1 if failures else 0)
