#!/usr/bin/env python3
"""Runs one seed twin (a C++ twin of a seed tutorial's Python program) and checks its output.

    check_seed.py CHECK EXE [ARGS...] [--flag-server=FLAG_SERVER_EXE]
    check_seed.py guide GUIDE.md REPO_ROOT [--update]

CHECK names the expectations (the twin's name). The twin runs in a fresh temporary directory,
with ARGS (the tests pass --fast: every sleep and server delay x 0.01). The checks are
about structure, never about timing: the counts, the values, the order wherever the seed's
semantics fix one (map, result() in program order, a callback before the pool's shutdown
returns), and the error lines. With --flag-server, a standalone flag server is started first
and the twin downloads from it through CFUTURES_FLAGS_URL.

`guide` checks that docs/from-python.md shows every twin: each `<!-- twin: PATH -->` marker is
followed by a ```cpp block holding that file exactly, and every examples/0*.cpp has one.
--update rewrites those blocks from the files instead.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile

POP20_CC = "CN IN US ID BR PK NG BD RU JP MX PH VN ET EG DE IR TR CD FR".split()
SITES = ["www.foxnews.com", "www.cnn.com", "europe.wsj.com", "www.bbc.co.uk"]
# What the 004 programs find in their files (common/search.cpp writes them).
SEARCH_SYNERGY = [
    "'Synergy' found in test1.txt at index 44",
    "'Synergy' not found in test2.txt",
    "'Synergy' found in test3.txt at index 43",
    "'Synergy' not found in test4.txt",
    "'Synergy' found in test5.txt at index 24",
]
PRIMES = [112272535095293, 112582705942171, 112272535095293, 115280095190773, 115797848077099, 1099726899285419]


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def expect_lines(lines, count):
    expect(len(lines) == count, f"expected {count} lines, got {len(lines)}")


def expect_same_set(got, want, what):
    expect(sorted(got) == sorted(want), f"{what}: expected (in any order)\n  {sorted(want)}\ngot\n  {sorted(got)}")


# ---- 000 / 003 ----------------------------------------------------------------------------

def check_return_after_5_secs(lines, result_line):
    # done() is asked right after submit and again after sleeping as long as the call: the
    # seed prints False then True, but on a loaded machine either can go the other way (both
    # are timing), so only their form and monotonicity are checked; the result is exact.
    expect_lines(lines, 3)
    expect(lines[0] in ("True", "False") and lines[1] in ("True", "False"), "done() must print True or False")
    expect(not (lines[0] == "True" and lines[1] == "False"), "done() went from True back to False")
    expect(lines[2] == result_line, f"expected {result_line!r}, got {lines[2]!r}")


def check_000_return_after_5_secs_threads(out, work):
    check_return_after_5_secs(out.splitlines(), "hello")


def check_000_return_after_5_secs_processes(out, work):
    check_return_after_5_secs(out.splitlines(), "Result: hello")


def check_000_load_url(out, work):
    lines = out.splitlines()
    expect_lines(lines, 5)
    pages = [re.fullmatch(r"'http://127\.0\.0\.1:\d+/([a-z.]+)/' page is (\d+) bytes", l) for l in lines]
    errors = [re.fullmatch(r"'http://127\.0\.0\.1:\d+/some-made-up-domain\.com/' generated an exception: (.+)", l)
              for l in lines]
    expect_same_set([m.group(1) for m in pages if m], SITES, "pages loaded")
    expect(all(int(m.group(2)) > 500 for m in pages if m), "a page is too small")
    failed = [m.group(1) for m in errors if m]
    expect(len(failed) == 1, "expected one 'generated an exception' line for some-made-up-domain.com")
    expect(re.search(r"refused|connect", failed[0], re.I), f"unexpected error: {failed[0]}")


def check_000_is_prime(out, work):
    want = [f"{n} is prime: {'False' if n == 1099726899285419 else 'True'}" for n in PRIMES]
    expect(out.splitlines() == want, "expected, in this order:\n  " + "\n  ".join(want))


def check_000_as_completed(out, work):
    lines = out.splitlines()
    expect_lines(lines, 5)
    expect_same_set(lines, [f"Return of {x}" for x in range(5)], "results")


def check_000_wait(out, work):
    lines = out.splitlines()
    expect_lines(lines, 3)
    for line, return_when in zip(lines, ["ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"]):
        m = re.fullmatch(return_when + r" DoneAndNotDoneFutures\(done=(\{.*\}|set\(\)), not_done=(\{.*\}|set\(\))\)",
                         line)
        expect(m, f"not a {return_when} DoneAndNotDoneFutures line: {line}")
        done = re.findall(r"<Future at (0x[0-9a-f]+) state=(\w+)", m.group(1))
        not_done = re.findall(r"<Future at (0x[0-9a-f]+) state=(\w+)", m.group(2))
        expect(len({a for a, _ in done + not_done}) == 5, f"{return_when}: expected 5 distinct futures")
        # (a future in not_done may have finished by the time it is printed: no check there)
        expect(all(state == "finished" for _, state in done), f"{return_when}: a future in done is not finished")
        if return_when == "FIRST_COMPLETED":
            expect(len(done) >= 1, "FIRST_COMPLETED returned with nothing done")
        else:  # nothing raises, so FIRST_EXCEPTION waits for all, as ALL_COMPLETED
            expect(len(done) == 5 and m.group(2) == "set()", f"{return_when}: expected all 5 done")


# ---- 001 ----------------------------------------------------------------------------------

def check_flags(out, work, in_order):
    downloads = re.findall(r"download (http://\S+)/([a-z]{2})/([a-z]{2})\.gif", out)
    ccs = [cc for _, cc, again in downloads if cc == again]
    expect(len(ccs) == 20, f"expected 20 'download <url>' lines, got {len(ccs)}")
    expect(len({base for base, _, _ in downloads}) == 1, "downloads from more than one server")
    if in_order:
        expect(ccs == [cc.lower() for cc in POP20_CC], "sequential downloads out of POP20_CC order")
    else:
        expect_same_set(ccs, [cc.lower() for cc in POP20_CC], "flags downloaded")
    expect(re.search(r"\n\n?20 flags downloaded in \d+\.\d\ds\n\Z", out), "no final '20 flags downloaded in N.NNs'")
    for cc in POP20_CC:
        path = os.path.join(work, "downloads", cc.lower() + ".gif")
        expect(os.path.isfile(path), f"{path} was not saved")
        with open(path, "rb") as gif:
            data = gif.read()
        expect(data.startswith(b"GIF89a") and data.endswith(b";") and len(data) > 1000, f"{path} is not a GIF")
    return downloads[0][0]


def check_001_flags_sequential(out, work):
    base = check_flags(out, work, in_order=True)
    # get_flag prints "download <url>", then show(cc) prints "CC " without a newline.
    want = "".join(f"download {base}/{cc.lower()}/{cc.lower()}.gif\n{cc} " for cc in POP20_CC)
    expect(out.startswith(want), "sequential output is not 'download <url>' then 'CC ' for each flag in turn")
    return base


def check_001_flags_threadpool(out, work):
    check_flags(out, work, in_order=False)


check_001_flags_as_completed = check_001_flags_threadpool
check_001_flags_processpool = check_001_flags_threadpool


def check_001_flags_pipeline(out, work):
    # The sequential twin's lines, in any order across flags, and for each flag its
    # "download <url>" before its "CC " (show runs in the continuation of the download).
    base = check_flags(out, work, in_order=False)
    shown = [(m.group(1), m.start()) for m in re.finditer(r"(?<![A-Za-z])([A-Z]{2}) ", out)]
    expect_same_set([cc for cc, _ in shown], POP20_CC, "flags shown")
    for cc, at in shown:
        url = f"download {base}/{cc.lower()}/{cc.lower()}.gif"
        expect(out.find(url) != -1 and out.find(url) < at, f"{cc} shown before its download")


check_001_flags_then = check_001_flags_pipeline
check_001_flags_coroutine = check_001_flags_pipeline


def check_001_loiter(out, work):
    # display() writes the timestamp and the message separately (as the book's two print
    # calls), so lines from different threads may interleave: find the messages anywhere.
    def at(message):
        places = [m.start() for m in re.finditer(re.escape(message), out)]
        expect(len(places) == 1, f"expected {message!r} once, found it {len(places)} times")
        return places[0]

    expect(re.match(r"\[\d\d:\d\d:\d\d\] Script starting\n", out), "the first line is not '[HH:MM:SS] Script starting'")
    expect(re.search(r"results: <concurrent::futures::MapRange<int> object at 0x[0-9a-f]+>", out),
           "no 'results: <...MapRange<int> object at 0x...>'")
    start = [at("\t" * n + f"loiter({n}): doing nothing for {n}s...") for n in range(5)]
    end = [at("\t" * n + f"loiter({n}): done.") for n in range(5)]
    result = [at(f"result {i}: {i * 10}\n") for i in range(5)]
    for n in range(5):
        expect(start[n] < end[n] < result[n], f"loiter({n}): start, done and its result out of order")
    expect(result == sorted(result), "map results not in input order")
    # max_workers=3: loiter(3) starts after one of the first three is done, loiter(4) after two.
    for n, finished in ((3, 1), (4, 2)):
        expect(sum(e < start[n] for e in end[:n]) >= finished, f"loiter({n}) started before a worker was free")


# ---- 002 ----------------------------------------------------------------------------------

def check_executer_tour(out, my_func, times, same):
    lines = out.splitlines()
    expect_lines(lines, 7)
    prefixes = ["From future 1:  ", "From future 2:  ", "From callback of future 3:  ", "Mapped results:  "]
    for line, prefix in zip(lines, prefixes):
        expect(line.startswith(prefix), f"expected a line starting with {prefix!r}, got {line!r}")
    values = [line[len(prefix):] for line, prefix in zip(lines, prefixes)]
    expect(all(same(v, my_func(x)) for v, x in zip(values, (10, 20, 30))), f"wrong results: {values[:3]}")
    mapped = values[3].strip("[]").split(", ")
    expect(len(mapped) == 3 * times and all(same(v, my_func(x)) for v, x in zip(mapped, [1, 2, 3] * times)),
           f"wrong mapped results: {values[3]}")
    expect(all(line.startswith("From futures:  ") for line in lines[4:]), "expected 3 'From futures:  ' lines")
    waited = [line.removeprefix("From futures:  ") for line in lines[4:]]
    unmatched = [10, 20, 30]  # wait's done set has no order: match each value to one input
    for v in waited:
        unmatched = [x for i, x in enumerate(unmatched) if i != next((j for j, y in enumerate(unmatched)
                                                                      if same(v, my_func(y))), -1)]
    expect(not unmatched, f"wait's results are not those of 10, 20, 30: {waited}")


def check_002_my_func_threads(out, work):
    check_executer_tour(out, lambda value: value + 2, 3, lambda text, want: text == str(want))


def check_002_my_func_processes(out, work):
    def my_func(value):  # as the seed, with Python's exact integers
        return (((value ** 5) ** 4) ** 3 / 100000) ** 2

    # The twin computes with exact integers too, so it prints Python's very floats.
    check_executer_tour(out, my_func, 10, lambda text, want: text == repr(want))


# ---- 004 ----------------------------------------------------------------------------------

def check_004_basic_search(out, work):
    want = ["'Test' found in test1.txt at index 10", "'synergy' found in test2.txt at index 17",
            "'Something Else' found in test3.txt at index 0"]
    expect(out.splitlines() == want, "expected, in this order:\n  " + "\n  ".join(want))


def check_004_with_callback(out, work):
    expect_same_set(out.splitlines(), [
        "callback on result: 'Test' found in test1.txt at index 10",
        "callback on result: 'Tset' not found in test2.txt",
        "callback on result: 'Something' found in test3.txt at index 0"], "callbacks")


def check_004_mapped_search(out, work):
    expect(out.splitlines() == SEARCH_SYNERGY, "expected, in file order:\n  " + "\n  ".join(SEARCH_SYNERGY))


def check_004_parallel_search(out, work):
    expect_same_set(out.splitlines(), SEARCH_SYNERGY, "results")


def check_004_as_completed(out, work):
    expect_same_set(out.splitlines(), ["callback on result: " + line for line in SEARCH_SYNERGY], "results")


# ---- the guide ----------------------------------------------------------------------------

TWIN_BLOCK = re.compile(r"<!-- twin: (\S+) -->\n```cpp\n(.*?)```\n", re.S)


def check_guide(guide, root, update):
    with open(guide) as f:
        text = f.read()

    def source(path):
        with open(os.path.join(root, path)) as f:
            return f.read()

    if update:
        text = TWIN_BLOCK.sub(lambda m: f"<!-- twin: {m.group(1)} -->\n```cpp\n{source(m.group(1))}```\n", text)
        with open(guide, "w") as f:
            f.write(text)
    shown = {m.group(1): m.group(2) for m in TWIN_BLOCK.finditer(text)}
    twins = sorted("examples/" + name for name in os.listdir(os.path.join(root, "examples"))
                   if re.fullmatch(r"00\d_\w+\.cpp", name))
    missing = [t for t in twins if t not in shown]
    stale = [path for path, code in shown.items() if code != source(path)]
    if missing or stale or len(twins) != 20:  # the 18 seed twins and the two flags pipelines
        print(f"FAILED guide: {len(twins)} twins (20 expected); not in {guide}: {missing}; "
              f"shown differently from the file: {stale} (run check_seed.py guide {guide} {root} --update)")
        return 1
    print(f"ok guide: all {len(twins)} twins and {len(shown) - len(twins)} helpers shown as they are")
    return 0


# ---- running ------------------------------------------------------------------------------

def session_members(sid):
    """The processes of session `sid` that are still alive."""
    members = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # field 6 of stat: the session
            members.append(int(entry))
    return members


def run_alone(command, cwd, env):
    """Runs `command` in a session of its own; fails if it outlives 50 s or leaves a process
    behind (a worker, a fork server), and kills whatever it left."""
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=50)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        raise CheckFailed(f"still running after 50 s\nstderr:\n{err}")
    finally:
        left = session_members(proc.pid)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    expect(not left, f"left processes behind: {left}")
    return out, err, proc.returncode


def start_flag_server(exe, env):
    server = subprocess.Popen([exe, "--port=0", "--fast"], stdout=subprocess.PIPE, text=True, env=env)
    first = server.stdout.readline().strip()
    if not first.startswith("CFUTURES_FLAGS_URL=http://"):
        server.kill()
        raise CheckFailed(f"flag_server printed {first!r}, not CFUTURES_FLAGS_URL=...")
    return server, first.split("=", 1)[1]


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    if argv[1] == "guide":
        return check_guide(argv[2], argv[3], "--update" in argv[4:])
    check, exe = argv[1], os.path.abspath(argv[2])
    args = [a for a in argv[3:] if not a.startswith("--flag-server=")]
    flag_server = [a.split("=", 1)[1] for a in argv[3:] if a.startswith("--flag-server=")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CFUTURES_")}
    server = None
    out = ""
    with tempfile.TemporaryDirectory(prefix="cfutures-seed-") as work:
        try:
            if flag_server:
                server, url = start_flag_server(os.path.abspath(flag_server[0]), env)
                env["CFUTURES_FLAGS_URL"] = url
            out, err, status = run_alone([exe] + args, work, env)
            expect(status == 0, f"exit status {status}\nstderr:\n{err}")
            expect(err == "", f"unexpected stderr:\n{err}")
            base = globals()["check_" + check](out, work)
            if server:
                expect(base == url, f"downloaded from {base}, not from the flag server at {url}")
                server.send_signal(signal.SIGTERM)
                rest, _ = server.communicate(timeout=20)
                expect(server.returncode == 0 and "flag server stopped" in rest, "flag_server did not stop cleanly")
                server = None
        except CheckFailed as failure:
            print(f"FAILED {check}: {failure}\n--- output of {' '.join([exe] + args)}:\n{out}", end="")
            return 1
        finally:
            if server:
                server.kill()
                server.wait()
    print(f"ok {check} ({len(out.splitlines())} lines)\n--- output:\n{out}", end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
