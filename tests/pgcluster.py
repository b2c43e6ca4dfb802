"""A throwaway PostgreSQL cluster for the tests: Debian's binaries, initdb + pg_ctl in a temp dir.

Each test session (each xdist worker) starts its own cluster listening on a unix socket in its
temp dir, as the `postgres` user when run as root (PostgreSQL refuses to run as root), with
durability off (fsync, full page writes): a crash loses nothing a test needs. `database()` makes a
fresh empty database per test, so tests never see each other's rows.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

#: Where Debian's postgresql package puts the server binaries (initdb and pg_ctl are not on PATH).
BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None when none is installed."""
    for path in BIN_DIRS:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


class Cluster:
    """One running cluster: `url(db)` addresses a database in it; `stop()` removes it all."""

    def __init__(self, bindir: Path, port: int | None = None) -> None:
        self.bindir = bindir
        #: With a port, it also listens on 127.0.0.1 (containers on the host network reach it).
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="lobstr-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.user = None
        if os.geteuid() == 0:
            # initdb refuses root: run the server as the package's user (or nobody without one).
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                self.user = pwd.getpwnam("nobody")
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self.root.chmod(0o755)
        self._names = itertools.count(1)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N",
                  "-E", "UTF8", "--locale=C.UTF-8")
        listen = f"-c listen_addresses=127.0.0.1 -p {port}" if port else "-c listen_addresses=''"
        options = (f"-k {self.root} {listen} -c fsync=off -c full_page_writes=off"
                   " -c synchronous_commit=off -c max_connections=200 -c unix_socket_permissions=0777")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60",
                  "-o", options, "start")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user.pw_name, "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.root, timeout=120)

    def url(self, database: str = "postgres") -> str:
        """A libpq URL of a database of this cluster (over its unix socket)."""
        if self.port:
            return f"postgresql://postgres@/{database}?host={self.root}&port={self.port}"
        return f"postgresql://postgres@/{database}?host={self.root}"

    def tcp_url(self, database: str) -> str:
        """The same database over loopback TCP (needs `port`)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{urlsplit(self.url(database)).path[1:]}"

    def database(self) -> str:
        """Create a new empty database and return its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and delete its files."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


if __name__ == "__main__":
    # scripts/image-check.sh: `python tests/pgcluster.py PORT` starts a cluster on 127.0.0.1:PORT,
    # prints its directory and a database's loopback URL, and leaves it running; stop it with
    # `python tests/pgcluster.py stop DIR`.
    import sys

    if sys.argv[1] == "stop":
        root = Path(sys.argv[2])
        cluster = Cluster.__new__(Cluster)
        cluster.bindir, cluster.root, cluster.data = bin_dir(), root, root / "data"
        cluster.user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        cluster.stop()
    else:
        found = bin_dir()
        if found is None:
            sys.exit("PostgreSQL is not installed (apt-get install postgresql)")
        started = Cluster(found, port=int(sys.argv[1]))
        name = urlsplit(started.database()).path[1:]
        print(started.root, started.tcp_url(name))
