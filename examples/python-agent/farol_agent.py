#!/usr/bin/python3
"""A Farol agent in Python, written from docs/protocol.md and GET /api/protocol.json only.

It enrolls with a join token, keeps its Ed25519 key in <state>/identity.json, connects with a
fresh EdDSA token per attempt, checks that the hub holds the key it pinned at enrollment,
heartbeats with numbers read from /proc, buffers samples while the hub is away, and runs
signed shell commands (single JWS or Merkle batch). It stops for good on the connect refusals
that say so (agent_deleted, key_revoked, protocol_version_unsupported).

Needs Debian's python3-socketio, python3-websocket, python3-requests, python3-cryptography and
python3-jwt (`apt-get install python3-socketio python3-websocket python3-cryptography python3-jwt`).
Linux only (it reads /proc). Usage:

    farol_agent.py --hub http://hub:7700 --state /var/lib/farol-py --join-token jt_...
"""

import argparse
import base64
import collections
import hashlib
import json
import logging
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time

import jwt
import requests
import socketio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PROTOCOL_VERSION = 1
AGENT_VERSION = "python-agent/0.1"
NAMESPACE = "/agent"
STOP_RETRYING = {"agent_deleted", "key_revoked", "protocol_version_unsupported"}
# Refusals of a result that will never change: drop it instead of re-sending.
FINAL_RESULT_REFUSALS = {"forbidden", "validation_failed", "bad_request", "not_found"}
MAX_OUTPUT_BYTES = 64 * 1024
BATCH_MAX_SAMPLES = 500
BATCH_MAX_BYTES = 512 * 1024
BUFFER_MAX_SAMPLES = 8640  # 24 h at 10 s
SEEN_MEMORY_S = 24 * 3600
REAL_FILESYSTEMS = {"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "vfat", "exfat", "ntfs", "ntfs3", "f2fs", "reiserfs", "jfs", "nfs", "nfs4", "cifs", "fuseblk"}

log = logging.getLogger("farol-agent")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def now_ms() -> int:
    return int(time.time() * 1000)


# ---- identity ----------------------------------------------------------------------------------


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_or_enroll(state_dir: str, hub: str, join_token: str, name: str) -> dict:
    """identity.json: our private key, our id and name, and the hub key we pin."""
    path = os.path.join(state_dir, "identity.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    if not join_token:
        sys.exit("not enrolled yet: pass --join-token (or FAROL_JOIN_TOKEN)")
    private = Ed25519PrivateKey.generate()
    body = {
        "token": join_token,
        "publicKey": {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw_public(private.public_key()))},
        "system": system_info(),
        "protocolVersion": PROTOCOL_VERSION,
    }
    if name:
        body["name"] = name
    answer = requests.post(f"{hub}/api/enroll", json=body, timeout=30)
    if answer.status_code != 201:
        problem = answer.json() if answer.headers.get("content-type", "").startswith("application/") else {}
        sys.exit(f"enrollment refused ({answer.status_code} {problem.get('code')}): {problem.get('detail') or answer.text}")
    enrolled = answer.json()
    hub_x = enrolled["hubPublicKey"]["x"]
    # The fingerprint formula of docs/protocol.md: base64url(SHA-256(raw hub key)).
    if b64url(hashlib.sha256(unb64url(hub_x)).digest()) != enrolled["hubKeyFingerprint"]:
        sys.exit("the hub's key does not match its fingerprint; not enrolling")
    identity = {
        "agentId": enrolled["agentId"],
        "name": enrolled["name"],  # the hub may have renamed us (name clash): take its name
        "privateKey": b64url(private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())),
        "hubPublicKey": hub_x,
    }
    os.makedirs(state_dir, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(identity, f)
    log.info("enrolled as %s (%s)", identity["name"], identity["agentId"])
    return identity


# ---- measurements (/proc) ------------------------------------------------------------------------


def read(path: str, default: str = "") -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def os_release() -> dict:
    fields = {}
    for line in read("/etc/os-release").splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            fields[key] = value.strip().strip('"')
    return fields


def ip_addresses() -> list:
    """Every non-loopback address, from `ip -j addr` (iproute2)."""
    try:
        links = json.loads(subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True, timeout=5).stdout or "[]")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return []
    found = []
    for link in links:
        for addr in link.get("addr_info", []):
            address, family = addr.get("local", ""), addr.get("family")
            if not address or link.get("ifname") == "lo" or family not in ("inet", "inet6"):
                continue
            tailscale = address.startswith("100.") and 64 <= int(address.split(".")[1]) <= 127 if family == "inet" else address.lower().startswith("fd7a:115c:a1e0:")
            found.append({"interface": link["ifname"][:128], "address": address[:64], "family": "IPv4" if family == "inet" else "IPv6", "isTailscale": tailscale})
    return found[:256]


def system_info() -> dict:
    release = os_release()
    model = next((line.split(":", 1)[1].strip() for line in read("/proc/cpuinfo").splitlines() if line.startswith("model name")), platform.processor())
    arch = {"x86_64": "x64", "aarch64": "arm64", "i686": "ia32", "armv7l": "arm"}.get(platform.machine(), platform.machine())
    return {
        "hostname": socket.gethostname()[:255],
        "os": "linux",
        "distro": release.get("NAME", "")[:128],
        "release": release.get("VERSION_ID", "")[:128],
        "kernel": platform.release()[:128],
        "arch": arch[:32],
        "cpuModel": (model or "")[:256],
        "cpuCores": os.cpu_count() or 0,
        "memoryTotal": meminfo().get("MemTotal", 0),
        "agentVersion": AGENT_VERSION,
        "ips": ip_addresses(),
    }


def meminfo() -> dict:
    values = {}
    for line in read("/proc/meminfo").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            values[key] = int(parts[0]) * 1024  # kB
    return values


class Sampler:
    """Rates and percentages need two readings: each sample covers the time since the last."""

    def __init__(self):
        self.last = None
        self.lock = threading.Lock()  # the heartbeat and a `metrics` command may sample at once

    def counters(self) -> dict:
        cpus = {}
        for line in read("/proc/stat").splitlines():
            if line.startswith("cpu"):
                name, *ticks = line.split()
                values = [int(t) for t in ticks]
                cpus[name] = (sum(values), values[3] + (values[4] if len(values) > 4 else 0))
        disk_read = disk_write = 0
        for line in read("/proc/diskstats").splitlines():
            parts = line.split()
            # Whole disks only (no partitions): sectors are 512 bytes.
            if len(parts) > 9 and os.path.exists(f"/sys/block/{parts[2]}") and not parts[2].startswith(("loop", "ram")):
                disk_read += int(parts[5]) * 512
                disk_write += int(parts[9]) * 512
        nets = {}
        for line in read("/proc/net/dev").splitlines()[2:]:
            name, _, rest = line.partition(":")
            parts = rest.split()
            if name.strip() != "lo" and len(parts) > 8:
                nets[name.strip()] = (int(parts[0]), int(parts[8]))
        procs = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            stat = read(f"/proc/{pid}/stat")
            if ")" in stat:
                name = stat[stat.index("(") + 1 : stat.rindex(")")]
                fields = stat[stat.rindex(")") + 2 :].split()
                procs[int(pid)] = (name, int(fields[11]) + int(fields[12]), int(fields[21]) * os.sysconf("SC_PAGE_SIZE"))
        return {"at": time.monotonic(), "cpus": cpus, "disk": (disk_read, disk_write), "nets": nets, "procs": procs}

    def sample(self) -> dict:
        with self.lock:
            now = self.counters()
            last, self.last = self.last, now
        seconds = max(0.001, now["at"] - last["at"]) if last else None

        def busy(name):
            if not last or name not in last["cpus"]:
                return None
            total, idle = now["cpus"][name][0] - last["cpus"][name][0], now["cpus"][name][1] - last["cpus"][name][1]
            return round(100 * (total - idle) / total, 2) if total > 0 else 0.0

        def rate(new, old):
            return max(0.0, (new - old) / seconds) if seconds else 0.0

        mem = meminfo()
        total, available = mem.get("MemTotal", 0), mem.get("MemAvailable", 0)
        swap_total, swap_free = mem.get("SwapTotal", 0), mem.get("SwapFree", 0)
        filesystems = []
        for line in read("/proc/mounts").splitlines():
            device, mount, fstype = line.split()[:3]
            if fstype not in REAL_FILESYSTEMS or any(fs["device"] == device for fs in filesystems):
                continue
            try:
                st = os.statvfs(mount)
            except OSError:
                continue
            size, free = st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize
            used = size - st.f_bfree * st.f_frsize
            filesystems.append({"mount": mount[:1024], "device": device[:1024], "type": fstype, "size": size, "used": used, "percent": round(100 * used / (used + free), 2) if used + free else 0.0})
        interfaces = [
            {"name": name[:128], "rxBps": rate(rx, last["nets"][name][0]), "txBps": rate(tx, last["nets"][name][1])}
            for name, (rx, tx) in now["nets"].items()
            if last and name in last["nets"]
        ]
        ticks = os.sysconf("SC_CLK_TCK")
        procs = []
        for pid, (name, cpu_ticks, rss) in now["procs"].items():
            before = last["procs"].get(pid) if last else None
            cpu = round(100 * (cpu_ticks - before[1]) / ticks / seconds, 2) if before and seconds else 0.0
            procs.append({"pid": pid, "name": name[:256], "cpu": max(0.0, cpu), "memory": round(min(100.0, 100 * rss / total), 2) if total else 0.0, "rss": rss})
        load = [float(x) for x in read("/proc/loadavg", "0 0 0").split()[:3]]
        temps = [int(read(f"/sys/class/thermal/{zone}/temp", "0").strip() or 0) / 1000 for zone in os.listdir("/sys/class/thermal") if zone.startswith("thermal_zone")] if os.path.isdir("/sys/class/thermal") else []
        temps = [t for t in temps if t > 0]
        return {
            "ts": now_ms(),
            "cpu": {"total": busy("cpu"), "perCore": [busy(n) or 0.0 for n in sorted(now["cpus"]) if n != "cpu"][:1024], "load": load},
            "memory": {
                "total": total,
                "used": total - available,
                "available": available,
                "percent": round(100 * (total - available) / total, 2) if total else 0.0,
                "swapTotal": swap_total,
                "swapUsed": swap_total - swap_free,
                "swapPercent": round(100 * (swap_total - swap_free) / swap_total, 2) if swap_total else 0.0,
            } if total else None,
            "filesystems": filesystems[:256],
            "diskIo": {"readBps": rate(now["disk"][0], last["disk"][0]), "writeBps": rate(now["disk"][1], last["disk"][1])} if last else None,
            "network": {"rxBps": sum(i["rxBps"] for i in interfaces), "txBps": sum(i["txBps"] for i in interfaces), "interfaces": interfaces[:256]} if last else None,
            "uptimeSeconds": float(read("/proc/uptime", "0").split()[0]),
            "processCount": len(now["procs"]),
            "topCpu": sorted(procs, key=lambda p: -p["cpu"])[:5],
            "topMemory": sorted(procs, key=lambda p: -p["rss"])[:5],
            "temperatures": {"cpu": temps[0], "max": max(temps)} if temps else None,
            "gpus": [],
        }


# ---- signed commands -------------------------------------------------------------------------------


def merkle_root(leaf: bytes, index: int, size: int, path: list) -> bytes:
    """RFC 9162 §2.1.3.2: the root an audit path leads to (None when it cannot)."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def command_claims(run: dict, hub_key: Ed25519PublicKey, agent_id: str) -> dict:
    """The verified CommandClaims of a command:run; raises ValueError when they do not hold."""
    header = jwt.get_unverified_header(run["token"])
    claims = jwt.decode(run["token"], hub_key, algorithms=["EdDSA"], audience="farol-agent-command", issuer="farol-hub", leeway=30, options={"verify_exp": False})
    batch = run.get("batch")
    if batch is None:
        if header.get("typ") != "farol-command+jwt":
            raise ValueError(f"unexpected typ {header.get('typ')}")
    else:
        if header.get("typ") != "farol-command-batch+jwt":
            raise ValueError(f"unexpected typ {header.get('typ')}")
        leaf_data = f"farol-command-leaf\n{batch['sub']}\n{batch['commandId']}\n{batch['jti']}".encode()
        leaf = hashlib.sha256(b"\x00" + leaf_data).digest()
        root = merkle_root(leaf, batch["index"], claims["size"], [unb64url(p) for p in batch["path"]])
        if root is None or root != unb64url(claims["root"]):
            raise ValueError("the inclusion proof does not lead to the signed root")
        claims = {**{k: v for k, v in claims.items() if k not in ("root", "size")}, "sub": batch["sub"], "commandId": batch["commandId"], "jti": batch["jti"]}
    if claims.get("sub") != agent_id:
        raise ValueError("the command is for another agent")
    return claims


def cap_utf8(data: bytes) -> tuple:
    """Text of at most MAX_OUTPUT_BYTES bytes of UTF-8, cut on a character boundary."""
    if len(data) <= MAX_OUTPUT_BYTES:
        return data.decode("utf-8", "replace"), False
    text = data[:MAX_OUTPUT_BYTES].decode("utf-8", "ignore")
    while len(text.encode()) > MAX_OUTPUT_BYTES:
        text = text[:-1]
    return text, True


# ---- the agent ---------------------------------------------------------------------------------------


class Agent:
    def __init__(self, hub: str, state_dir: str, identity: dict, interval_s: float, link: str = "lean"):
        self.hub, self.state_dir, self.identity, self.interval_s = hub, state_dir, identity, interval_s
        # "lean": ask the hub for its lean agent server (the same protocol, less memory on the
        # hub; docs/protocol.md); "socket.io": leave the query alone and get Socket.IO's server.
        self.link = link
        self.private = Ed25519PrivateKey.from_private_bytes(unb64url(identity["privateKey"]))
        self.hub_key = Ed25519PublicKey.from_public_bytes(unb64url(identity["hubPublicKey"]))
        self.sampler = Sampler()
        self.buffer = collections.deque(maxlen=BUFFER_MAX_SAMPLES)  # samples the hub has not acknowledged
        self.results = {}  # commandId -> result not yet acknowledged
        self.running = {}  # commandId -> Popen
        self.seen = self.load_seen()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.sio = None
        self.ready = False
        self.retry_after_s = 0.0

    # -- command memory: a command id or jti is never run twice, even across restarts
    def load_seen(self) -> dict:
        try:
            with open(os.path.join(self.state_dir, "seen.json")) as f:
                seen = json.load(f)
        except (OSError, ValueError):
            seen = {}
        cutoff = time.time() - SEEN_MEMORY_S
        return {key: at for key, at in seen.items() if at > cutoff}

    def remember(self, *keys: str) -> None:
        for key in keys:
            self.seen[key] = time.time()
        tmp = os.path.join(self.state_dir, "seen.json.tmp")
        with open(tmp, "w") as f:
            json.dump(self.seen, f)
        os.replace(tmp, os.path.join(self.state_dir, "seen.json"))

    def connect_token(self) -> str:
        iat = int(time.time())
        claims = {"sub": self.identity["agentId"], "aud": "farol-hub", "iat": iat, "exp": iat + 30, "jti": secrets.token_urlsafe(16)}
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers={"typ": "JWT"})

    def call(self, event: str, payload, timeout: float = 15):
        """Every event goes with an ack callback (an emit without one counts as a bad message)."""
        return self.sio.call(event, payload, namespace=NAMESPACE, timeout=timeout)

    def run_forever(self) -> int:
        attempt = 0
        while not self.stopping.is_set():
            refusal = {}
            sio = socketio.Client(reconnection=False)
            self.sio = sio
            answered, disconnected = threading.Event(), threading.Event()

            def on_refused(data):
                refusal.update(data if isinstance(data, dict) else {"message": str(data)})
                answered.set()

            sio.on("connect", answered.set, namespace=NAMESPACE)
            sio.on("connect_error", on_refused, namespace=NAMESPACE)
            sio.on("disconnect", disconnected.set, namespace=NAMESPACE)
            sio.on("command:run", lambda run: threading.Thread(target=self.on_command, args=(run,), daemon=True).start(), namespace=NAMESPACE)
            sio.on("command:cancel", self.on_cancel, namespace=NAMESPACE)
            sio.on("telemetry:live", lambda _data: None, namespace=NAMESPACE)  # live mode is optional
            # The hub is stopping: come back after the delay it gives (it spreads its fleet out).
            sio.on("hub:draining", lambda data: setattr(self, "retry_after_s", data.get("retryAfterMs", 0) / 1000), namespace=NAMESPACE)
            try:
                # wait=False: python-socketio would otherwise sit out its whole wait timeout after a refusal.
                url = self.hub + ("?link=lean" if self.link == "lean" else "")
                sio.connect(url, auth={"protocolVersion": PROTOCOL_VERSION, "token": self.connect_token()}, transports=["websocket"], namespaces=[NAMESPACE], wait=False)
                failure = None if answered.wait(15) and not refusal else refusal or "no answer"
            except socketio.exceptions.ConnectionError as error:
                failure = error
            if failure is not None:
                if sio.connected:
                    sio.disconnect()
                # Outside JavaScript the refusal's fields are one level deeper: { message, data: { code, message } }.
                code = (refusal.get("data") or {}).get("code")
                if code in STOP_RETRYING:
                    log.error("the hub refused this agent for good (%s): %s", code, refusal["data"].get("message"))
                    return 2
                attempt += 1
                delay = random.uniform(0, min(30.0, 2 ** attempt))
                log.warning("cannot connect (%s); retrying in %.1f s", code or failure, delay)
                self.stopping.wait(delay)
                continue
            attempt = 0
            try:
                self.session(disconnected)
            except Exception as error:  # noqa: BLE001 - a broken session is logged and the link retried
                log.warning("session ended: %r", error)
            self.ready = False
            if sio.connected:
                sio.disconnect()
            if self.retry_after_s:
                log.info("the hub is restarting; reconnecting in %.1f s", self.retry_after_s)
                self.stopping.wait(self.retry_after_s)
                self.retry_after_s = 0.0
        return 0

    def session(self, disconnected: threading.Event) -> None:
        challenge = b64url(secrets.token_bytes(32))
        system = system_info()
        ack = self.call("agent:hello", {"system": system, "heartbeatIntervalMs": int(self.interval_s * 1000), "challenge": challenge})
        if not ack.get("ok"):
            raise RuntimeError(f"hello refused: {ack.get('error')}")
        hello = ack["data"]
        proof = jwt.decode(hello["proof"], self.hub_key, algorithms=["EdDSA"], issuer="farol-hub", leeway=30, options={"verify_aud": False})
        if proof.get("sub") != self.identity["agentId"] or proof.get("nonce") != challenge:
            raise RuntimeError("the hub's proof does not answer our challenge: not the hub we enrolled with")
        self.identity["name"] = hello["name"]
        self.ready = True
        skew = (now_ms() - hello["serverTime"]) / 1000
        log.info("linked as %s (clock skew %.1f s)", hello["name"], skew)
        for result in list(self.results.values()):
            self.send_result(result)
        next_beat = 0.0
        while not disconnected.is_set() and not self.stopping.is_set():
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self.interval_s
                self.buffer.append(self.sampler.sample())
                self.drain()
            disconnected.wait(min(1.0, max(0.0, next_beat - time.monotonic())))

    def heartbeat_offline(self) -> None:
        """While not linked, keep measuring: the samples go out after the next hello."""
        while not self.stopping.is_set():
            if not self.ready:
                self.buffer.append(self.sampler.sample())
            self.stopping.wait(self.interval_s)

    def drain(self) -> None:
        """Oldest first, each report at most BATCH_MAX_SAMPLES samples and BATCH_MAX_BYTES of JSON."""
        while self.buffer:
            batch, size = [], 14
            for sample in list(self.buffer)[:BATCH_MAX_SAMPLES]:
                size += len(json.dumps(sample)) + 1
                if batch and size > BATCH_MAX_BYTES:
                    break
                batch.append(sample)
            ack = self.call("metrics:report", {"samples": batch})
            if not ack.get("ok") and ack["error"]["code"] in STOP_RETRYING:
                # Removed while connected: reconnect, and the refusal says whether to stop.
                raise RuntimeError(ack["error"]["message"])
            if not ack.get("ok") and ack["error"]["code"] != "validation_failed":
                log.warning("metrics report refused (%s); will retry", ack["error"]["code"])
                return
            if not ack.get("ok"):
                log.error("hub found %d samples invalid, dropping them: %s", len(batch), ack["error"]["message"])
            for _ in batch:
                self.buffer.popleft()

    # -- commands
    def on_command(self, run: dict) -> None:
        if not self.ready:
            return  # not before the hub proved its key; it sends the command again after our hello
        try:
            claims = command_claims(run, self.hub_key, self.identity["agentId"])
        except (jwt.PyJWTError, ValueError, KeyError) as error:
            log.warning("refusing a command that does not verify: %s", error)
            return
        command_id = claims["commandId"]
        with self.lock:
            if claims["jti"] in self.seen:
                self.call("command:ack", {"commandId": command_id, "status": "refused", "reason": "replayed delivery", "at": now_ms()})
                return
            if command_id in self.seen:
                self.call("command:ack", {"commandId": command_id, "status": "duplicate", "at": now_ms()})
                if command_id in self.results:
                    self.send_result(self.results[command_id])
                return
            self.remember(claims["jti"], command_id)
        started = now_ms()
        command = claims["command"]
        if claims["exp"] < time.time():
            self.finish(command_id, "expired", started=None, error="the command expired before it reached this machine")
        elif command.get("kind") == "metrics":
            self.finish(command_id, "succeeded", started=started, exit_code=0, data={"kind": "metrics", "sample": self.sampler.sample()})
        elif command.get("kind") != "shell":
            self.finish(command_id, "refused", started=None, error=f"refused by agent policy: {command.get('kind')} is not supported by the python agent")
        else:
            self.run_shell(command_id, command, claims["timeoutMs"], started)

    def run_shell(self, command_id: str, command: dict, timeout_ms: int, started: int) -> None:
        argv = ["/bin/sh", "-c", command["script"]] if command.get("shell") else command["argv"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAROL_")}
        env.update(command.get("env") or {})
        try:
            proc = subprocess.Popen(argv, cwd=command.get("cwd"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as error:
            self.finish(command_id, "failed", started=started, error=f"cannot start {argv[0]}: {error}")
            return
        self.running[command_id] = proc
        try:
            out, err = proc.communicate(timeout=(command.get("timeoutMs") or timeout_ms) / 1000)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
        self.running.pop(command_id, None)
        code = proc.returncode
        killed = signal.Signals(-code).name if code is not None and code < 0 else None
        if timed_out:
            state, error = "timed_out", "timed out; its process group was killed"
        elif getattr(proc, "cancelled", False):
            state, error = "cancelled", "cancelled by the hub"
        elif code == 0:
            state, error = "succeeded", None
        else:
            state, error = "failed", f"killed by {killed}" if killed else f"exited with code {code}"
        self.finish(command_id, state, started=started, exit_code=None if killed else code, signal_name=killed, stdout=out, stderr=err, error=error)

    def on_cancel(self, data: dict) -> None:
        proc = self.running.get(data.get("commandId"))
        if proc and proc.poll() is None:
            proc.cancelled = True
            os.killpg(proc.pid, signal.SIGTERM)

    def finish(self, command_id, state, started, exit_code=None, signal_name=None, stdout=b"", stderr=b"", data=None, error=None) -> None:
        out, out_cut = cap_utf8(stdout)
        err, err_cut = cap_utf8(stderr)
        result = {
            "commandId": command_id, "state": state, "exitCode": exit_code, "signal": signal_name,
            "stdout": out, "stderr": err, "stdoutTruncated": out_cut, "stderrTruncated": err_cut,
            "data": data, "startedAt": started, "endedAt": now_ms(), "error": error,
        }
        self.results[command_id] = result
        self.send_result(result)

    def send_result(self, result: dict) -> None:
        """Kept until the hub acknowledges it (or refuses it for good); re-sent after every hello."""
        try:
            ack = self.call("command:result", result)
        except Exception as error:  # noqa: BLE001 - offline or timed out: it goes again after the next hello
            log.info("result of %s not delivered yet: %s", result["commandId"], error)
            return
        if ack.get("ok") or ack["error"]["code"] in FINAL_RESULT_REFUSALS:
            self.results.pop(result["commandId"], None)


def main() -> int:
    parser = argparse.ArgumentParser(description="A Farol agent in Python (examples/python-agent)")
    parser.add_argument("--hub", default=os.environ.get("FAROL_HUB_URL"), required=not os.environ.get("FAROL_HUB_URL"))
    parser.add_argument("--state", default=os.environ.get("FAROL_AGENT_STATE_DIR", os.path.expanduser("~/.farol-python-agent")))
    parser.add_argument("--join-token", default=os.environ.get("FAROL_JOIN_TOKEN", ""))
    parser.add_argument("--name", default="")
    parser.add_argument("--interval", type=float, default=10.0, help="heartbeat interval, seconds (at least 1)")
    parser.add_argument("--link", choices=["lean", "socket.io"], default="lean", help="which of the hub's agent servers to ask for (default lean)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    os.makedirs(args.state, mode=0o700, exist_ok=True)
    hub = args.hub.rstrip("/")
    identity = load_or_enroll(args.state, hub, args.join_token, args.name)
    agent = Agent(hub, args.state, identity, max(1.0, args.interval), args.link)

    def stop(_signum, _frame):
        agent.stopping.set()
        if agent.sio is not None and agent.sio.connected:
            agent.sio.disconnect()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=agent.heartbeat_offline, daemon=True).start()
    code = agent.run_forever()
    log.info("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
