"""A throwaway PostgreSQL cluster in a directory of its own (initdb / pg_ctl / pg_basebackup), on its own port.

Used by the restore drill and the crash-safety test: they stop clusters with `immediate` mode and restore backups,
which must never touch a PostgreSQL that anyone else uses. Run as root, the server binaries are started as the
`postgres` user (PostgreSQL refuses to run as root) and the directory is handed to that user.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BIN_DIR = os.environ.get("SALES_PG_BIN_DIR", "/usr/lib/postgresql/15/bin")
SERVER_USER = "postgres"


class ClusterError(RuntimeError):
    """A PostgreSQL tool failed; the message carries its output."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def missing_binaries(bin_dir: str = DEFAULT_BIN_DIR) -> list[str]:
    """The PostgreSQL programs the clusters need that are not installed (empty when all are)."""
    return [name for name in ("initdb", "pg_ctl", "pg_basebackup", "postgres")
            if not os.access(Path(bin_dir) / name, os.X_OK)]


def unavailable(bin_dir: str = DEFAULT_BIN_DIR) -> str | None:
    """Why scratch clusters cannot be made here (None when they can)."""
    if missing := missing_binaries(bin_dir):
        return f"PostgreSQL programs missing in {bin_dir}: {', '.join(missing)}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and `runuser` is missing (util-linux)"
    return None


def _as_server_user() -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []


def _hand_over(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        os.chown(path, user.pw_uid, user.pw_gid)


def workspace(prefix: str = "sales-pg-") -> Path:
    """A fresh directory the server user may write to (pytest's tmp_path is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    _hand_over(path)
    return path


@dataclass
class Cluster:
    """One PostgreSQL data directory under `root` serving 127.0.0.1:`port` with trust authentication."""

    root: Path
    port: int = field(default_factory=free_port)
    bin_dir: str = DEFAULT_BIN_DIR
    name: str = "data"

    @property
    def data(self) -> Path:
        return self.root / self.name

    @property
    def log(self) -> Path:
        return self.root / f"{self.name}.log"

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str, timeout: float = 120) -> str:
        done = subprocess.run([*_as_server_user(), str(Path(self.bin_dir) / tool), *args], capture_output=True,
                              text=True, timeout=timeout, cwd=self.root)
        if done.returncode != 0:
            raise ClusterError(f"{tool} {' '.join(args)} failed ({done.returncode}): {done.stderr or done.stdout}")
        return done.stdout

    def init(self, *, archive_dir: Path | None = None, settings: dict[str, str] | None = None) -> None:
        """initdb, then our settings: local TCP only, small footprint, WAL archiving to `archive_dir` if given."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8",
                  "--locale=C.UTF-8")
        conf = {"listen_addresses": "'127.0.0.1'", "port": str(self.port), "unix_socket_directories": f"'{self.root}'",
                "shared_buffers": "'32MB'", "max_connections": "50", "max_wal_senders": "4", "wal_level": "replica",
                "logging_collector": "off", **(settings or {})}
        if archive_dir is not None:
            archive_dir.mkdir(exist_ok=True)
            _hand_over(archive_dir)
            # copied under a temporary name, then renamed: a segment in the archive is always whole
            copy = f"test ! -f {archive_dir}/%f && cp %p {archive_dir}/%f.part && mv {archive_dir}/%f.part {archive_dir}/%f"
            conf |= {"archive_mode": "on", "archive_command": f"'{copy}'"}
        self.configure(conf)

    def configure(self, conf: dict[str, str]) -> None:
        with (self.data / "postgresql.auto.conf").open("a") as out:
            out.writelines(f"{key} = {value}\n" for key, value in conf.items())

    def start(self, *, timeout: float = 60) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(int(timeout)), "start",
                  timeout=timeout + 10)

    def stop(self, mode: str = "fast") -> None:
        """`immediate`: the server processes quit at once, without a checkpoint (crash recovery at next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return subprocess.run([*_as_server_user(), str(Path(self.bin_dir) / "pg_ctl"), "-D", str(self.data),
                               "status"], capture_output=True).returncode == 0

    def sql(self, statement: str, database: str = "postgres") -> str:
        """One statement through psql (unaligned, tuples only)."""
        return self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-XAtq",
                         "-v", "ON_ERROR_STOP=1", "-c", statement).strip()

    def create_database(self, name: str) -> None:
        self.sql(f'CREATE DATABASE "{name}"')

    def base_backup(self, target: Path) -> None:
        """A plain-format base backup streamed with the WAL it needs."""
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-D", str(target),
                  "-X", "stream", "-c", "fast", "--no-sync", timeout=300)

    def destroy(self) -> None:
        if self.data.exists() and self.running():
            try:
                self.stop("immediate")
            except ClusterError:
                pass

    @classmethod
    def restored(cls, root: Path, backup: Path, *, archive_dir: Path, target_time: str, name: str = "restored",
                 bin_dir: str = DEFAULT_BIN_DIR) -> "Cluster":
        """A cluster made from a base backup that replays the WAL archive up to `target_time` (PITR), then
        promotes itself. Start it to run the recovery."""
        cluster = cls(root=root, bin_dir=bin_dir, name=name)
        shutil.copytree(backup, cluster.data, symlinks=True)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", f"{SERVER_USER}:{SERVER_USER}", str(cluster.data)], check=True)
        cluster.data.chmod(0o700)
        cluster.configure({"port": str(cluster.port), "archive_mode": "off",
                           "restore_command": f"'cp {archive_dir}/%f %p'",
                           "recovery_target_time": f"'{target_time}'", "recovery_target_action": "'promote'"})
        (cluster.data / "recovery.signal").touch()
        _hand_over(cluster.data / "recovery.signal")
        return cluster

    def wait_promoted(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.sql("SELECT pg_is_in_recovery()") != "f":
            if time.monotonic() > deadline:
                raise ClusterError(f"recovery did not finish in {timeout:.0f}s; see {self.log}")
            time.sleep(0.2)
