"""What every web benchmark needs: a private stack (PostgreSQL database, Redis databases, a
scratch CRM_VAR_DIR, production-like settings), gunicorn started and always stopped, wrk runs
read back as numbers, the machine and versions, and one section of ``docs/benchmarks.md``.

Benchmarks build on it (``bench/campaign_web.py`` first); nothing in the product imports it.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
VENV_BIN = ROOT / ".venv" / "bin"

# --- Cleaning up ---------------------------------------------------------------------------

_children: list[subprocess.Popen] = []


def _stop(process: subprocess.Popen, *, grace: float = 10.0) -> None:
    """Stops one process this harness started (TERM, then KILL), with its process group."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def stop_all() -> None:
    while _children:
        _stop(_children.pop())


def _terminated(signum, frame):
    # SIGTERM and SIGHUP unwind like Ctrl-C does, so every `finally` (and atexit) runs.
    raise KeyboardInterrupt(f"signal {signum}")


def install_cleanup() -> None:
    """Every process started through ``spawn`` is stopped on exit, error, Ctrl-C or SIGTERM."""
    atexit.register(stop_all)
    # Explicitly, since a shell starting us in the background may have set SIGINT to ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminated)
    signal.signal(signal.SIGHUP, _terminated)


def spawn(command: list[str], *, env: dict, log: Path) -> subprocess.Popen:
    """Starts a long-running helper (gunicorn, later Celery workers) in its own process group,
    so that stopping it stops its children and Ctrl-C in the terminal reaches us first."""
    handle = log.open("ab")
    process = subprocess.Popen(  # noqa: S603 - our own fixed command line
        command,
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    _children.append(process)
    return process


def stop(process: subprocess.Popen) -> None:
    _stop(process)
    if process in _children:
        _children.remove(process)


# --- The stack -----------------------------------------------------------------------------


@dataclasses.dataclass
class Stack:
    """One benchmark's own database, Redis databases and var dir, with production-like settings.

    ``env`` is the environment for every process of the run (this one included, through
    ``activate``): DEBUG off, a generated secret key, persistent connections as the project's
    default has them, no HTTPS redirect (wrk speaks plain HTTP on loopback).
    """

    name: str
    database: str
    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_user: str = "postgres"
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    cache_db: int = 5
    broker_db: int = 6
    settings_module: str = "bench.settings"
    var_dir: Path = dataclasses.field(init=False)
    env: dict = dataclasses.field(init=False)

    def __post_init__(self):
        self.var_dir = Path(tempfile.mkdtemp(prefix=f"crm-bench-{self.name}-"))
        env = {
            key: value
            for key, value in os.environ.items()
            # Nothing from a developer's shell may change what is measured.
            if not key.startswith(("DJANGO_", "CELERY_", "ANYMAIL_", "EMAIL_"))
            and key not in {"DATABASE_URL", "REDIS_URL", "CONN_MAX_AGE", "SITE_URL"}
        }
        env.update(
            DJANGO_SETTINGS_MODULE=self.settings_module,
            DJANGO_DEBUG="false",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_SECURE_SSL_REDIRECT="false",
            DATABASE_URL=self.database_url(self.database),
            REDIS_URL=self.redis_url(self.cache_db),
            CELERY_BROKER_URL=self.redis_url(self.broker_db),
            CRM_VAR_DIR=str(self.var_dir),
            PYTHONDONTWRITEBYTECODE="1",
        )
        self.env = env

    def database_url(self, name: str) -> str:
        return f"postgres://{self.pg_user}@{self.pg_host}:{self.pg_port}/{name}"

    def redis_url(self, db: int) -> str:
        return f"redis://{self.redis_host}:{self.redis_port}/{db}"

    def activate(self) -> None:
        """Puts ``env`` into this process, before Django is set up here."""
        for key in [k for k in os.environ if k not in self.env]:
            del os.environ[key]
        os.environ.update(self.env)
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))

    def reset(self) -> None:
        """A fresh, empty database and empty cache and broker databases (only those)."""
        import psycopg
        import redis

        with psycopg.connect(
            host=self.pg_host, port=self.pg_port, user=self.pg_user, dbname="postgres",
            autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.database}"')
        for db in (self.cache_db, self.broker_db):
            redis.Redis(host=self.redis_host, port=self.redis_port, db=db).flushdb()

    def redis(self, db: int):
        import redis

        return redis.Redis(host=self.redis_host, port=self.redis_port, db=db)

    def cleanup(self, *, keep: bool = False) -> None:
        if keep:
            print(f"kept {self.var_dir}")
        else:
            shutil.rmtree(self.var_dir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """``gunicorn crm.wsgi`` with sync workers on a free loopback port, as the Procfile runs it
    (without the access log: writing a line per request is not what is measured)."""

    def __init__(self, stack: Stack, *, workers: int, port: int | None = None):
        self.stack, self.workers = stack, workers
        self.port = port or free_port()
        self.log = stack.var_dir / f"gunicorn-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        command = [
            str(VENV_BIN / "gunicorn"),
            "crm.wsgi",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--worker-class", "sync",
            "--forwarded-allow-ips", "127.0.0.1",
            "--backlog", "2048",
        ]  # fmt: skip
        self.process = spawn(command, env=self.stack.env, log=self.log)
        self.wait_ready("/bench/trivial")
        return self

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log}:\n{self.log_tail()}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(self.url + path, timeout=2) as response,  # noqa: S310
            ):
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer {path} in {timeout:.0f} s; see {self.log}")

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            stop(self.process)


# --- Other load on the machine ---------------------------------------------------------------


def _cpu_times() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]), idle


def cpu_busy(seconds: float = 1.0) -> float:
    """The share of all cores busy over ``seconds`` (0.0–1.0), from /proc/stat."""
    try:
        total0, idle0 = _cpu_times()
        time.sleep(seconds)
        total1, idle1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return 0.0
    total = total1 - total0
    return 1.0 - (idle1 - idle0) / total if total else 0.0


def wait_quiet(*, threshold: float = 0.15, timeout: float = 60.0) -> float:
    """Waits, at most ``timeout`` seconds, until the machine is quiet between two runs (our
    servers idle, so what is busy is someone else: a test suite, a build); returns how busy it
    was when the run started, so a report can say that other work shared the cores."""
    deadline = time.monotonic() + timeout
    busy = cpu_busy(0.5)
    while busy > threshold and time.monotonic() < deadline:
        busy = cpu_busy(1.0)
    return busy


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> list[tuple[int, int, str, float]]:
    """(pid, parent pid, command name, CPU seconds used) of every process we can read."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[1] is the parent pid; fields[11] and [12] are user and system ticks.
        found.append((int(entry.name), int(fields[1]), name, (int(fields[11]) + int(fields[12]))
                      / _TICKS))  # fmt: skip
    return found


def cpu_by_process(root_pids: set[int], pids: set[int] = frozenset()) -> dict[int, float]:
    """CPU seconds used so far by each process under ``root_pids`` (gunicorn's workers) and by
    each of ``pids`` (the database's backends)."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, ppid, _name, _cpu in processes:
        children.setdefault(ppid, []).append(pid)
    wanted, stack = set(pids), list(root_pids)
    while stack:
        pid = stack.pop()
        if pid not in wanted:
            wanted.add(pid)
            stack.extend(children.get(pid, []))
    return {pid: cpu for pid, _ppid, _name, cpu in processes if pid in wanted}


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two ``cpu_by_process`` readings (a process that started in
    between counts whole; one that ended in between is lost, which a run of seconds barely
    notices)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def database_pids(stack: Stack) -> set[int]:
    """The PostgreSQL processes working for this run: backends connected to its database, and
    the writers that every commit relies on."""
    import psycopg

    with psycopg.connect(
        host=stack.pg_host, port=stack.pg_port, user=stack.pg_user, dbname=stack.database,
        autocommit=True,
    ) as conn:  # fmt: skip
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (datname = %s "
            "OR backend_type IN ('walwriter', 'background writer', 'checkpointer'))",
            [stack.database],
        ).fetchall()
    return {pid for (pid,) in rows}


# --- wrk -----------------------------------------------------------------------------------

# Counts responses by status in every thread and prints one JSON line at the end, so that a
# case can insist on the status it expects (a sign POST that re-renders the form with 200 is a
# failure, though wrk would count it as a success).
LUA_COMMON = r"""
local threads = {}
local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, ' ..
    '"read": %d, "write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, table.concat(parts, ", ")))
end
"""


def lua_static(*, method: str = "GET", body: str = "", headers: dict | None = None) -> str:
    """A script sending the same request every time (wrk builds it once)."""
    lines = [f'wrk.method = "{method}"']
    if body:
        lines.append(f"wrk.body = {json.dumps(body)}")
    for name, value in (headers or {}).items():
        lines.append(f'wrk.headers["{name}"] = {json.dumps(value)}')
    return "\n".join(lines) + "\n" + LUA_COMMON


@dataclasses.dataclass
class WrkResult:
    requests: int
    seconds: float
    statuses: dict[int, int]
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    expected: tuple[int, ...]
    busy_before: float = 0.0  # share of the cores busy with other work just before the run
    app_cpu_ms: float | None = None  # gunicorn's CPU per request
    db_cpu_ms: float | None = None  # PostgreSQL's CPU per request

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def unexpected(self) -> int:
        """Responses with another status than the case expects."""
        return sum(n for status, n in self.statuses.items() if status not in self.expected)

    @property
    def errors(self) -> int:
        return self.unexpected + self.socket_errors

    def ok(self, status: int) -> int:
        return self.statuses.get(status, 0)

    def describe(self) -> str:
        statuses = ", ".join(f"{status}×{n}" for status, n in sorted(self.statuses.items()))
        return (
            f"{self.rate:8,.0f} req/s  p50 {self.p50_ms:6.1f} ms  p99 {self.p99_ms:7.1f} ms  "
            f"errors {self.errors} (statuses {statuses or 'none'}; socket {self.socket_errors})"
            + (
                f"  CPU/request: app {self.app_cpu_ms:.2f} ms, db {self.db_cpu_ms:.2f} ms"
                if self.app_cpu_ms is not None
                else ""
            )
            + (f"  [other load {self.busy_before:.0%}]" if self.busy_before > 0.15 else "")
        )


@dataclasses.dataclass
class Summary:
    """Several runs of one case: the median rate and p50, the worst p99, every error."""

    runs: list[WrkResult]

    @property
    def rate(self) -> float:
        return statistics.median(r.rate for r in self.runs)

    @property
    def rates(self) -> list[float]:
        return [r.rate for r in self.runs]

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs)

    @property
    def p99_ms(self) -> float:
        return max(r.p99_ms for r in self.runs)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.runs)

    @property
    def busy_before(self) -> float:
        return max(r.busy_before for r in self.runs)

    @property
    def app_cpu_ms(self) -> float | None:
        values = [r.app_cpu_ms for r in self.runs if r.app_cpu_ms is not None]
        return statistics.median(values) if values else None

    @property
    def db_cpu_ms(self) -> float | None:
        values = [r.db_cpu_ms for r in self.runs if r.db_cpu_ms is not None]
        return statistics.median(values) if values else None

    def ok(self, status: int) -> int:
        return sum(r.ok(status) for r in self.runs)

    def describe(self) -> str:
        spread = " / ".join(f"{rate:,.0f}" for rate in self.rates)
        cpu = ""
        if self.app_cpu_ms is not None:
            cpu = f"  CPU/request: app {self.app_cpu_ms:.2f} ms, db {self.db_cpu_ms:.2f} ms"
        return (
            f"median {self.rate:,.0f} req/s ({spread})  p50 {self.p50_ms:.1f} ms  "
            f"worst p99 {self.p99_ms:.1f} ms  errors {self.errors}{cpu}"
        )


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    return path


def wrk_version() -> str:
    run = subprocess.run([wrk_path(), "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    first = (run.stdout or run.stderr).splitlines()[0] if (run.stdout or run.stderr) else "wrk"
    return first.split(" Copyright")[0].strip()


def wrk(
    url: str,
    script: str,
    *,
    workdir: Path,
    duration: float,
    connections: int = 32,
    threads: int = 2,
    timeout: str = "5s",
    expected: tuple[int, ...] = (200,),
    args: tuple[str, ...] = (),
    busy_before: float = 0.0,
) -> WrkResult:
    """Runs wrk for ``duration`` seconds with ``script`` (see ``LUA_COMMON``) and reads back its
    figures."""
    path = workdir / f"wrk-{secrets.token_hex(4)}.lua"
    path.write_text(script, encoding="utf-8")
    command = [
        wrk_path(),
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(duration))}s",
        f"--timeout={timeout}",
        "--latency",
        f"--script={path}",
        url,
    ]
    if args:
        command += ["--", *args]
    run = subprocess.run(  # noqa: S603 - our own fixed command line
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    line = next((ln for ln in run.stdout.splitlines() if ln.startswith("BENCH-RESULT ")), None)
    if run.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    data = json.loads(line.removeprefix("BENCH-RESULT "))
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        statuses={int(status): n for status, n in data["statuses"].items()},
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        expected=expected,
        busy_before=busy_before,
    )


# --- Machine and versions ------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
                break
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
    }


def versions(stack: Stack) -> dict[str, str]:
    """Python, Django, PostgreSQL, Redis, gunicorn, psycopg, wrk, as this run used them."""
    import django
    import gunicorn
    import psycopg

    with psycopg.connect(
        host=stack.pg_host, port=stack.pg_port, user=stack.pg_user, dbname=stack.database
    ) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    redis_version = stack.redis(stack.cache_db).info("server")["redis_version"]
    return {
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "PostgreSQL": postgres,
        "Redis": redis_version,
        "gunicorn": gunicorn.__version__,
        "psycopg": psycopg.__version__,
        "wrk": wrk_version().removeprefix("wrk ").strip(),
    }


# --- docs/benchmarks.md --------------------------------------------------------------------


def docs_section_write(name: str, lines: list[str]) -> None:
    """Replaces the section between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` in
    docs/benchmarks.md (appending it the first time), leaving every other section alone."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    section = "\n".join([start, *lines, end])
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(text, encoding="utf-8")
    print(f"wrote {DOCS.relative_to(ROOT)} (section {name})")
