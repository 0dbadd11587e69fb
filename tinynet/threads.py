"""CPU threads of the array library.

``set_threads(n)`` limits the thread pools of the array library (NumPy's BLAS,
and any OpenMP pool loaded) to n threads through threadpoolctl;
``get_threads()`` says what is in effect. Without a choice (or after
``set_threads(None)``) tinynet decides by the load of the machine when a
``fit`` starts (``follow_load``, at most every RECHECK_S = 5 s; ``tn.sweep``
trains through fit): other programs running -> one thread per
free core, at least 1 (a busy 2-core machine: 1 thread); an idle machine -> the
library's own setting (OpenBLAS: one thread per core). Why: tinynet's networks
are small, and BLAS splits even a 128 x 784 x 256 product over every core; when
another program holds a core, each product then waits for the thread that has
none. Measured on a 2-core machine beside two busy loops (benchmarks/threads.py,
table in benchmarks/README.md), a 784-256-256-10 step took 4.3x as long with 2
threads as with 1 (13.8 vs 3.2 ms), while on the idle machine 2 threads were
1.7x faster (1.13 vs 1.88 ms): no fixed count is good at both. "Other programs
running" is the number of runnable tasks in /proc/loadavg less this process's
own (Linux; the least of three reads 2 ms apart), else the 1-minute load average.
The load is looked at when a fit starts, not during it.

You keep the choice when you make one:

- ``set_threads(n)``: n threads from then on, whatever the load;
- ``TINYNET_THREADS=N`` in the environment: N threads (``TINYNET_THREADS=0``:
  the library's own setting, never changed by tinynet);
- OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, BLIS_NUM_THREADS or
  VECLIB_MAXIMUM_THREADS set in the environment: left to the library.
"""

import numbers
import os
import time

RECHECK_S = 5.0  # seconds between two looks at the machine's load
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")

# limiter: threadpoolctl's record of the library's own limits (to restore them);
# auto: the count follows the load (no choice made); n: tinynet's limit now (None: none);
# next_check: when the next fit looks at the load again
_threads = {"limiter": None, "auto": True, "n": None, "next_check": 0.0}


def default_threads():
    """The thread count tinynet applies when none was asked for; None: the library's own.

    TINYNET_THREADS=N gives N (0: None); OMP_NUM_THREADS and the other BLAS
    thread variables, when set, give None (the library follows them already);
    otherwise one thread per core that other programs leave free, at least 1,
    and None when none is busy (or the load cannot be read).
    """
    fixed, n = _env_threads()
    return n if fixed else _threads_for_load()


def set_threads(n):
    """Limit the CPU threads of the array library (BLAS and OpenMP pools) to ``n``.

    n: a positive int, or None for the default (``default_threads()``: by the
    machine's load, looked at again when a fit starts; or TINYNET_THREADS).
    Through threadpoolctl; it lasts for the process (or until called again)
    and applies to every NumPy call, not only tinynet's. The GPU (CuPy) is not
    affected. Returns the thread count now in effect (``get_threads()``).
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral)):
        raise TypeError(f"set_threads: n must be a positive int or None, "
                        f"got {n!r} ({type(n).__name__}).")
    if n is not None and n < 1:
        raise ValueError(f"set_threads: n must be a positive int or None (the default), got {n}.")
    if n is None:
        fixed, env_n = _env_threads()
        _threads["auto"] = not fixed
        _limit(env_n if fixed else _threads_for_load())
    else:
        _threads["auto"] = False
        _limit(int(n))
    _threads["next_check"] = time.monotonic() + RECHECK_S
    return get_threads()


def get_threads():
    """The largest thread count of the array library's pools now (None if none is found)."""
    import threadpoolctl

    counts = [lib["num_threads"] for lib in threadpoolctl.threadpool_info()]
    return max(counts) if counts else None


def worker_count():
    """Threads tinynet's own CPU work may use now: its thread limit, else every core."""
    return _threads["n"] or _cores()


def _env_threads():
    """(fixed, n): whether the environment chose, and its count (None: the library's own)."""
    raw = os.environ.get("TINYNET_THREADS", "").strip()
    if raw:
        try:
            n = int(raw)
        except ValueError:
            n = -1
        if n < 0:
            raise ValueError(f"TINYNET_THREADS: expected a whole number of threads >= 0 "
                             f"(0: the array library's own default), got {raw!r}.")
        return True, n or None
    if any(os.environ.get(var, "").strip() for var in THREAD_ENV_VARS):
        return True, None
    return False, None


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _others_running():
    """How many tasks of other programs want a CPU now (None: cannot tell here).

    Linux: runnable tasks in /proc/loadavg less this process's running threads
    (BLAS threads spin for a while after each product), the least of three
    reads 2 ms apart; elsewhere the 1-minute load average less BLAS's threads.
    """
    counts = []
    try:
        for i in range(3):
            with open("/proc/loadavg") as f:  # "0.52 0.58 0.59 3/211 1234": 3 runnable
                running = int(f.read().split()[3].split("/")[0])
            counts.append(running - _own_running())
            if i < 2:
                time.sleep(0.002)
    except (OSError, ValueError, IndexError):
        try:
            return max(0, round(os.getloadavg()[0]) - _library_threads())
        except (AttributeError, OSError):
            return None
    return max(0, min(counts))


def _own_running():
    """This process's threads in state R (running or runnable), from /proc/self/task."""
    n = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        n += stat[stat.rindex(")") + 2] == "R"  # "tid (name) R ..."
    return n


def _threads_for_load():
    """One thread per core left free by other programs (at least 1); None when all are."""
    others = _others_running()
    cores = _cores()
    if not others or cores <= 1:
        return None
    return max(1, cores - others)


def _library_threads():
    try:
        return get_threads() or 1
    except Exception:  # threadpoolctl could not read this platform's libraries
        return 1


def _limit(n):
    """Limit every pool to n threads (None: back to the library's own), if not already."""
    import threadpoolctl

    if n == _threads["n"] and (n is None) == (_threads["limiter"] is None):
        return
    previous = _threads["limiter"]
    if previous is not None:
        previous.restore_original_limits()  # the library's own, as found before tinynet
    _threads["limiter"] = None if n is None else threadpoolctl.threadpool_limits(limits=n)
    _threads["n"] = n


def _apply_default_threads():
    """Follow the load (fit's hook); a failure leaves the library's own setting."""
    _threads["next_check"] = time.monotonic() + RECHECK_S
    try:
        fixed, n = _env_threads()
        if fixed:
            _threads["auto"] = False
        else:
            n = _threads_for_load()
    except ValueError as exc:  # a bad TINYNET_THREADS: say so, train anyway
        import warnings

        _threads["auto"] = False
        warnings.warn(str(exc), RuntimeWarning, stacklevel=3)
        return
    try:
        _limit(n)
    except Exception:  # threadpoolctl could not read this platform's libraries
        _threads["auto"] = False


def follow_load():
    """Apply the default count again when no choice was made and RECHECK_S have passed."""
    if _threads["auto"] and time.monotonic() >= _threads["next_check"]:
        _apply_default_threads()
