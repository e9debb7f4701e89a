#!/usr/bin/python3
"""compare.py: the numbers behind bench/compare.sh (which runs the processes).

  compare.py next CASEDIR {short|full}     the next --rate to try for this case: "probe"
                                           (flat out, to learn the scale), a rate, or "done"
  compare.py show STEP.json                one line: rate, offered, completed, drops
  compare.py report WORKDIR OUTDIR         table on stdout; OUTDIR/steps.csv, results.json,
                                           offered-vs-completed.png (gnuplot), plot.gp

A case directory (one server) holds meta.json ({"key", "title", "transport", ...}) and one
leasewire-bench --json summary per step, stepNN.json, with stepNN.cpu beside it: lines
"EPOCH_SECONDS <contents of /proc/PID/stat>" sampled every ~0.1 s while the step ran, plus a
last line "end EPOCH_SECONDS" written when the generator exited.

The criterion is ISC's (Kea performance tests: the rate is raised until 2.5 % of the
exchanges are dropped or later than 1 s). Here a step is one open-loop run at a fixed
--rate with --timeout-ms 1000 --retries 0, so an exchange not answered within 1 s is lost:

  offered   = sessions_started + blocked (a session due while the window was full is not
              started, and counts as dropped)
  dropped   = offered - dora_completed  (lost DISCOVER or REQUEST, NAK, late > 1 s)
  a step passes when dropped / offered < 2.5 %;
  a case's maximum = the passing step with the most DORA completed per second.

The search for one case (bounded): a flat-out probe (window only, no --rate) gives the
scale P (DORA/s); then fixed fractions of P, then bisection between the highest passing
--rate and the lowest failing one above it (a quarter of the lowest failing rate while
none passed), a bounded number of times.
"""
import csv
import glob
import json
import os
import shutil
import subprocess
import sys

DROP_LIMIT = 0.025
FRACTIONS = {"short": [0.5, 0.9], "full": [0.25, 0.5, 0.7, 0.85, 1.0, 1.15, 1.3]}
REFINES = {"short": 3, "full": 4}
# Bisection stops once the bracket is narrower than this fraction of its top.
BRACKET_MIN = 0.03
# The generator lingers 0.2 s after its drain before it exits (lwb_gen.c), then tears
# down EAL: the run it reports ended about this long before "end".
GEN_TAIL_S = 0.25


def offered(s):
    """Sessions the generator was asked to start (started, or refused by the window)."""
    return s["sessions_started"] + s["blocked"]


def drop_fraction(s):
    off = offered(s)
    if off <= 0:
        return 1.0
    return max(0, off - s["dora_completed"]) / off


def passes(s):
    return drop_fraction(s) < DROP_LIMIT


def offered_per_s(s):
    return offered(s) / s["seconds_run"] if s["seconds_run"] > 0 else 0.0


def is_probe(s):
    return s["rate_asked"] <= 0


def best_step(steps):
    """The passing rate step with the highest completed DORA/s, or None."""
    ok = [s for s in steps if not is_probe(s) and passes(s)]
    return max(ok, key=lambda s: s["dora_per_s"]) if ok else None


def probe_scale(p):
    """DORA/s of the probe; for a server so slow that no DORA completed within the 1 s
    timeout (a full window of DISCOVERs queued at once), the OFFERs it managed per second
    of the whole probe, so that the open-loop steps still find its rate."""
    if p["dora_per_s"] > 0:
        return p["dora_per_s"]
    return p["offers"] / p["seconds_total"] if p["seconds_total"] > 0 else 0.0


def next_rate(steps, mode):
    """What compare.sh runs next for a case whose steps so far are STEPS (in order)."""
    probes = [s for s in steps if is_probe(s)]
    if not probes:
        return "probe"
    scale = probe_scale(probes[0])
    if scale <= 0:
        return "done"	# nothing answered: no rate to look for
    rated = [s for s in steps if not is_probe(s)]
    fr = FRACTIONS[mode]
    if len(rated) < len(fr):
        return max(1, int(round(fr[len(rated)] * scale)))
    if len(rated) >= len(fr) + REFINES[mode]:
        return "done"
    good = [s["rate_asked"] for s in rated if passes(s)]
    lo = max(good) if good else None
    bad = [s["rate_asked"] for s in rated if not passes(s) and (lo is None or
                                                                s["rate_asked"] > lo)]
    hi = min(bad) if bad else None
    if hi is None:
        return max(1, int(round(lo * 1.25)))
    if lo is None:	# nothing passed yet: come down fast
        return max(1, int(round(hi * 0.25)))
    if (hi - lo) / hi < BRACKET_MIN:
        return "done"
    return int(round((lo + hi) / 2))


def cpu_ticks(stat):
    """utime + stime (clock ticks) from one /proc/PID/stat line."""
    f = stat[stat.rindex(")") + 2:].split()
    return int(f[11]) + int(f[12])	# fields 14 and 15 of proc(5)


def read_cpu(path):
    """[(t, ticks)], end: the samples of a .cpu file and the generator's exit time."""
    samples, end = [], None
    with open(path) as f:
        for line in f:
            head, _, rest = line.strip().partition(" ")
            if head == "end":
                end = float(rest)
            elif rest:
                samples.append((float(head), cpu_ticks(rest)))
    return samples, end


def ticks_at(samples, t):
    """Ticks at time t, linear between the samples around it (clamped at the ends)."""
    if t <= samples[0][0]:
        return samples[0][1]
    for (t0, c0), (t1, c1) in zip(samples, samples[1:]):
        if t <= t1:
            return c0 + (c1 - c0) * (t - t0) / (t1 - t0) if t1 > t0 else c1
    return samples[-1][1]


def cpu_used(samples, end, s, hz):
    """(CPU seconds, share of one CPU) the server used while this step's sessions ran."""
    if len(samples) < 2 or end is None:
        return None, None
    t1 = end - GEN_TAIL_S
    t0 = t1 - s["seconds_total"]
    secs = (ticks_at(samples, t1) - ticks_at(samples, t0)) / hz
    return secs, secs / (t1 - t0) if t1 > t0 else None


def load_case(d, hz):
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    steps = []
    for p in sorted(glob.glob(os.path.join(d, "step*.json"))):
        with open(p) as f:
            s = json.load(f)
        cpu = p[:-5] + ".cpu"
        s["cpu_s"], s["cpu_share"] = (cpu_used(*read_cpu(cpu), s, hz)
                                      if os.path.exists(cpu) else (None, None))
        s["step"] = os.path.basename(p)[:-5]
        steps.append(s)
    return meta, steps


def load_steps(d):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(d, "step*.json")))]


def fmt_rate(r):
    return "%.0f" % r if r is not None else "-"


def report(work, out):
    hz = os.sysconf("SC_CLK_TCK")
    with open(os.path.join(work, "run.json")) as f:
        run = json.load(f)
    cases = []
    for d in sorted(glob.glob(os.path.join(work, "case-*"))):
        meta, steps = load_case(d, hz)
        cases.append((meta, steps, best_step(steps)))
    os.makedirs(out, exist_ok=True)

    ceiling = None
    for meta, _, b in cases:
        if meta["key"] == "reflect" and b is not None:
            ceiling = b["dora_per_s"]
    kea = next((b["dora_per_s"] for m, _, b in cases if m["key"] == "kea" and b), None)

    rows = []
    for meta, steps, b in cases:
        row = {"key": meta["key"], "title": meta["title"], "transport": meta["transport"],
               "steps": len(steps)}
        if b is not None:
            lat = b["latency_us"]
            row.update({
                "max_leases_per_s": b["dora_per_s"], "rate_asked": b["rate_asked"],
                "offered_per_s": offered_per_s(b), "drops": drop_fraction(b),
                "do_p50_us": lat["discover_offer"]["p50"], "do_p99_us": lat["discover_offer"]["p99"],
                "ra_p50_us": lat["request_ack"]["p50"], "ra_p99_us": lat["request_ack"]["p99"],
                "cpu_share": b["cpu_share"],
                "cpu_us_per_lease": (1e6 * b["cpu_s"] / b["dora_completed"]
                                     if b["cpu_s"] is not None and b["dora_completed"] else None),
                "of_ceiling": b["dora_per_s"] / ceiling if ceiling else None,
                "x_kea": b["dora_per_s"] / kea if kea else None})
        rows.append(row)

    print()
    print("%-34s %10s %10s %6s %17s %17s %6s %8s %7s %7s" % (
        "server", "leases/s", "offered/s", "drops", "D->O p50/p99 us", "R->A p50/p99 us",
        "CPU", "us/lease", "ceiling", "x Kea"))
    for r in rows:
        if "max_leases_per_s" not in r:
            print("%-34s %10s   (no step under %.1f %% drops in %d steps)" % (
                r["title"], "-", 100 * DROP_LIMIT, r["steps"]))
            continue
        print("%-34s %10.0f %10.0f %5.2f%% %8.0f/%-8.0f %8.0f/%-8.0f %5s %8s %7s %7s" % (
            r["title"], r["max_leases_per_s"], r["offered_per_s"], 100 * r["drops"],
            r["do_p50_us"], r["do_p99_us"], r["ra_p50_us"], r["ra_p99_us"],
            "%.0f%%" % (100 * r["cpu_share"]) if r["cpu_share"] is not None else "-",
            "%.1f" % r["cpu_us_per_lease"] if r["cpu_us_per_lease"] is not None else "-",
            "%.1f%%" % (100 * r["of_ceiling"]) if r["of_ceiling"] is not None else "-",
            "%.1f" % r["x_kea"] if r["x_kea"] is not None else "-"))
    print()
    for line in run.get("notes", []):
        print(line)
    print("leases/s: full DORA completed per second in the step with the most of them among "
          "the open-loop steps with < %.1f %% dropped (late > %d ms or lost); CPU: the "
          "server process's utime+stime over that step, as a share of one CPU." % (
              100 * DROP_LIMIT, run.get("timeout_ms", 1000)))

    # All steps, for the record and for the plot.
    fields = ["case", "step", "kind", "rate_asked", "offered_per_s", "completed_per_s",
              "offered", "dora_completed", "blocked", "timeouts", "naks", "drop_fraction",
              "passes", "do_p50_us", "do_p99_us", "ra_p50_us", "ra_p99_us", "cpu_share",
              "cpu_s", "seconds_run"]
    with open(os.path.join(out, "steps.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for meta, steps, _ in cases:
            for s in steps:
                w.writerow([meta["key"], s["step"], "probe" if is_probe(s) else "rate",
                            s["rate_asked"], "%.1f" % offered_per_s(s), s["dora_per_s"],
                            offered(s), s["dora_completed"], s["blocked"], s["timeouts"],
                            s["naks"], "%.5f" % drop_fraction(s), int(passes(s)),
                            s["latency_us"]["discover_offer"]["p50"],
                            s["latency_us"]["discover_offer"]["p99"],
                            s["latency_us"]["request_ack"]["p50"],
                            s["latency_us"]["request_ack"]["p99"],
                            "" if s["cpu_share"] is None else "%.3f" % s["cpu_share"],
                            "" if s["cpu_s"] is None else "%.3f" % s["cpu_s"],
                            s["seconds_run"]])
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"run": run, "drop_limit": DROP_LIMIT, "results": rows,
                   "steps": {m["key"]: s for m, s, _ in cases}}, f, indent=1)
    plot(cases, run, out)
    print("steps: %s/steps.csv, summary: %s/results.json, plot: %s/offered-vs-completed.png"
          % (out, out, out))


def plot(cases, run, out):
    """offered vs completed per case (rate steps only), log-log, with y = x."""
    dat = os.path.join(out, "plot.dat")
    lines, lo, hi = [], None, None
    with open(dat, "w") as f:
        for i, (meta, steps, _) in enumerate(cases):
            pts = sorted((offered_per_s(s), s["dora_per_s"], passes(s))
                         for s in steps if not is_probe(s))
            f.write("# %s\n" % meta["title"])
            if not pts:	# keep the block numbering; no line for this case
                f.write("0 0 0\n\n\n")
                continue
            for x, y, ok in pts:
                f.write("%.1f %.1f %d\n" % (x, max(y, 1.0), ok))
                lo = x if lo is None else min(lo, x)
                hi = x if hi is None else max(hi, x)
            f.write("\n\n")
            lines.append("'%s' index %d using 1:2 with linespoints lw 2 pt 7 title \"%s\""
                         % (dat, i, meta["title"].replace('"', "'")))
    gp = os.path.join(out, "plot.gp")
    with open(gp, "w") as f:
        f.write("set terminal pngcairo size 1100,700 font ',10'\n")
        f.write("set output '%s'\n" % os.path.join(out, "offered-vs-completed.png"))
        f.write("set title \"%s\"\n" % run.get("title", "").replace('"', "'"))
        f.write("set logscale xy\nset grid\nset key top left\n")
        f.write("set xlabel 'offered DORA/s (open loop, --rate)'\n")
        f.write("set ylabel 'completed DORA/s'\n")
        if lo is not None:
            f.write("set xrange [%g:%g]\nset yrange [%g:%g]\n" % (lo / 1.5, hi * 1.5,
                                                                  lo / 1.5, hi * 1.5))
        f.write("plot " + ", \\\n     ".join(lines + ["x with lines dt 2 lc 'gray' "
                                                       "title 'completed = offered'"]) + "\n")
    if shutil.which("gnuplot") is None:
        print("compare.py: gnuplot not installed: no PNG (plot.gp and plot.dat are there)",
              file=sys.stderr)
        return
    subprocess.run(["gnuplot", gp], check=True)


def main(argv):
    if len(argv) == 4 and argv[1] == "next" and argv[3] in FRACTIONS:
        print(next_rate(load_steps(argv[2]), argv[3]))
        return 0
    if len(argv) == 3 and argv[1] == "show":
        with open(argv[2]) as f:
            s = json.load(f)
        print("compare:   %-12s offered %9.0f/s completed %9.0f/s dropped %6.2f %% %s" % (
            "probe" if is_probe(s) else "rate %.0f" % s["rate_asked"], offered_per_s(s),
            s["dora_per_s"], 100 * drop_fraction(s),
            "(closed loop)" if is_probe(s) else "pass" if passes(s) else "FAIL"))
        return 0
    if len(argv) == 4 and argv[1] == "report":
        report(argv[2], argv[3])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
