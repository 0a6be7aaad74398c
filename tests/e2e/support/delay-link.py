"""A point-to-point link between two network namespaces with a fixed delay (issue #19 tests).

Where the kernel has no netem qdisc (CONFIG_NET_SCH_NETEM unset, e.g. Firecracker guests), the
network tests join their two namespaces with a TUN device in each and copy IP packets between
them here: A -> B at once, B -> A after DELAY_MS. Every round trip between the two therefore
takes at least DELAY_MS, as with `tc qdisc add dev <B's side> root netem delay DELAY_MS`.

Usage: python3 delay-link.py NS_A TUN_A NS_B TUN_B DELAY_MS   (root; prints "ready" once both
devices exist; runs until killed). Standard library only.
"""

import ctypes
import fcntl
import heapq
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000

libc = ctypes.CDLL(None, use_errno=True)


def tun_in(namespace: str, name: str) -> int:
    """Opens a TUN device named `name` inside `namespace` (the device lives where it was made)."""
    ns = os.open(f"/var/run/netns/{namespace}", os.O_RDONLY)
    if libc.setns(ns, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns {namespace}: {os.strerror(errno)}")
    os.close(ns)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def send(fd: int, packet: bytes) -> None:
    try:
        os.write(fd, packet)
    except OSError:
        # The other side is down or full: the packet is lost, as on a wire.
        pass


def main() -> None:
    ns_a, tun_a, ns_b, tun_b, delay_ms = sys.argv[1:6]
    delay = float(delay_ms) / 1000.0
    a = tun_in(ns_a, tun_a)
    b = tun_in(ns_b, tun_b)
    print("ready", flush=True)
    pending: list = []  # (due, seq, packet) on their way from B to A
    seq = 0
    while True:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, packet = heapq.heappop(pending)
            send(a, packet)
        timeout = max(0.0, pending[0][0] - now) if pending else 1.0
        readable, _, _ = select.select([a, b], [], [], timeout)
        for fd in readable:
            while True:
                try:
                    packet = os.read(fd, 65535)
                except BlockingIOError:
                    break
                if fd == a:
                    send(b, packet)
                else:
                    seq += 1
                    heapq.heappush(pending, (time.monotonic() + delay, seq, packet))


if __name__ == "__main__":
    main()
