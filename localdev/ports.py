"""Local TCP ports: is one free, which process listens on it, does that listener belong to us.

``make run`` checks every port it needs before it starts anything, so a taken port is one clear
line instead of a hang or a traceback. On Linux the listener's owner is read from
``/proc/net/tcp{,6}`` (socket inode) and ``/proc/<pid>/fd`` (who holds that inode); no tool
beyond the standard library. Elsewhere, or for another user's process, the owner is unknown.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
PROC = Path("/proc")
TCP_TABLES = (PROC / "net" / "tcp", PROC / "net" / "tcp6")
TCP_LISTEN = "0A"
# A suggestion for where to move a taken port: this far up, then further steps of it.
SUGGESTION_STEP = 100
COMMAND_LINE_LIMIT = 160


@dataclass(frozen=True)
class Holder:
    """A process that listens on a port; ``command`` is empty when its command line is hidden."""

    pid: int
    command: str

    def describe(self) -> str:
        return f"pid {self.pid} ({self.command})" if self.command else f"pid {self.pid}"


@dataclass(frozen=True)
class PortNeed:
    """A port a service must bind, and the ``make run`` flag that moves it."""

    port: int
    service: str
    flag: str


class PortProblem(Exception):
    """A port cannot be used; ``str()`` is the whole explanation, on one line."""


def bind_error(port: int, host: str = HOST) -> OSError | None:
    """Why ``host:port`` cannot be bound now, or ``None`` when it can.

    The probe sets SO_REUSEADDR as asyncio and Node's servers do, so connections left in
    TIME_WAIT by an earlier run do not count as taken, while any listener does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return error
    return None


def listening_inodes(port: int) -> set[int] | None:
    """Inodes of the sockets listening on ``port`` (any address), or ``None`` without /proc."""
    inodes: set[int] = set()
    readable = False
    for table in TCP_TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if len(fields) < 10 or fields[3] != TCP_LISTEN:
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(fields[9]))
    return inodes if readable else None


def _socket_inodes_of(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        descriptors = list((PROC / str(pid) / "fd").iterdir())
    except OSError:  # gone, or another user's process
        return inodes
    for descriptor in descriptors:
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def _command_line(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    # One line, however the command was written (``python -c`` scripts hold newlines).
    command = " ".join(raw.decode(errors="replace").replace("\0", " ").split())
    return command if len(command) <= COMMAND_LINE_LIMIT else command[: COMMAND_LINE_LIMIT - 3] + "..."


def _all_pids() -> Iterable[int]:
    try:
        entries = list(PROC.iterdir())
    except OSError:
        return []
    return sorted(int(entry.name) for entry in entries if entry.name.isdigit())


def holder_of(port: int) -> Holder | None:
    """The process listening on ``port``, when /proc shows it (same user, Linux); else ``None``."""
    inodes = listening_inodes(port)
    if not inodes:
        return None
    for pid in _all_pids():
        if _socket_inodes_of(pid) & inodes:
            return Holder(pid, _command_line(pid))
    return None


def describe_holder(port: int) -> str:
    holder = holder_of(port)
    return holder.describe() if holder is not None else "an unknown process (not visible to this user)"


def listens_on(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds a socket listening on ``port``; ``None`` when /proc cannot tell."""
    inodes = listening_inodes(port)
    if inodes is None:
        return None
    return bool(inodes & _socket_inodes_of(pid))


def suggest_port(port: int, avoid: Iterable[int] = ()) -> int:
    """A port near ``port`` that is free now (``port + 100`` when it is), for the message."""
    avoided = set(avoid)
    candidate = port + SUGGESTION_STEP
    while candidate < 65536:
        if candidate not in avoided and bind_error(candidate) is None:
            return candidate
        candidate += SUGGESTION_STEP
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def move_hint(flag: str, port: int) -> str:
    return f'make run RUN_ARGS="{flag} {port}"'


def check_ports(needs: Sequence[PortNeed]) -> None:
    """Raise :class:`PortProblem` (one line) for the first port that is given twice or cannot be bound.

    Port 0 means "any free port" and is never checked.
    """
    fixed = [need for need in needs if need.port]
    ports = [need.port for need in fixed]
    seen: dict[int, PortNeed] = {}
    for need in fixed:
        first = seen.setdefault(need.port, need)
        if first is not need:
            raise PortProblem(
                f"port {need.port} is given to both {first.flag} ({first.service}) and {need.flag} "
                f"({need.service}); move one: {move_hint(need.flag, suggest_port(need.port, ports))}"
            )
    for need in fixed:
        error = bind_error(need.port)
        if error is None:
            continue
        hint = move_hint(need.flag, suggest_port(need.port, ports))
        if error.errno == errno.EADDRINUSE:
            raise PortProblem(
                f"port {need.port} ({need.service}) is already in use, held by "
                f"{describe_holder(need.port)}; stop that or move it: {hint}"
            )
        raise PortProblem(
            f"port {need.port} ({need.service}) cannot be bound on {HOST}: {error.strerror}; move it: {hint}"
        )
