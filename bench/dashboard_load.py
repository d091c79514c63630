"""Load benchmark: the company dashboard against the sign-in page under the same gunicorn,
with the same number of concurrent clients, on the demo company.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wtdash_bench .venv/bin/python bench/dashboard_load.py

It EMPTIES the database it is given (its name must contain "bench"), then loads the demo
as `make run` does (seed_demo, the Coursera sandbox, sync_provider, backfill_snapshots),
starts gunicorn with production settings (DEBUG off) on a free port, signs in through
the real sign-in form as the demo employee, and runs BENCH_CLIENTS (32) clients in
threads for BENCH_SECONDS (60) against each page: the sign-in page (anonymous) and the
company dashboard (signed in), after BENCH_WARMUP (5) seconds of each that are not
counted. The seconds are split in BENCH_ROUNDS (6) rounds that alternate the two pages, so
a change in the machine's other load during the run weighs on both alike. Each client
opens a connection per request (gunicorn's sync workers close it), reads the whole answer
and counts anything but a 200 as an error. It prints each round, then the requests per
second of both pages, their ratio (the goal: the dashboard at 0.5x the sign-in page or
better, with no error) and latency percentiles. BENCH_WORKERS: gunicorn's workers
(default 2 x CPUs + 1); BENCH_PORT: its port (default: a free one). Python only:
http.client in threads.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEMO_PASSWORD = "learnhub-demo"  # noqa: S105 (the demo's published password)
LOGIN_PATH = "/accounts/login/"
DASHBOARD_PATH = "/reports/"
GOAL_RATIO = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def wait_for(url: str, process: subprocess.Popen, what: str, log: Path) -> None:
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + 60
    while True:
        try:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            connection.request("GET", parts.path or "/")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"{what} did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)


def demo_load(env: dict[str, str], workdir: Path) -> str:
    """The demo company with its synced completion history, as `make run` loads it.
    Returns the demo employee's e-mail."""
    manage("migrate", "--noinput", env=env)
    manage("flush", "--noinput", env=env)
    port = free_port()
    seeded = manage("seed_demo", "--sandbox-port", str(port), env=env)
    employee = re.search(r"^\s+employee\s+(\S+@\S+)", seeded, flags=re.M)
    if employee is None:
        sys.exit(f"seed_demo printed no employee login:\n{seeded}")
    log = workdir / "sandbox.log"
    sandbox_command = ["run_sandbox_provider", "--port", str(port), "--org-id", "acme-demo", "--seed", "42"]
    with log.open("w") as out:
        sandbox = subprocess.Popen(
            [PYTHON, "manage.py", *sandbox_command, "--timestamps", "as-is", "--quiet"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/businesses.v1/acme-demo/programs", sandbox, "The sandbox", log)
        print(manage("sync_provider", "Coursera (demo)", env=env).strip().splitlines()[-1])
        manage("backfill_snapshots", env=env)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=20)
    return employee.group(1)


def cookies_of(response: http.client.HTTPResponse) -> dict[str, str]:
    found = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def sign_in(host: str, port: int, email: str) -> str:
    """Sign in through the real form (allauth): the page's CSRF token and cookie, then
    the e-mail and password. Returns the session cookie header. Both cookies are Secure
    with DEBUG off; this is plain HTTP, so they are sent by hand, as a proxy would."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("GET", LOGIN_PATH)
    page = connection.getresponse()
    body = page.read().decode()
    csrf_cookie = cookies_of(page)["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert token, "no CSRF token on the sign-in page"
    form = urllib.parse.urlencode({"login": email, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token.group(1)})
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request(
        "POST",
        LOGIN_PATH,
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf_cookie}"},
    )
    answer = connection.getresponse()
    answer.read()
    session = cookies_of(answer).get("sessionid")
    if answer.status != 302 or not session:
        sys.exit(f"Signing in as {email} failed: {answer.status}")
    cookie = f"sessionid={session}"
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("GET", DASHBOARD_PATH, headers={"Cookie": cookie})
    dashboard = connection.getresponse()
    text = dashboard.read().decode()
    if dashboard.status != 200 or "people have met the goal" not in text:
        sys.exit(f"The dashboard did not answer as expected: {dashboard.status}")
    return cookie


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.errors += other.errors


def hammer(host: str, port: int, path: str, headers: dict[str, str], *, clients: int, seconds: float) -> Tally:
    """`clients` threads GET `path` in a loop for `seconds`; every answer read in full."""
    tally = Tally()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        latencies, errors = [], []
        while time.monotonic() < stop_at:
            began = time.perf_counter()
            try:
                connection = http.client.HTTPConnection(host, port, timeout=30)
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                connection.close()
                if response.status != 200:
                    errors.append(f"HTTP {response.status}")
                    continue
            except OSError as exc:
                errors.append(type(exc).__name__)
                continue
            latencies.append(time.perf_counter() - began)
        with tally.lock:
            tally.latencies += latencies
            tally.errors += errors

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def report(label: str, tally: Tally, seconds: float) -> float:
    rate = len(tally.latencies) / seconds
    ms = sorted(x * 1000 for x in tally.latencies) or [0.0]
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(
        f"{label:<22} {rate:7.1f} req/s  {len(tally.latencies):6d} ok  {len(tally.errors):4d} errors  "
        f"latency p50 {statistics.median(ms):6.0f} ms  p95 {p95:6.0f} ms"
    )
    if tally.errors:
        print(f"  errors: {sorted(set(tally.errors))}")
    return rate


def main() -> None:
    database = os.environ.get("DATABASE_URL", "")
    if "bench" not in database.rsplit("/", 1)[-1]:
        sys.exit("Set DATABASE_URL to a database whose name contains 'bench': this script empties it.")
    clients = int(os.environ.get("BENCH_CLIENTS", 32))
    seconds = float(os.environ.get("BENCH_SECONDS", 60))
    warmup = float(os.environ.get("BENCH_WARMUP", 5))
    rounds = int(os.environ.get("BENCH_ROUNDS", 6))
    workers = int(os.environ.get("BENCH_WORKERS", 2 * (os.cpu_count() or 1) + 1))
    port = int(os.environ.get("BENCH_PORT", 0)) or free_port()
    host = "127.0.0.1"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "learnhub.settings",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dashboard-load-bench-only-" + "x" * 40),
        "ALLOWED_HOSTS": host,
        "SECURE_SSL_REDIRECT": "false",
        "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "60"),
        "LOG_LEVEL": "WARNING",
        "TIME_ZONE": os.environ.get("TIME_ZONE", "America/Los_Angeles"),
        "REDIS_URL": "",  # tasks in process; the cache of each process its own
        "CELERY_BROKER_URL": "",
    }
    with tempfile.TemporaryDirectory(prefix="dashboard-load-") as tmp:
        workdir = Path(tmp)
        began = time.monotonic()
        email = demo_load(env, workdir)
        print(f"demo loaded in {time.monotonic() - began:.0f} s; signing in as {email}")
        log = workdir / "gunicorn.log"
        command = [str(Path(PYTHON).parent / "gunicorn"), "learnhub.wsgi", "--bind", f"{host}:{port}"]
        command += ["--workers", str(workers), "--error-logfile", str(log), "--log-level", "warning"]
        gunicorn = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(f"http://{host}:{port}{LOGIN_PATH}", gunicorn, "gunicorn", log)
            cookie = sign_in(host, port, email)
            print(f"gunicorn: {workers} sync workers on {host}:{port}; {clients} clients, {seconds:.0f} s per page")
            pages = [("sign-in page", LOGIN_PATH, {}), ("company dashboard", DASHBOARD_PATH, {"Cookie": cookie})]
            tallies = {label: Tally() for label, _, _ in pages}
            for _, path, headers in pages:
                hammer(host, port, path, headers, clients=clients, seconds=warmup)
            for number in range(1, rounds + 1):
                done = []
                for label, path, headers in pages:
                    tally = hammer(host, port, path, headers, clients=clients, seconds=seconds / rounds)
                    tallies[label].add(tally)
                    done.append(f"{label} {len(tally.latencies) / (seconds / rounds):6.1f} req/s")
                print(f"  round {number}: " + ", ".join(done), flush=True)
            rates = {label: report(label, tally, seconds) for label, tally in tallies.items()}
        finally:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        problems = log.read_text(errors="replace").strip()
        if problems:
            print(f"gunicorn's error log:\n{problems[-2000:]}")
    ratio = rates["company dashboard"] / rates["sign-in page"]
    verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
    print(f"company dashboard / sign-in page: {ratio:.2f}x (goal >= {GOAL_RATIO}x with no error): {verdict}")


if __name__ == "__main__":
    main()
