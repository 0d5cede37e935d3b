"""Real Redis servers a test starts and stops itself: a three-node Redis Cluster, and a TLS-only node.

Both run ``redis-server`` on free ports of 127.0.0.1 with their files in a temporary folder, and are
stopped (and the folder removed) whatever the test does.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

#: Nodes of the test cluster (the smallest cluster ``redis-cli --cluster create`` accepts).
CLUSTER_NODES = 3
#: A cluster node also listens on port + 10000 (the cluster bus).
BUS_OFFSET = 10000
START_TIMEOUT_S = 20.0


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_cluster_port(taken: set[int]) -> int:
    """A free port whose cluster-bus port (+10000) is free too."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port + BUS_OFFSET < 65536 and port not in taken and _port_free(port + BUS_OFFSET):
            return port


def _wait(check: object, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if check():  # type: ignore[operator]
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


class _Servers:
    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="offers-redis-"))
        self.procs: list[subprocess.Popen[bytes]] = []

    def _start(self, args: list[str], name: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        folder = self.workdir / name
        folder.mkdir()
        log = folder / "redis.log"
        base = ["--bind", "127.0.0.1", "--dir", str(folder), "--save", "", "--appendonly", "no"]
        self.procs.append(subprocess.Popen([binary, *base, "--logfile", str(log), *args]))

    def stop(self) -> None:
        """Stop every server (TERM, then KILL) and remove the folder."""
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.procs.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)


class LocalCluster(_Servers):
    """Three ``redis-server --cluster-enabled yes`` nodes joined by ``redis-cli --cluster create``."""

    def __init__(self) -> None:
        super().__init__()
        taken: set[int] = set()
        for _ in range(CLUSTER_NODES):
            taken.add(free_cluster_port(taken))
        self.ports = sorted(taken)
        self.url = f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> LocalCluster:
        """Start the nodes, create the cluster and wait for ``cluster_state:ok`` on every node."""
        try:
            for port in self.ports:
                self._start(
                    ["--port", str(port), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
                    f"node-{port}",
                )
            clients = [redis.Redis(port=p, socket_connect_timeout=0.5) for p in self.ports]
            for client in clients:
                _wait(client.ping, "a cluster node to answer PING")
            subprocess.run(
                [
                    "redis-cli",
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{p}" for p in self.ports),
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=START_TIMEOUT_S,
            )
            for client in clients:
                _wait(
                    lambda c=client: b"cluster_state:ok" in c.execute_command("CLUSTER", "INFO"), "cluster ok"
                )
                client.close()
        except BaseException:
            self.stop()
            raise
        return self


class TlsRedis(_Servers):
    """One ``redis-server`` that listens only on a TLS port, with a CA and certificate made by openssl."""

    def __init__(self) -> None:
        super().__init__()
        self.port = free_cluster_port(set())
        self.ca = self.workdir / "ca.crt"
        self.url = f"rediss://127.0.0.1:{self.port}/0"

    def _certificates(self) -> tuple[Path, Path]:
        d = self.workdir

        def openssl(*args: str) -> None:
            subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=offers test CA",
                "-keyout", str(d / "ca.key"), "-out", str(self.ca))  # fmt: skip
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"))  # fmt: skip
        (d / "san.ext").write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
        openssl("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(self.ca),
                "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", str(d / "san.ext"),
                "-out", str(d / "server.crt"))  # fmt: skip
        return d / "server.crt", d / "server.key"

    def start(self) -> TlsRedis:
        """Make the certificates, start the server (``--port 0``: no plain port) and wait for it."""
        try:
            cert, key = self._certificates()
            self._start(
                ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(cert),
                 "--tls-key-file", str(key), "--tls-ca-cert-file", str(self.ca), "--tls-auth-clients", "no"],
                "tls",
            )  # fmt: skip
            client = redis.Redis(
                port=self.port, ssl=True, ssl_ca_certs=str(self.ca), socket_connect_timeout=0.5
            )
            _wait(client.ping, "the TLS Redis to answer PING")
            client.close()
        except BaseException:
            self.stop()
            raise
        return self
