"""Studio's production topology on one machine without Docker: the services of
docker/compose.yaml started from distribution packages (nginx, PostgreSQL, Redis) and the
project's venv (two Daphne, the audio and default workers, beat, moto's S3 server in place of
the S3-compatible image), with the settings of docker/studio.env and nginx's config rendered
from docker/nginx.conf.template.

Everything is read from those three files: each service's command comes from compose.yaml with
only addresses, ports and folders swapped for local ones, so the smoke runs what compose runs.

    python scripts/prod/stack.py up      # start it, print the addresses, stop on Ctrl-C
"""

from __future__ import annotations

import functools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
ENV_FILE = DOCKER / "studio.env"
NGINX_TEMPLATE = DOCKER / "nginx.conf.template"
VENV_BIN = ROOT / ".venv" / "bin"
# Where the image keeps its files (studio.env and compose.yaml); a local folder stands in.
IMAGE_VAR = "/app/var"
# The long-running Studio services of compose.yaml, in the order they start.
STUDIO_SERVICES = ("web1", "web2", "worker-audio", "worker-default", "beat")
RELEASE_STEPS = ("bucket", "migrate", "collectstatic")
TEMPLATE_VARIABLE = re.compile(r"\$\{(STUDIO_[A-Z0-9_]+)\}")


class StackError(RuntimeError):
    """A part of the topology did not start; the message says which and shows its log."""


# --- the shared configuration -------------------------------------------------------------


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """KEY=value lines, as compose's env_file reads them (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise StackError(f"{path.name}: not KEY=value: {line!r}")
        values[key.strip()] = value.strip()
    return values


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """compose.yaml with its anchors and merge keys resolved (PyYAML does both)."""
    loaded = yaml.safe_load(path.read_text())
    if not isinstance(loaded, dict) or "services" not in loaded:
        raise StackError(f"{path.name} has no services")
    return loaded


def interpolate(value: str, variables: dict[str, str]) -> str:
    """compose's `${NAME}`, `${NAME:-default}` and `${NAME:?message}`, from `variables`."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if name in variables and (variables[name] or op != ":-"):
            return variables[name]
        if op == ":?":
            raise StackError(f"{name} must be set: {arg}")
        return arg

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}", one, value)


def template_variables(text: str) -> set[str]:
    """The `${STUDIO_*}` names a template needs."""
    return set(TEMPLATE_VARIABLE.findall(text))


def render_template(text: str, values: dict[str, str]) -> str:
    """The nginx template with its `${STUDIO_*}` variables filled in, as the nginx image's
    envsubst does; nginx's own `$variables` are left alone. Every variable must be given."""
    missing = template_variables(text) - set(values)
    if missing:
        raise StackError(f"no value for {', '.join(sorted(missing))}")
    return TEMPLATE_VARIABLE.sub(lambda m: values[m.group(1)], text)


def service_command(compose: dict[str, Any], name: str) -> list[str]:
    command = compose["services"][name].get("command")
    if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
        raise StackError(f"compose service {name} has no command list")
    return list(command)


def replace_option(argv: list[str], option: str, value: str) -> list[str]:
    """`argv` with the value after `option` replaced; the option must be there."""
    if option not in argv:
        raise StackError(f"{option} not in {argv}")
    out = list(argv)
    out[out.index(option) + 1] = value
    return out


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Process:
    """One service: a process group of its own, its output in a log file."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str]
    stop_signal: int = signal.SIGTERM
    user: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    def start(self) -> None:
        self.log = self.log_path.open("wb")
        argv = [_tool("runuser"), "-u", self.user, "--", *self.argv] if self.user else self.argv
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise StackError(f"{self.name} exited:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, self.stop_signal)
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        if self.log is not None:
            self.log.close()


def wait_until(
    what: str, ready: Callable[[], bool], proc: Process | None, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if proc is not None:
            proc.check_alive()
        if time.monotonic() > deadline:
            tail = proc.tail() if proc else ""
            raise StackError(f"{what} not ready after {timeout_s:.0f} s\n{tail}")
        time.sleep(0.2)


def postgres_bin() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3])
    )
    if not found:
        raise StackError("PostgreSQL is not installed (apt-get install postgresql)")
    return found[-1].parent


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        raise StackError(f"{name} is not installed")
    return path


@dataclass
class Stack:
    """The topology, started under `base` (logs, files, certificate, rendered configs)."""

    base: Path
    ports: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    pg_dir: Path | None = None

    # addresses -----------------------------------------------------------------------------
    @property
    def https_url(self) -> str:
        return f"https://localhost:{self.ports['https']}"

    def web_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def cert_path(self) -> Path:
        return self.base / "tls" / "cert.pem"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly the smoke's self-signed certificate."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    # start / stop ----------------------------------------------------------------------------
    def start(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _timed(self, step: str, fn: Callable[[], None]) -> None:
        began = time.monotonic()
        fn()
        self.timings[step] = round(time.monotonic() - began, 2)

    def _start(self) -> None:
        if self.base.exists():
            shutil.rmtree(self.base)
        for sub in ("log", "var", "tls", "redis", "nginx"):
            (self.base / sub).mkdir(parents=True)
        compose = load_compose()
        for name in ("postgres", "redis", "s3", "nginx", *STUDIO_SERVICES, *RELEASE_STEPS):
            if name not in compose["services"]:
                raise StackError(f"compose.yaml has no service {name}")
        names = ("postgres", "redis", "s3", "web1", "web2", "https", "http")
        self.ports = {name: free_port() for name in names}
        self.env = self._studio_env(compose)
        self._timed("tls certificate", self._make_certificate)
        self._timed("postgres", lambda: self._start_postgres(compose))
        self._timed("redis", lambda: self._start_redis(compose))
        self._timed("s3", self._start_s3)
        for step in RELEASE_STEPS:
            self._timed(step, functools.partial(self._run_once, step, compose))
        self._timed("studio processes", lambda: self._start_studio(compose))
        self._timed("nginx", lambda: self._start_nginx(compose))

    def stop(self) -> None:
        """Everything stopped, the newest first; the database folder removed."""
        for process in reversed(list(self.processes.values())):
            process.stop()
        if self.pg_dir is not None:
            shutil.rmtree(self.pg_dir, ignore_errors=True)
            self.pg_dir = None

    # the parts -------------------------------------------------------------------------------
    def _studio_env(self, compose: dict[str, Any]) -> dict[str, str]:
        """studio.env plus compose's environment for the Studio services, with the hosts of
        compose's network swapped for the local ports and its folders for local ones."""
        local_var = str(self.base / "var")
        secrets_given = {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "S3_ACCESS_KEY_ID": "smoke",
            "S3_SECRET_ACCESS_KEY": secrets.token_urlsafe(24),
            "ALLOWED_HOSTS": "localhost,127.0.0.1",
            "CSRF_TRUSTED_ORIGINS": f"https://localhost:{self.ports['https']}",
        }
        hosts = {
            "@postgres:5432": f"@127.0.0.1:{self.ports['postgres']}",
            "//redis:6379": f"//127.0.0.1:{self.ports['redis']}",
            "//s3:9000": f"//127.0.0.1:{self.ports['s3']}",
        }
        service = compose["services"]["web1"]
        env = {
            "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "OPENBLAS_NUM_THREADS": "1",
        }
        for env_file in service.get("env_file", []):
            env.update(read_env_file(DOCKER / env_file))
        for key, value in (service.get("environment") or {}).items():
            env[key] = interpolate(str(value), secrets_given)
        for key, value in env.items():
            for compose_host, local in hosts.items():
                value = value.replace(compose_host, local)
            env[key] = value.replace(IMAGE_VAR, local_var)
        return env

    def _make_certificate(self) -> None:
        subprocess.run(
            [_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", str(self.base / "tls" / "key.pem"), "-out", str(self.cert_path)],
            check=True, capture_output=True,
        )  # fmt: skip

    def _add(self, process: Process) -> Process:
        self.processes[process.name] = process
        process.start()
        return process

    def _start_postgres(self, compose: dict[str, Any]) -> None:
        """A private cluster (its own folder and port) with compose's `-c` settings."""
        bin_dir = postgres_bin()
        user = "postgres" if os.geteuid() == 0 else None  # PostgreSQL refuses to run as root
        self.pg_dir = Path(tempfile.mkdtemp(prefix="studio-prod-pg-"))
        if user:
            entry = pwd.getpwnam(user)
            os.chown(self.pg_dir, entry.pw_uid, entry.pw_gid)
        data = self.pg_dir / "data"
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "studio", "--auth=trust"]
        subprocess.run(
            [_tool("runuser"), "-u", user, "--", *initdb] if user else initdb,
            check=True, capture_output=True, cwd="/",
        )  # fmt: skip
        command = service_command(compose, "postgres")
        if command[0] != "postgres":
            raise StackError(f"the postgres service runs {command[0]}, not postgres")
        argv = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(self.ports["postgres"]),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.pg_dir}",
                *command[1:]]  # fmt: skip
        process = Process("postgres", argv, self.base / "log" / "postgres.log",
                          {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                          stop_signal=signal.SIGINT, user=user)  # fmt: skip
        self._add(process)
        wait_until("postgres", lambda: port_open(self.ports["postgres"]), process, 60)
        create = [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.ports["postgres"]),
                  "-U", "studio", "studio"]  # fmt: skip
        deadline = time.monotonic() + 30
        while subprocess.run(create, capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise StackError(f"createdb failed\n{process.tail()}")
            time.sleep(0.3)

    def _start_redis(self, compose: dict[str, Any]) -> None:
        command = service_command(compose, "redis")
        if command[0] != "redis-server":
            raise StackError(f"the redis service runs {command[0]}, not redis-server")
        argv = [_tool("redis-server"), *command[1:], "--port", str(self.ports["redis"]),
                "--bind", "127.0.0.1", "--dir", str(self.base / "redis")]  # fmt: skip
        process = self._add(Process("redis", argv, self.base / "log" / "redis.log", self.env))
        wait_until("redis", lambda: port_open(self.ports["redis"]), process, 30)

    def _start_s3(self) -> None:
        argv = [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.ports["s3"])]
        process = self._add(Process("s3", argv, self.base / "log" / "s3.log", self.env))
        wait_until("s3", lambda: port_open(self.ports["s3"]), process, 60)

    def _venv_argv(self, command: list[str]) -> list[str]:
        """A compose command run with the venv's python, daphne or celery."""
        program = VENV_BIN / command[0]
        if not program.exists():
            raise StackError(f"{command[0]} is not in the venv")
        return [
            str(program),
            *[arg.replace(IMAGE_VAR, str(self.base / "var")) for arg in command[1:]],
        ]

    def _run_once(self, step: str, compose: dict[str, Any]) -> None:
        argv = self._venv_argv(service_command(compose, step))
        log = self.base / "log" / f"{step}.log"
        with log.open("wb") as out:
            done = subprocess.run(
                argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        if done.returncode != 0:
            raise StackError(f"{step} failed:\n{log.read_text()[-3000:]}")

    def _start_studio(self, compose: dict[str, Any]) -> None:
        for name in STUDIO_SERVICES:
            argv = self._venv_argv(service_command(compose, name))
            if name.startswith("web"):
                argv = replace_option(replace_option(argv, "-p", str(self.ports[name])),
                                      "-b", "127.0.0.1")  # fmt: skip
            self._add(Process(name, argv, self.base / "log" / f"{name}.log", self.env))
        for name in ("web1", "web2"):
            url = f"{self.web_url(name)}/healthz"
            wait_until(name, functools.partial(_answers, url), self.processes[name], 90)

    def nginx_values(self) -> dict[str, str]:
        """The template's variables for this machine (compose gives its own in nginx's
        environment)."""
        return {
            "STUDIO_WEB1": f"127.0.0.1:{self.ports['web1']}",
            "STUDIO_WEB2": f"127.0.0.1:{self.ports['web2']}",
            "STUDIO_HTTP_PORT": f"127.0.0.1:{self.ports['http']}",
            "STUDIO_HTTPS_PORT": f"127.0.0.1:{self.ports['https']}",
            "STUDIO_TLS_CERT": str(self.cert_path),
            "STUDIO_TLS_KEY": str(self.base / "tls" / "key.pem"),
            "STUDIO_STATIC_ROOT": str(self.base / "var" / "staticfiles"),
        }

    def _start_nginx(self, compose: dict[str, Any]) -> None:
        """nginx with the rendered template inside a minimal main config of its own folders
        (the nginx image supplies the same main part in compose)."""
        prefix = self.base / "nginx"
        site = render_template(NGINX_TEMPLATE.read_text(), self.nginx_values())
        (prefix / "studio.conf").write_text(site)
        temp_dirs = [prefix / t for t in ("body", "proxy", "fastcgi", "uwsgi", "scgi")]
        user_line = ""
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            user_line = "user nobody nogroup;"
            for folder in temp_dirs:
                folder.mkdir()
                os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        else:
            for folder in temp_dirs:
                folder.mkdir()
        main = f"""{user_line}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {self.base}/log/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log {self.base}/log/nginx-access.log;
  client_body_temp_path {temp_dirs[0]};
  proxy_temp_path {temp_dirs[1]};
  fastcgi_temp_path {temp_dirs[2]};
  uwsgi_temp_path {temp_dirs[3]};
  scgi_temp_path {temp_dirs[4]};
  include {prefix}/studio.conf;
}}
"""
        (prefix / "nginx.conf").write_text(main)
        argv = [_tool("nginx"), "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                "-g", "daemon off;"]  # fmt: skip
        process = self._add(Process("nginx", argv, self.base / "log" / "nginx.log", self.env,
                                    stop_signal=signal.SIGQUIT))  # fmt: skip
        context = self.ssl_context()

        def ready() -> bool:
            return _answers(f"{self.https_url}/readyz", context)

        wait_until("nginx and /readyz", ready, process, 90)


def _answers(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:  # noqa: S310
            return int(response.status) == 200
    except OSError:
        return False


def _print_addresses(stack: Stack, out: Iterable[str] = ()) -> None:
    lines = [
        f"Studio (production topology) at {stack.https_url}/  (certificate {stack.cert_path})",
        f"web1 {stack.web_url('web1')}  web2 {stack.web_url('web2')}  logs {stack.base}/log",
        *out,
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    if argv[1:] != ["up"]:
        sys.stderr.write("usage: python scripts/prod/stack.py up\n")
        return 2
    stack = Stack(ROOT / "var" / "prod-stack")
    try:
        stack.start()
    except StackError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    try:
        _print_addresses(stack, [f"{k}: {v} s" for k, v in stack.timings.items()])
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
