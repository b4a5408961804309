"""Python's concurrent.futures in the comparison (bench/compare runs this with /usr/bin/python3).

    python3 peer.py --system tpe|ppe --workload NAME [--n N] [--m M] [--workers W] ...

Each run measures one workload and prints one JSON object, with the same fields as the C++
programs (bench/common/). The workloads mirror bench/common/workloads.hpp: the task is
`ident(x) -> x`, pools are warmed up first (--warmup, 1000 for threads, 200 for processes),
and the clock is time.perf_counter_ns (CLOCK_MONOTONIC, as std::chrono::steady_clock).
"""

import argparse
import concurrent.futures as cf
import json
import math
import os
import statistics
import sys
import threading
import time
import tracemalloc

PRIMES = [
    112272535095293,
    112582705942171,
    112272535095293,
    115280095190773,
    115797848077099,
    1099726899285419]


def ident(x):
    return x


def is_prime(n):
    if n % 2 == 0:
        return False
    sqrt_n = int(math.floor(math.sqrt(n)))
    for i in range(3, sqrt_n + 1, 2):
        if n % i == 0:
            return False
    return True


def now():
    return time.perf_counter_ns()


def seconds(t0, t1):
    return (t1 - t0) / 1e9


def percentile(sorted_values, q):
    pos = q * (len(sorted_values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def peak_rss_mb():
    """VmHWM (ru_maxrss would survive exec and report the launcher's peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    return None


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def make_pool(args, workers=None):
    workers = workers or args.workers
    if args.system == "tpe":
        return cf.ThreadPoolExecutor(workers)
    return cf.ProcessPoolExecutor(workers)


def warm_up(pool, args):
    for f in [pool.submit(ident, 0) for _ in range(args.warmup)]:
        f.result()


def throughput(args, report, default_n):
    n = args.n or default_n
    xs = list(range(n))
    with make_pool(args) as pool:
        warm_up(pool, args)
        t0 = now()
        futures = [pool.submit(ident, x) for x in xs]
        t1 = now()
        total = 0
        for f in futures:
            total += f.result()
        t2 = now()
    report.update(n=n, workers=args.workers, tasks_per_s=n / seconds(t0, t2),
                  submit_per_s=n / seconds(t0, t1), peak_rss_mb=peak_rss_mb())


def map_items(args, report):
    n = args.n or (10**6 if args.system == "tpe" else 20000)
    xs = list(range(n))
    with make_pool(args) as pool:
        warm_up(pool, args)
        t0 = now()
        total = 0
        for r in pool.map(ident, xs, chunksize=args.chunksize):
            total += r
        t1 = now()
    report.update(n=n, chunksize=args.chunksize, tasks_per_s=n / seconds(t0, t1), peak_rss_mb=peak_rss_mb())


def round_trip(args, report, cold):
    m = args.m or (300 if cold else 20000)
    with make_pool(args) as pool:
        warm_up(pool, args)
        report.update(m=m, **time_round_trips(pool, m, args.idle_us / 1e6 if cold else 0.0))


def time_round_trips(pool, m, pause_s=0.0):
    """Times m `pool.submit(ident, i).result()` round trips (each after `pause_s` idle): the
    report's rtt_* fields, in µs. Shared with mpi4py_peer.py."""
    lat = []
    for i in range(m):
        if pause_s:
            time.sleep(pause_s)
        t0 = now()
        pool.submit(ident, i).result()
        lat.append((now() - t0) / 1e3)
    lat.sort()
    return dict(rtt_median_us=percentile(lat, 0.5), rtt_p99_us=percentile(lat, 0.99),
                rtt_mean_us=statistics.fmean(lat), rtt_min_us=lat[0])


def as_completed_items(args, report):
    n = args.n or 100000
    with make_pool(args) as pool:
        warm_up(pool, args)
        t0 = now()
        futures = [pool.submit(ident, i) for i in range(n)]
        total = 0
        for f in cf.as_completed(futures):
            total += f.result()
        t1 = now()
    report.update(n=n, tasks_per_s=n / seconds(t0, t1))


def wait_first(args, report, timeout):
    n = args.n or 100000
    times = []
    done = 0
    for _ in range(args.reps):
        futures = [cf.Future() for _ in range(n)]
        if not timeout:
            futures[-1].set_result(1)
        t0 = now()
        if timeout:
            result = cf.wait(futures, timeout=args.timeout_us / 1e6, return_when=cf.FIRST_COMPLETED)
        else:
            result = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        times.append(seconds(t0, now()) * 1e3)
        done = len(result.done)
    report.update(n=n, ms=statistics.median(times), done=done)
    if timeout:
        report.update(timeout_ms=args.timeout_us / 1e3)


def memory_pending(args, report):
    """RSS growth per pending future (a plain pass), then heap growth (a tracemalloc pass)."""
    n = args.n or 100000
    gate = threading.Event()
    entered = threading.Semaphore(0)

    def hold():
        entered.release()
        gate.wait()
        return 0

    def measure(probe):
        gate.clear()
        with make_pool(args) as pool:
            warm_up(pool, args)
            held = [pool.submit(hold) for _ in range(args.workers)]
            for _ in range(args.workers):
                entered.acquire()
            futures = [None] * n  # the list's own memory is not counted
            before = probe()
            for i in range(n):
                futures[i] = pool.submit(ident, i)
            after = probe()
            gate.set()
            for f in held + futures:
                f.result()
        return (after - before) / n

    rss_per_future = measure(rss_bytes)
    tracemalloc.start()
    heap_per_future = measure(lambda: tracemalloc.get_traced_memory()[0])
    tracemalloc.stop()
    report.update(n=n, heap_bytes_per_future=heap_per_future, rss_bytes_per_future=rss_per_future,
                  handle_bytes=8)


def start_to_first_result(args, report):
    t0 = now()
    pool = make_pool(args)
    pool.submit(ident, 1).result()
    t1 = now()
    pool.shutdown(wait=True)
    t2 = now()
    report.update(start_ms=seconds(t0, t1) * 1e3, shutdown_ms=seconds(t1, t2) * 1e3)


def is_prime_map(args, report):
    """The docs example as written (pool start and stop included), without the prints."""
    t0 = now()
    with make_pool(args) as pool:
        flags = [prime for _, prime in zip(PRIMES, pool.map(is_prime, PRIMES))]
    t1 = now()
    report.update(ms=seconds(t0, t1) * 1e3, primes=sum(flags))


WORKLOADS = {
    "throughput": lambda a, r: throughput(a, r, 200000 if a.system == "tpe" else 20000),
    "scaling": lambda a, r: throughput(a, r, 200000),
    "map": map_items,
    "map_chunked": map_items,
    "rtt": lambda a, r: round_trip(a, r, False),
    "rtt_cold": lambda a, r: round_trip(a, r, True),
    "as_completed": as_completed_items,
    "wait_first_done_last": lambda a, r: wait_first(a, r, False),
    "wait_first_timeout": lambda a, r: wait_first(a, r, True),
    "memory_pending": memory_pending,
    "start": start_to_first_result,
    "is_prime": is_prime_map,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--system", choices=["tpe", "ppe"], required=True)
    p.add_argument("--workload", choices=sorted(WORKLOADS), required=True)
    p.add_argument("--n", type=int, default=0)
    p.add_argument("--m", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--warmup", type=int, default=None)
    p.add_argument("--chunksize", type=int, default=1)
    p.add_argument("--idle_us", type=int, default=2000)
    p.add_argument("--timeout_us", type=int, default=1000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--buffersize", type=int, default=0)
    args = p.parse_args()
    if args.warmup is None:
        args.warmup = 1000 if args.system == "tpe" else 200
    report = {"system": "py_" + args.system, "workload": args.workload,
              "python": sys.version.split()[0], "executable": sys.executable}
    WORKLOADS[args.workload](args, report)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
