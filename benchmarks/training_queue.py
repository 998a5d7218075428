"""K sessions press Train at once: the training queue under a class's load.

    python benchmarks/training_queue.py [--sessions 4] [--waves 2] [--examples 1000]
                                        [--epochs 1] [--workers 1,2]

"wait" is from Train to the worker's first event, "run" from there to the end; "handed" is the
order in which the queue gave jobs a worker. This process plays the Streamlit server: K AppTest sessions of the MNIST page share its
training queue (as the sessions of one server do). In each wave every session presses Train,
in order; the page is then rerun session after session (as each browser's live fragment
does) until every job is done. For each worker count it prints, per job: the order it was
submitted and finished in, its wait and run time, its test accuracy; then the server's RSS
after each wave and its peak, the worker processes' RSS, the page's rerun latency while jobs
run (idle rerun as the baseline), and the throughput (jobs per minute) against 1 worker.
The last line is JSON.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.chdir(REPO_ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # AppTest outside a server warns a lot

PAGE = str(REPO_ROOT / "app_pages" / "mnist.py")


def rss_kib(pid="self"):
    """(VmRSS, VmHWM) of a process, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields.get("VmRSS", 0), fields.get("VmHWM", 0)


def timed_run(at):
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start


def run_setting(workers, sessions, waves, examples, epochs):
    from streamlit.testing.v1 import AppTest

    from cnn_core.mnist import queue as training_queue

    os.environ["CNNLAB_TRAINING_WORKERS"] = str(workers)
    training_queue._SHARED = None  # a fresh queue (and worker pool) for this setting
    pages = [AppTest.from_file(PAGE, default_timeout=120) for _ in range(sessions)]
    for at in pages:
        at.run()
        at.number_input(key="epochs_fast").set_value(epochs)
        at.number_input(key="examples_fast").set_value(examples)
        at.run()
    idle = [timed_run(at) for at in pages for _ in range(2)]
    rows, busy, done_pages, rss_after_wave = [], [], [], []
    started = time.monotonic()
    for wave in range(waves):
        for at in pages:  # everyone presses Train, one after the other
            next(b for b in at.button if b.label == "Train").click()
            at.run()
        jobs = [at.session_state["mnist_runs"][-1] for at in pages]
        while not all(job.done for job in jobs):
            for at, job in zip(pages, jobs):
                live = not job.done  # its live view: place in the queue, or progress
                (busy if live else done_pages).append(timed_run(at))
            time.sleep(0.2)
        for at in pages:  # each page once more, as its browser does when the job ends
            done_pages.append(timed_run(at))
        done_order = sorted(range(sessions), key=lambda i: jobs[i].finished_at)
        start_order = sorted(range(sessions), key=lambda i: jobs[i].handed_at or 1e18)
        for i, job in enumerate(jobs):
            rows.append({
                "wave": wave + 1, "session": i + 1, "started": start_order.index(i) + 1,
                "finished": done_order.index(i) + 1,
                "state": job.state, "error": job.error,
                "wait_s": (job.started_at or job.finished_at) - job.submitted_at,
                "run_s": job.finished_at - (job.started_at or job.finished_at),
                "accuracy": job.result.accuracy if job.result else None,
            })
        rss_after_wave.append(rss_kib()[0])
    elapsed = time.monotonic() - started
    queue = training_queue.shared_queue()
    worker_rss = [rss_kib(pid)[0] for pid in queue.executor.worker_pids()]
    queue.close()
    return {
        "workers": workers, "rows": rows, "elapsed_s": elapsed,
        "jobs_per_min": len(rows) / elapsed * 60,
        "rss_after_wave_mib": [r / 1024 for r in rss_after_wave],
        "peak_rss_mib": rss_kib()[1] / 1024,
        "worker_rss_mib": [r / 1024 for r in worker_rss],
        "idle_rerun_s": statistics.median(idle),
        "busy_rerun_p50_s": statistics.median(busy),
        "busy_rerun_p95_s": sorted(busy)[int(0.95 * (len(busy) - 1))],
        "busy_rerun_max_s": max(busy),
        "results_rerun_p50_s": statistics.median(done_pages) if done_pages else 0.0,
        "results_rerun_p95_s": sorted(done_pages)[int(0.95 * (len(done_pages) - 1))]
        if done_pages else 0.0,
        "started_in_order": all(r["started"] == r["session"] for r in rows),
        "finished_in_order": all(r["finished"] == r["session"] for r in rows),
        "errors": sum(r["state"] != "finished" for r in rows),
    }


def report(result):
    print(f"\n== {result['workers']} local worker(s) ==")
    print("wave session handed finished  wait s   run s  accuracy  state")
    for r in result["rows"]:
        accuracy = f"{r['accuracy']:.2%}" if r["accuracy"] is not None else "–"
        print(f"{r['wave']:>4} {r['session']:>7} {r['started']:>7} {r['finished']:>8} "
              f"{r['wait_s']:>7.1f} "
              f"{r['run_s']:>7.1f} {accuracy:>9}  {r['state']} {r['error'] or ''}")
    print(f"given a worker in first-come order: {result['started_in_order']}; finished in it: "
          f"{result['finished_in_order']}; errors: {result['errors']}")
    print("server RSS after each wave: "
          + ", ".join(f"{m:,.0f}" for m in result["rss_after_wave_mib"])
          + f" MiB; peak {result['peak_rss_mib']:,.0f} MiB; worker processes: "
          + ", ".join(f"{m:,.0f}" for m in result["worker_rss_mib"]) + " MiB")
    print(f"page rerun: idle {result['idle_rerun_s']:.3f} s; while its job waits or trains "
          f"p50 {result['busy_rerun_p50_s']:.3f} s, p95 {result['busy_rerun_p95_s']:.3f} s, "
          f"max {result['busy_rerun_max_s']:.3f} s; with its results while others train p50 "
          f"{result['results_rerun_p50_s']:.3f} s, p95 {result['results_rerun_p95_s']:.3f} s")
    print(f"{len(result['rows'])} jobs in {result['elapsed_s']:.1f} s: "
          f"{result['jobs_per_min']:.2f} jobs/min")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--waves", type=int, default=2)
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--workers", default="1,2", help="worker counts to compare")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at the start")
    results = []
    for workers in [int(w) for w in args.workers.split(",")]:
        results.append(run_setting(workers, args.sessions, args.waves, args.examples,
                                   args.epochs))
        report(results[-1])
    base = results[0]["jobs_per_min"]
    for result in results[1:]:
        print(f"throughput, {result['workers']} workers / {results[0]['workers']}: "
              f"{result['jobs_per_min'] / base:.2f}×")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    print(json.dumps({f"w{r['workers']}_{k}": round(v, 3) if isinstance(v, float) else v
                      for r in results for k, v in r.items() if k != "rows"
                      and not isinstance(v, list)}))


if __name__ == "__main__":
    main()
