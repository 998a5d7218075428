"""A class on one server (issue 21): one local Streamlit server, N headless sessions speaking
Streamlit's own websocket protocol (benchmarks/headless_session.py, no browser), each following
a scripted lesson for ``--minutes`` with think times between actions:

* 60 % Classify — upload a photo and wait for its top-5: half new photos (distinct bytes, a real
  forward pass), half photos other students already sent (the bundled samples: shared cache);
* 20 % calculator — switch the preset (selectbox "Preset"), move the batch size (number input
  "batch size"), and paste a network as JSON (the text area whose label has "paste");
* 10 % MNIST — a short job through the training queue (recipe "fast", 1 epoch, 1,000
  examples; Train), polled until "Results on the test set"; its time in the queue is recorded;
  one job per student per lesson (the student watches it; a later draw of MNIST is re-drawn);
* 10 % transfer — load two classes from the teaching folder (a temporary one made here:
  CNNLAB_TRANSFER_FOLDERS) and train a head, until its "Results".

    python benchmarks/classroom.py                          # 10, 20, 30 sessions × 3 min
    python benchmarks/classroom.py --sessions 30 --minutes 3
    python benchmarks/classroom.py --quick                  # 2 sessions × 0.5 min (smoke)
    python benchmarks/classroom.py --sessions 30 --before be7b07c   # that commit's app first

Reported per kind of action: count, p50/p95 seconds to its answer, errors (exception boxes,
missing answers, timeouts — the first few printed); the training queue's waits; the server's CPU
seconds per action (the server's process group: Streamlit and its training workers, from
/proc) and its CPU use against the cores; the Streamlit process's peak RSS (VmHWM) and the
group's peak RSS; and which resource runs out first (CPU share vs memory share). Each level
gets a fresh server (127.0.0.1, a free port), stopped by its process group. The last line is
one JSON object; the Streamlit process's RSS is also printed minute by minute (bounded memory
levels off). Targets (issue 21): 0 errors at 30 sessions, the calculator's p95 < 0.5 s.
Widgets are found by their labels: Classify's file uploader, the calculator's "Preset",
"batch size" and its JSON text area ("paste" in the label), MNIST's "Recipe", "Epochs", "Training examples", "Train", the transfer page's
"Folder, inside the server's teaching folder", "Load folder", "Train".
"""

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests" / "browser"))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
sys.path.insert(0, str(REPO_ROOT))

from harness import StreamlitServer  # noqa: E402
from headless_session import HeadlessSession, SessionError  # noqa: E402
from load import SAMPLES, checkout, percentile, unique_photos  # noqa: E402

lesson = {"classify": 0.6, "calculator": 0.2, "mnist": 0.1, "transfer": 0.1}
ANSWER_TIMEOUT_S = 300          # an action without its answer by then is an error
TRAINING_TIMEOUT_S = 600        # a training job's answer (its wait in the queue included)
POLL_S = 1.5                    # how often a student waiting for training looks again


def shared_photos():
    """The bundled samples as bytes: photos every student may send (the same bytes)."""
    return [(path.name, path.read_bytes()) for path in SAMPLES]


def teaching_folder(root):
    """Two classes of three images each (samples, flipped and tinted) under ``root``."""
    from PIL import Image, ImageOps

    for name, sample in (("cat", SAMPLES[0]), ("cup", SAMPLES[1 % len(SAMPLES)])):
        folder = Path(root) / name
        folder.mkdir(parents=True, exist_ok=True)
        image = Image.open(sample).convert("RGB")
        for index, variant in enumerate([image, ImageOps.mirror(image),
                                         Image.blend(image, Image.new("RGB", image.size,
                                                                      (200, 120, 40)), 0.2)]):
            variant.save(folder / f"{name}{index}.png")


def group_usage(pgid):
    """(CPU seconds, RSS KiB) summed over the live processes of process group ``pgid``."""
    cpu, rss = 0.0, 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            rss += int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            continue                                # exited while read
    return cpu, rss


class Student:
    """One headless session following the lesson; records (kind, seconds, error) per action."""

    def __init__(self, url, number, deadline, records, rng, new_photos, teaching_root):
        self.url, self.number, self.deadline = url, number, deadline
        self.records, self.rng = records, rng
        self.new_photos, self.teaching_root = new_photos, teaching_root
        self.session = None
        self.trained = False            # this student's MNIST job of the lesson was sent

    def record(self, kind, seconds=None, error=None, **extra):
        self.records.append({"kind": kind, "seconds": seconds, "error": error, **extra})

    async def go(self, page):
        if self.session.page != page:
            started = time.perf_counter()
            await self.session.open(page)
            self.record(f"open {page}", time.perf_counter() - started)

    async def timed_run(self, kind, states, wanted=None):
        """One rerun with ``states``; its seconds (to the run's end or the heading ``wanted``)."""
        started = time.perf_counter()
        await self.session.run(states)
        if wanted and wanted not in self.session.texts:
            raise SessionError(f"no {wanted!r} after the run")
        self.record(kind, time.perf_counter() - started)

    async def classify(self):
        await self.go("classify")
        photos = self.new_photos if self.rng.random() < 0.5 else None
        name, data = photos.pop() if photos else self.rng.choice(shared_photos())
        self.record("classify upload", await self.session.upload(name, data))

    async def calculator(self):
        await self.go("calculator")
        preset = self.session.widgets.get("Preset")
        if preset is None:
            raise SessionError("no 'Preset' selectbox on the calculator page")
        choice = self.rng.choice(list(preset.options))
        await self.timed_run("calculator preset", [self.session.state("Preset",
                                                                     string_value=choice)])
        batch = float(self.rng.choice([1, 8, 32, 64, 128, 256]))
        await self.timed_run("calculator batch size", [
            self.session.state("Preset", string_value=choice),
            self.session.state("batch size", double_value=batch)])
        paste = next((label for label in self.session.widgets if "paste" in label), None)
        if paste is None:
            raise SessionError("no text area to paste a network's JSON into on the calculator")
        await self.timed_run("calculator JSON import", [
            self.session.state(paste, string_value=small_network_json())])

    async def mnist(self):
        from cnn_core.mnist.recipes import RECIPES

        self.trained = True
        await self.go("mnist")
        title = RECIPES["fast"].title
        recipe = self.session.state("Recipe", string_value=title)
        await self.session.run([recipe])                 # the recipe's own widgets appear
        started = time.perf_counter()
        await self.session.run([self.session.state("Recipe", string_value=title),
                                self.session.state("Epochs", double_value=1),
                                self.session.state("Training examples", double_value=1000),
                                self.session.state("Train", trigger_value=True)])
        self.record("mnist submit", time.perf_counter() - started)
        left_queue = None
        while time.perf_counter() - started < TRAINING_TIMEOUT_S:
            texts = " ".join(self.session.texts)
            if left_queue is None and "queued:" not in texts:
                left_queue = time.perf_counter() - started
            if "Results on the test set" in self.session.texts:
                self.record("mnist job to results", time.perf_counter() - started,
                            queue_wait=left_queue)
                return
            await asyncio.sleep(POLL_S)
            await self.session.run([self.session.state("Recipe", string_value=title)])
        raise SessionError(f"the MNIST job had no results after {TRAINING_TIMEOUT_S} s")

    async def transfer(self):
        await self.go("transfer")
        folder = "Folder, inside the server's teaching folder"
        await self.timed_run("transfer load 2 classes", [
            self.session.state(folder, string_value="."),
            self.session.state("Load folder", trigger_value=True)])
        await self.timed_run("transfer train", [self.session.state("Train", trigger_value=True)],
                             wanted="Results")

    async def attend(self):
        async with HeadlessSession(self.url, timeout=ANSWER_TIMEOUT_S) as session:
            self.session = session
            await session.open("classify")
            kinds, weights = list(lesson), list(lesson.values())
            while time.monotonic() < self.deadline:
                kind = self.rng.choices(kinds, weights)[0]
                while kind == "mnist" and self.trained and len(kinds) > 1 and any(
                        w for k, w in lesson.items() if k != "mnist"):
                    kind = self.rng.choices(kinds, weights)[0]
                if kind == "mnist" and self.trained:
                    break                                   # --only mnist: one job each
                limit = TRAINING_TIMEOUT_S + 60 if kind == "mnist" else ANSWER_TIMEOUT_S
                try:
                    await asyncio.wait_for(getattr(self, kind)(), limit)
                except (SessionError, asyncio.TimeoutError, OSError) as error:
                    self.record(kind, error=f"{type(error).__name__}: {error}"[:300])
                    session.page = None                 # open the page afresh next time
                await asyncio.sleep(self.rng.uniform(2.0, 8.0))     # thinking, reading


def small_network_json():
    """A tiny Keras ``model.to_json()`` (a Sequential of Input, Conv2D, Flatten, Dense)."""
    return json.dumps({"class_name": "Sequential", "config": {"name": "tiny", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 28, 28, 1],
                                                "name": "input"}},
        {"class_name": "Conv2D", "config": {"name": "conv", "filters": 8, "kernel_size": [3, 3],
                                            "strides": [1, 1], "padding": "valid",
                                            "activation": "relu", "use_bias": True}},
        {"class_name": "Flatten", "config": {"name": "flatten"}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 10,
                                           "activation": "softmax", "use_bias": True}}]}})


async def monitor(server, pgid, stop, samples, streamlit_minutes):
    """Each second the group's RSS (into ``samples``); each minute the Streamlit process's RSS
    (into ``streamlit_minutes``, MiB): does it level off, or grow with every answer?"""
    started = time.monotonic()
    while not stop.is_set():
        samples.append(group_usage(pgid)[1])
        if time.monotonic() - started >= 60 * len(streamlit_minutes):
            streamlit_minutes.append(server.memory_kib()[0] / 1024)
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass


async def lesson_level(args, sessions, teaching_root, rng, root=REPO_ROOT, label=""):
    env = {"CNNLAB_TRANSFER_FOLDERS": teaching_root, "CNNLAB_MAX_TRAINING_SECONDS": "300"}
    with StreamlitServer(log_name=f"classroom-{sessions}{label}.log", env=env,
                         root=root) as server:
        pgid = os.getpgid(server.process.pid)
        warm = Student(server.url, -1, time.monotonic() + 1, [], random.Random(0), [],
                       teaching_root)
        async with HeadlessSession(server.url, timeout=ANSWER_TIMEOUT_S) as session:
            warm.session = session                      # loads the model and its compile
            await session.open("classify")
            await warm.classify()
        records, rss, streamlit_minutes = [], [], []
        photos_each = int(args.minutes * 60 / 3) + 2
        fresh = unique_photos(sessions * photos_each)
        cpu_before, _ = group_usage(pgid)
        started = time.monotonic()
        deadline = started + args.minutes * 60
        stop = asyncio.Event()
        watcher = asyncio.create_task(monitor(server, pgid, stop, rss, streamlit_minutes))
        students = [Student(server.url, n, deadline, records, random.Random(rng.random()),
                            fresh[n * photos_each:(n + 1) * photos_each], teaching_root)
                    for n in range(sessions)]

        async def attend(student):
            try:
                await student.attend()
            except Exception as error:              # a session that could not even open
                student.record("session", error=f"{type(error).__name__}: {error}"[:300])

        await asyncio.gather(*(attend(student) for student in students))
        wall = time.monotonic() - started
        cpu_after, _ = group_usage(pgid)
        stop.set()
        await watcher
        streamlit_now, streamlit_peak = server.memory_kib()
        streamlit_minutes.append(streamlit_now / 1024)
    result = summarize(sessions, records, wall, cpu_after - cpu_before, streamlit_peak,
                       max(rss, default=0))
    result["streamlit_rss_by_minute_mib"] = streamlit_minutes
    return result


def summarize(sessions, records, wall, cpu, streamlit_peak_kib, group_peak_kib):
    kinds = {}
    for record in records:
        kinds.setdefault(record["kind"], []).append(record)
    rows = {}
    for kind, entries in sorted(kinds.items()):
        seconds = [e["seconds"] for e in entries if e["seconds"] is not None]
        rows[kind] = {"count": len(seconds), "errors": sum(e["error"] is not None
                                                           for e in entries),
                      "p50_s": percentile(seconds, 50) if seconds else None,
                      "p95_s": percentile(seconds, 95) if seconds else None}
    waits = [r["queue_wait"] for r in records if r.get("queue_wait") is not None]
    actions = sum(1 for r in records if r["seconds"] is not None)
    cores = os.cpu_count() or 1
    memory_total_kib = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                                if line.startswith("MemTotal")).split()[1])
    cpu_share = cpu / (wall * cores)
    memory_share = group_peak_kib / memory_total_kib
    first = "CPU" if cpu_share >= memory_share else "memory"
    if max(cpu_share, memory_share) < 0.5:
        first = f"neither yet (the larger share is {first}'s)"
    return {"app": "", "sessions": sessions, "wall_s": wall, "actions": actions, "rows": rows,
            "errors": [r for r in records if r["error"]][:5],
            "error_count": sum(1 for r in records if r["error"]),
            "mnist_queue_wait_s": {"count": len(waits),
                                   "p50": percentile(waits, 50) if waits else None,
                                   "max": max(waits) if waits else None},
            "cpu_s": cpu, "cpu_s_per_action": cpu / max(1, actions),
            "cpu_share_of_cores": cpu_share, "streamlit_peak_rss_mib": streamlit_peak_kib / 1024,
            "group_peak_rss_mib": group_peak_kib / 1024, "memory_share": memory_share,
            "runs_out_first": first}


def print_level(result):
    print(f"\n{result['app'] or 'this checkout'}: {result['sessions']} sessions, "
          f"{result['wall_s']:.0f} s, {result['actions']} answers, {result['error_count']} errors")
    print(f"  {'action':<28}{'count':>6}{'errors':>8}{'p50 s':>8}{'p95 s':>8}")
    for kind, row in result["rows"].items():
        p50 = "—" if row["p50_s"] is None else f"{row['p50_s']:.2f}"
        p95 = "—" if row["p95_s"] is None else f"{row['p95_s']:.2f}"
        print(f"  {kind:<28}{row['count']:>6}{row['errors']:>8}{p50:>8}{p95:>8}")
    waits = result["mnist_queue_wait_s"]
    if waits["count"]:
        print(f"  training queue: {waits['count']} jobs, wait p50 {waits['p50']:.1f} s, "
              f"max {waits['max']:.1f} s")
    print(f"  server CPU: {result['cpu_s']:.0f} s ({result['cpu_s_per_action']:.2f} s per "
          f"answer), {result['cpu_share_of_cores']:.0%} of {os.cpu_count()} cores; peak RSS: "
          f"Streamlit {result['streamlit_peak_rss_mib']:.0f} MiB, with training workers "
          f"{result['group_peak_rss_mib']:.0f} MiB ({result['memory_share']:.0%} of RAM); "
          f"runs out first: {result['runs_out_first']}")
    print("  Streamlit RSS at the start and after each minute (MiB): "
          + " / ".join(f"{m:,.0f}" for m in result["streamlit_rss_by_minute_mib"]))
    for error in result["errors"]:
        print(f"  error in {error['kind']}: {error['error']}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 20, 30])
    parser.add_argument("--minutes", type=float, default=3.0, help="lesson length per level")
    parser.add_argument("--quick", action="store_true", help="2 sessions × 0.5 min (smoke)")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--before", metavar="COMMIT",
                        help="the same lesson on the app as it was at COMMIT first (a git "
                             "archive), each level, in this run: a same-run baseline")
    parser.add_argument("--only", choices=list(lesson),
                        help="every action of this one kind (to check it works)")
    args = parser.parse_args(argv)
    if args.only:
        lesson.update({kind: float(kind == args.only) for kind in lesson})
    if args.quick:
        args.sessions, args.minutes = [2], 0.5
    rng = random.Random(args.seed)
    results = []
    with tempfile.TemporaryDirectory(prefix="cnnlab-classroom-") as root:
        teaching_folder(root)
        for sessions in args.sessions:
            seed = rng.random()                 # the same students' choices for both apps
            if args.before:
                with checkout(args.before) as old:
                    result = asyncio.run(lesson_level(args, sessions, root, random.Random(seed),
                                                      old, f"-before-{args.before[:7]}"))
                result["app"] = f"before {args.before[:7]}"
                print_level(result)
                results.append(result)
            result = asyncio.run(lesson_level(args, sessions, root, random.Random(seed)))
            print_level(result)
            results.append(result)
    print("targets: 0 errors at 30 sessions; calculator p95 < 0.5 s")
    print(json.dumps({"lesson": lesson, "minutes": args.minutes, "levels": results}))


if __name__ == "__main__":
    main()
