"""mpi4py.futures in the `mpi` group of bench/compare (run with Debian's /usr/bin/python3 and
python3-mpi4py).

    mpiexec -n 2 python3 mpi4py_peer.py --workload rtt|throughput|map_chunked [--n N] [--m M] ...
    mpiexec -n 3 python3 mpi4py_peer.py --workload is_prime       # two worker ranks
    python3 mpi4py_peer.py --workload start                       # a singleton that spawns

Every workload but `start` uses MPICommExecutor(MPI.COMM_WORLD, root=0): rank 0 submits, the
other ranks serve. `start` times MPIPoolExecutor(max_workers=1) from construction to its first
result (the worker rank is spawned), then its shutdown. Rank 0 prints one JSON object, with the
fields of peer.py (and of the C++ programs in bench/common/), whose tasks it shares: the task is
`ident(x) -> x`, the seed's is_prime over the seed's PRIMES; 200 calls warm the pool up first.
"""

import argparse
import json
import os
import sys

from mpi4py import MPI
from mpi4py.futures import MPICommExecutor, MPIPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer import PRIMES, ident, is_prime, now, peak_rss_mb, seconds, time_round_trips  # noqa: E402

WARMUP = 200


def warm_up(pool):
    for f in [pool.submit(ident, 0) for _ in range(WARMUP)]:
        f.result()


def round_trip(pool, args, report):
    m = args.m or 2000
    warm_up(pool)
    report.update(m=m, **time_round_trips(pool, m))


def throughput(pool, args, report):
    n = args.n or 2000
    warm_up(pool)
    t0 = now()
    futures = [pool.submit(ident, x) for x in range(n)]
    t1 = now()
    total = sum(f.result() for f in futures)
    t2 = now()
    assert total == n * (n - 1) // 2
    report.update(n=n, tasks_per_s=n / seconds(t0, t2), submit_per_s=n / seconds(t0, t1), peak_rss_mb=peak_rss_mb())


def map_chunked(pool, args, report):
    n = args.n or 1000000
    warm_up(pool)
    t0 = now()
    total = sum(pool.map(ident, range(n), chunksize=args.chunksize))
    t1 = now()
    assert total == n * (n - 1) // 2
    report.update(n=n, chunksize=args.chunksize, tasks_per_s=n / seconds(t0, t1), peak_rss_mb=peak_rss_mb())


def is_prime_map(args, report):
    """The seed program as written for MPI (pool start and stop included), without its prints."""
    t0 = now()
    with MPICommExecutor(MPI.COMM_WORLD, root=0) as pool:
        if pool is None:
            return False
        flags = list(pool.map(is_prime, PRIMES))
    t1 = now()
    report.update(ms=seconds(t0, t1) * 1e3, primes=sum(flags), workers=MPI.COMM_WORLD.Get_size() - 1)
    return True


def start_to_first_result(args, report):
    here = os.path.dirname(os.path.abspath(__file__))
    t0 = now()
    pool = MPIPoolExecutor(max_workers=1, path=[here])
    pool.submit(ident, 1).result()
    t1 = now()
    pool.shutdown(wait=True)
    t2 = now()
    report.update(start_ms=seconds(t0, t1) * 1e3, shutdown_ms=seconds(t1, t2) * 1e3)


ON_COMM = {"rtt": round_trip, "throughput": throughput, "map_chunked": map_chunked}
WORKLOADS = sorted(list(ON_COMM) + ["is_prime", "start"])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", choices=WORKLOADS, required=True)
    p.add_argument("--n", type=int, default=0)
    p.add_argument("--m", type=int, default=0)
    p.add_argument("--chunksize", type=int, default=1)
    args = p.parse_args()
    report = {"system": "py_mpi4py", "workload": args.workload, "python": sys.version.split()[0],
              "mpi4py": __import__("mpi4py").__version__, "ranks": MPI.COMM_WORLD.Get_size()}
    if args.workload == "is_prime":
        if not is_prime_map(args, report):
            return
    elif args.workload == "start":
        start_to_first_result(args, report)
    else:
        with MPICommExecutor(MPI.COMM_WORLD, root=0) as pool:
            if pool is None:
                return  # a worker rank: served until the root's executor shut down
            report["workers"] = MPI.COMM_WORLD.Get_size() - 1
            ON_COMM[args.workload](pool, args, report)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
