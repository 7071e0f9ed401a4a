#!/usr/bin/env python3
"""A local multi-node deployment: several Houseful nodes behind HAProxy with TLS (docs/operations.md).

`up` starts a 6-node Redis Cluster (3 primaries, 3 replicas, scripts/redis_cluster.py; `--redis
single` keeps config.yaml's Redis instead), then N nodes on it (`run.py serve --port P --workers W`,
each in its own session so they outlive this command), writes deploy/haproxy.cfg's template out
with their ports and a locally generated certificate, and starts HAProxy in front: HTTPS on one
port, HTTP redirected to it. `drain NAME` takes a node out gracefully: HAProxy stops sending it new
connections, then the node is told to stop, which closes its sockets with 1001 (going away) so
browsers reconnect through HAProxy to another node and resync. `down` stops only the processes `up`
recorded. The nodes use the PostgreSQL of config.yaml (or the HOUSEFUL_* environment), like `make run`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: `scripts.` is importable from the checkout

from scripts.redis_cluster import LocalRedisCluster  # noqa: E402
TEMPLATE = ROOT / "deploy" / "haproxy.cfg"
START_SECONDS = 90.0
STOP_SECONDS = 20.0


def _healthy(url: str) -> bool:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # our own local certificate
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait(url: str, what: str, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-2000:] if log else ""
            sys.exit(f"{what} exited with status {proc.returncode}:\n{tail}")
        if _healthy(url):
            return
        time.sleep(0.3)
    sys.exit(f"{what} did not answer {url} within {START_SECONDS:.0f}s")


def ensure_haproxy() -> str:
    """The haproxy binary, installed from Debian's package when missing (as root)."""
    found = shutil.which("haproxy")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("haproxy is not installed and this is not root: apt-get install haproxy")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "haproxy"], check=True, env=env)
    return shutil.which("haproxy") or sys.exit("haproxy did not install")


def ensure_certificate(path: Path, host: str) -> Path:
    """A self-signed certificate and key for `host` in one PEM file (HAProxy's `crt`), made once."""
    if path.exists():
        return path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Houseful local cluster")])
    now = dt.datetime.now(dt.timezone.utc)
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(names), critical=False).sign(key, hashes.SHA256()))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    return path


def _start_node(args: argparse.Namespace, index: int, port: int, state: Path,
                redis_url: str | None) -> dict[str, object]:
    log = state / "logs" / f"node{index}.log"
    env = {**os.environ, **({"HOUSEFUL_REDIS_URL": redis_url} if redis_url else {}),
           # HTTPS ends at HAProxy: cookies must say Secure, and the proxy names the client.
           "HOUSEFUL_AUTH_COOKIE_SECURE": "true",
           "HOUSEFUL_SERVER_TRUSTED_PROXIES": os.environ.get("HOUSEFUL_SERVER_TRUSTED_PROXIES", "127.0.0.1/32"),
           "HOUSEFUL_MESSAGES_SITE_URL": f"https://{args.bind}:{args.https_port}"}
    command = [sys.executable, "run.py", "serve", "--port", str(port), "--workers", str(args.workers)]
    if args.demo and index == 1:
        command.append("--demo")
    with log.open("ab") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    _wait(f"http://127.0.0.1:{port}/api/health", f"node{index}", proc, log)
    return {"name": f"node{index}", "port": port, "pid": proc.pid}


def _haproxy_config(args: argparse.Namespace, state: Path, nodes: list[dict[str, object]], cert: Path) -> Path:
    servers = "\n".join(f"    server {n['name']} 127.0.0.1:{n['port']}" for n in nodes)
    text = string.Template(TEMPLATE.read_text()).substitute(
        state_dir=state, bind=args.bind, https_port=args.https_port, http_port=args.http_port,
        certificate=cert, servers=servers)
    path = state / "haproxy.cfg"
    path.write_text(text)
    return path


def up(args: argparse.Namespace) -> int:
    state = Path(args.state)
    if (state / "cluster.json").exists():
        sys.exit(f"a cluster is already recorded in {state}; run `make cluster-stop` first")
    haproxy = ensure_haproxy()
    (state / "logs").mkdir(parents=True, exist_ok=True)
    cert = ensure_certificate(state / "tls" / "houseful.pem", args.bind)
    nodes: list[dict[str, object]] = []
    record: dict[str, object] = {"nodes": nodes, "haproxy_pid": None, "redis_pids": [], "redis_url": None,
                                 "https": f"https://{args.bind}:{args.https_port}"}
    try:
        if args.redis == "cluster":
            shutil.rmtree(state / "redis", ignore_errors=True)  # nothing runs there: no cluster is recorded
            promised = {args.https_port, args.http_port, *range(args.first_port, args.first_port + args.nodes)}
            redis_cluster = LocalRedisCluster(state / "redis", avoid=frozenset(promised))
            try:
                redis_cluster.start()
            finally:  # recorded even when it failed half-way, so `down` stops what did start
                record["redis_pids"], record["redis_url"] = redis_cluster.pids(), redis_cluster.url
                _save(state, record)
        for index in range(1, args.nodes + 1):  # the first migrates (and loads the demo) alone
            nodes.append(_start_node(args, index, args.first_port + index - 1, state,
                                     record["redis_url"]))  # type: ignore[arg-type]
            _save(state, record)
        config = _haproxy_config(args, state, nodes, cert)
        subprocess.run([haproxy, "-c", "-q", "-f", str(config)], check=True)
        subprocess.run([haproxy, "-D", "-f", str(config)], check=True)
        record["haproxy_pid"] = int((state / "haproxy.pid").read_text().split()[0])
        _save(state, record)
        _wait(f"{record['https']}/api/health", "haproxy")
    except BaseException:
        down(args)
        raise
    ports = ", ".join(str(n["port"]) for n in nodes)
    if record["redis_url"]:
        print(f"Redis Cluster: {record['redis_url']} (data in memory only)")
    print(f"Houseful on {record['https']} (self-signed certificate: {cert}); "
          f"http://{args.bind}:{args.http_port} redirects there. Nodes on {ports}; logs in {state / 'logs'}.")
    return 0


def _save(state: Path, record: dict[str, object]) -> None:
    (state / "cluster.json").write_text(json.dumps(record, indent=2))


def _load(state: Path) -> dict[str, object] | None:
    path = state / "cluster.json"
    return json.loads(path.read_text()) if path.exists() else None


def _is(pid: int, word: str) -> bool:
    """The pid still belongs to a process of ours (never signal a recycled pid)."""
    try:
        return word in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _stop(pid: int, word: str) -> None:
    if not _is(pid, word):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while _is(pid, word) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _is(pid, word):
        os.kill(pid, signal.SIGKILL)


def _runtime(state: Path, command: str) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(state / "haproxy.sock"))
        sock.sendall(command.encode() + b"\n")
        return sock.recv(65536).decode()


def drain(args: argparse.Namespace) -> int:
    state = Path(args.state)
    record = _load(state)
    node = next((n for n in (record or {}).get("nodes", []) if n["name"] == args.node), None)  # type: ignore[union-attr]
    if node is None:
        sys.exit(f"no node {args.node} in {state}")
    _runtime(state, f"set server houseful/{args.node} state drain")  # no new connections from now on
    _stop(int(node["pid"]), "run.py")  # its sockets get 1001 and reconnect through HAProxy elsewhere
    _runtime(state, f"set server houseful/{args.node} state maint")
    print(f"{args.node} drained and stopped")
    return 0


def down(args: argparse.Namespace) -> int:
    state = Path(args.state)
    record = _load(state)
    if record is None:
        print(f"no cluster recorded in {state}")
        return 0
    # Nodes first: their sockets' 1001 still reaches the browsers through HAProxy.
    for node in record["nodes"]:  # type: ignore[union-attr]
        _stop(int(node["pid"]), "run.py")
    if record.get("haproxy_pid"):
        _stop(int(record["haproxy_pid"]), "haproxy")  # type: ignore[arg-type]
    for pid in record.get("redis_pids") or []:  # type: ignore[union-attr]
        _stop(int(pid), "redis-server")
    (state / "cluster.json").unlink()
    print("cluster stopped")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", default=str(ROOT / ".data" / "cluster"), help="folder for pids, config, logs")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start the nodes and HAProxy")
    start.add_argument("--nodes", type=int, default=2)
    start.add_argument("--workers", type=int, default=1, help="worker processes per node")
    start.add_argument("--bind", default="127.0.0.1")
    start.add_argument("--https-port", type=int, default=8443)
    start.add_argument("--http-port", type=int, default=8088)
    start.add_argument("--first-port", type=int, default=8081, help="node N serves on first-port + N - 1")
    start.add_argument("--demo", action="store_true", help="load the demo data when the catalog is empty")
    start.add_argument("--redis", choices=("cluster", "single"), default="cluster",
                       help="cluster: a local 6-node Redis Cluster of its own; single: config.yaml's redis.url")
    out = sub.add_parser("drain", help="take a node out gracefully (HAProxy first, then the node)")
    out.add_argument("node", help="node1, node2, ...")
    sub.add_parser("down", help="stop what `up` started")
    args = parser.parse_args()
    return {"up": up, "drain": drain, "down": down}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
