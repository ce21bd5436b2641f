"""The PostgreSQL 15 cluster behind the embedded store's FerretDB.

Why PostgreSQL: FerretDB's SQLite backend decodes a whole collection for every query but
`_id` equality (listing one conversation took 4.6 s with 10^5 messages stored); on
PostgreSQL, with the GIN indexes simulator/store/postgres_indexes.py adds, it is an index
lookup. Debian's `postgresql-15` is installed with apt-get when missing.

A cluster lives under the state folder:

    STATE/postgres/data      initdb's cluster (UTF8, C locale: what FerretDB accepts)
    STATE/postgres/socket    its Unix socket; no TCP port is opened
    STATE/logs/postgres.log  the server's log

PostgreSQL refuses to run as root, so when we are root the cluster belongs to, and runs
as, an unprivileged system user (`postgres`, which Debian's package creates, else
`sim-postgres`, created with useradd). That user must be able to reach the state folder,
so every folder above it must be searchable by others (mode o+x); we say so if not.
Connections as FerretDB's own role are trusted: only that user (and root) can open the socket
folder, and anonymous MongoDB clients act as that role. Every other role is a researcher's
login (`scripts/services.py add-user NAME`) and must give its password: FerretDB passes the
user and password a MongoDB client authenticated with (PLAIN) on to PostgreSQL, so the store
knows who is connected (simulator/config.py, identity).
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import re
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from processes import Service, ServiceError, say

VERSION = "15"
PACKAGE = f"postgresql-{VERSION}"
DEBIAN_BIN = Path(f"/usr/lib/postgresql/{VERSION}/bin")
ROLE = "ferretdb"        # the superuser initdb creates; FerretDB and the store's index step log in as it
DATABASE = "ferretdb"    # FerretDB keeps each MongoDB database as a schema of this one
SOCKET_PORT = 5432       # only names the socket file (.s.PGSQL.5432); no TCP
FALLBACK_USER = "sim-postgres"
MAX_SOCKET_PATH = 100    # the kernel's limit for a Unix socket path is 107 bytes

# Server settings, passed on the command line so every start applies them.
SETTINGS = {
    "listen_addresses": "",                   # Unix socket only
    # FerretDB prepares its statements; with a generic plan `_jsonb->$1 @> $2` cannot match the
    # GIN expression index on `_jsonb->'field'`, so every execution is planned with its values.
    "plan_cache_mode": "force_custom_plan",
    # The first change of a page after a checkpoint logs the whole page; compressed, a random
    # update at 10^6 messages took 1.67 ms instead of 1.76-2.65 (benchmarks/store_scale.py).
    "wal_compression": "lz4",
    "log_min_messages": "warning",
    "log_checkpoints": "off",
}


# Who may connect how (pg_hba.conf), written at every start so older clusters get it too.
HBA = f"""# written by scripts/postgres_cluster.py at every start
local  all  {ROLE}  trust
local  all  all  scram-sha-256
"""
LOGIN_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class Cluster:
    state: Path
    bin_dir: Path
    user: str | None  # the OS user the server runs as; None: whoever we are

    @property
    def root(self) -> Path:
        return self.state / "postgres"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return socket_dir(self.state)

    @property
    def url(self) -> str:
        """A libpq/pgx URL reaching the cluster through its socket folder."""
        return f"postgresql://{ROLE}@/{DATABASE}?host={quote(str(self.socket_dir), safe='/')}"

    def service(self) -> Service:
        return Service("postgres", self.state)


def socket_dir(state: Path) -> Path:
    """STATE/postgres/socket, or a short folder in /tmp when that path is too long for a socket."""
    preferred = state / "postgres" / "socket"
    if len(str(preferred / f".s.PGSQL.{SOCKET_PORT}")) <= MAX_SOCKET_PATH:
        return preferred
    return Path("/tmp") / f"sim-pg-{hashlib.sha256(str(state).encode()).hexdigest()[:12]}"


# --- binaries and the server's user ------------------------------------------------------

def binaries() -> Path:
    """The folder with initdb, postgres, pg_isready and psql; installs postgresql-15 when missing."""
    configured = os.environ.get("SIM_POSTGRES_BIN")
    if configured:
        if not (Path(configured) / "postgres").is_file():
            raise ServiceError(f"SIM_POSTGRES_BIN={configured} has no `postgres` binary")
        return Path(configured)
    if not (DEBIAN_BIN / "postgres").is_file():
        install()
    say(f"postgresql {VERSION}: {DEBIAN_BIN}")
    return DEBIAN_BIN


def install() -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ServiceError(f"PostgreSQL {VERSION} is not installed: run `sudo apt-get install -y {PACKAGE}` "
                           f"(or set SIM_POSTGRES_BIN to a folder with its binaries)")
    say(f"installing {PACKAGE} with apt-get (first time only)...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", PACKAGE]):
        result = subprocess.run(argv, env=env, check=False)
        if result.returncode != 0:
            raise ServiceError(f"`{' '.join(argv)}` failed (exit {result.returncode}); see its output above")
    if not (DEBIAN_BIN / "postgres").is_file():
        raise ServiceError(f"{PACKAGE} is installed but {DEBIAN_BIN / 'postgres'} is missing")


def server_user() -> str | None:
    """Who the server runs as: ourselves, unless we are root (which PostgreSQL refuses)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    say(f"creating system user {FALLBACK_USER} to run PostgreSQL (it refuses to run as root)")
    result = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                             "--shell", "/usr/sbin/nologin", FALLBACK_USER], capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"useradd {FALLBACK_USER} failed: {result.stderr.strip()}")
    return FALLBACK_USER


def _as_user(user: str | None) -> dict:
    """Popen arguments that run a child as `user`, with its own groups only."""
    if user is None:
        return {"cwd": "/"}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "cwd": "/"}


def _check_reachable(path: Path, user: str | None) -> None:
    """Every folder above `path` must be searchable by the server's user."""
    if user is None:
        return
    entry = pwd.getpwnam(user)
    groups = {entry.pw_gid, *(g.gr_gid for g in grp.getgrall() if user in g.gr_mem)}
    for folder in [*reversed(path.parents), path]:
        mode = folder.stat()
        if mode.st_uid == entry.pw_uid and mode.st_mode & stat.S_IXUSR:
            continue
        if mode.st_gid in groups and mode.st_mode & stat.S_IXGRP:
            continue
        if mode.st_mode & stat.S_IXOTH:
            continue
        raise ServiceError(f"PostgreSQL runs as user {user}, who cannot enter {folder}; "
                           f"allow it with `chmod o+x {folder}` or use a --state folder elsewhere")


def _own_folder(folder: Path, user: str | None) -> None:
    """Create `folder` for the server's user alone (mode 0700), as PostgreSQL requires."""
    folder.mkdir(parents=True, exist_ok=True)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)


# --- the cluster ----------------------------------------------------------------------------

def initialise(cluster: Cluster) -> None:
    """initdb once; a folder that already holds a cluster is kept as it is."""
    if (cluster.data / "PG_VERSION").is_file():
        return
    cluster.root.mkdir(parents=True, exist_ok=True)
    _check_reachable(cluster.root, cluster.user)
    _own_folder(cluster.data, cluster.user)
    say(f"postgres: creating a cluster in {cluster.data}")
    argv = [str(cluster.bin_dir / "initdb"), "-D", str(cluster.data), "-U", ROLE, "--auth=trust",
            "--encoding=UTF8", "--locale=C"]
    result = subprocess.run(argv, capture_output=True, text=True, **_as_user(cluster.user))
    if result.returncode != 0:
        raise ServiceError(f"initdb failed in {cluster.data}: {result.stderr.strip()[-500:]}")


def ready(cluster: Cluster) -> bool:
    result = subprocess.run([str(cluster.bin_dir / "pg_isready"), "-q", "-h", str(cluster.socket_dir),
                             "-p", str(SOCKET_PORT), "-U", ROLE, "-d", "postgres"], check=False)
    return result.returncode == 0


def start(bin_dir: Path, state: Path) -> Cluster:
    """Initialise (first time) and start the cluster unless it runs; make FerretDB's database."""
    cluster = Cluster(state, bin_dir, server_user())
    initialise(cluster)
    changed = _write_hba(cluster)
    _own_folder(cluster.socket_dir, cluster.user)
    argv = [str(bin_dir / "postgres"), "-D", str(cluster.data), "-p", str(SOCKET_PORT),
            "-c", f"unix_socket_directories={cluster.socket_dir}",
            *(arg for name, value in SETTINGS.items() for arg in ("-c", f"{name}={value}"))]
    for attempt in range(5):
        try:
            cluster.service().start(argv, None, {}, lambda: ready(cluster), timeout=120, **_as_user(cluster.user))
            break
        except ServiceError:
            # After a kill -9 of the postmaster its children need a moment to notice and leave
            # the shared memory; until then a new postmaster refuses to start.
            if attempt == 4 or not _shared_memory_busy(cluster):
                raise
            time.sleep(1)
    if changed:  # a cluster that was already running reads it now
        psql(cluster, "SELECT pg_reload_conf()", "postgres")
    _ensure_database(cluster)
    return cluster


def _write_hba(cluster: Cluster) -> bool:
    """Write pg_hba.conf when it differs; True when it changed."""
    path = cluster.data / "pg_hba.conf"
    try:
        if path.read_text() == HBA:
            return False
    except OSError:
        pass
    path.write_text(HBA)
    if cluster.user:
        entry = pwd.getpwnam(cluster.user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(0o600)
    return True


def add_user(cluster: Cluster, name: str, password: str) -> bool:
    """Create (or give a new password to) a researcher's login; True when it was new. The login
    acts as FerretDB's role once connected (a member, with `role` set), so a collection one
    researcher creates is everyone's, as it is when all connect anonymously."""
    if not LOGIN_NAME.fullmatch(name):
        raise ServiceError(f"login names are 1-63 lowercase letters, digits or _, not starting with a digit; "
                           f"got {name!r}")
    if not password or "\0" in password or "\n" in password:
        raise ServiceError("the password must be one non-empty line")
    literal = "'" + password.replace("'", "''") + "'"
    exists = bool(psql(cluster, f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'", "postgres").strip())
    if exists:
        psql(cluster, f"ALTER ROLE {name} LOGIN PASSWORD {literal}", "postgres")
    else:
        psql(cluster, f"CREATE ROLE {name} LOGIN PASSWORD {literal} IN ROLE {ROLE}", "postgres")
        psql(cluster, f"ALTER ROLE {name} SET role = {ROLE}", "postgres")
    return not exists


def _shared_memory_busy(cluster: Cluster) -> bool:
    try:
        tail = cluster.service().log_file.read_text(errors="replace")[-2000:]
    except OSError:
        return False
    return "pre-existing shared memory block" in tail


def psql(cluster: Cluster, sql: str, database: str = DATABASE) -> str:
    """Run SQL through psql on the socket; rows come back unaligned, `|`-separated."""
    argv = [str(cluster.bin_dir / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
            "-h", str(cluster.socket_dir), "-p", str(SOCKET_PORT), "-U", ROLE, "-d", database]
    result = subprocess.run(argv, input=sql, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"psql on {cluster.socket_dir} failed: {result.stderr.strip()[-500:]}")
    return result.stdout


def _ensure_database(cluster: Cluster) -> None:
    if psql(cluster, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'", "postgres").strip():
        return
    psql(cluster, f"CREATE DATABASE {DATABASE}", "postgres")
