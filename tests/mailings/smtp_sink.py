"""A local SMTP sink for reliability tests and the mailing benchmark: accepts every message and
appends one line per recipient to a log file, flushed at once, so a test can count what arrived
for each person even while the sending workers are being killed.

Run it as a process of its own (aiosmtpd's Controller serves from a thread of that process):

    python tests/mailings/smtp_sink.py --port 2525 --log /tmp/sink.log \
        [--tempfail REGEX --tempfail-times N] [--defer REGEX] [--tempfail-fraction F] \
        [--reject REGEX] [--slow REGEX --slow-seconds S]

``--tempfail``: recipients matching REGEX are refused with 451 (try again later) at their first
N attempts, then accepted; ``--defer``: those matching REGEX get 451 every time;
``--tempfail-fraction``: that share of all recipients is refused with 451, at random (seeded);
``--reject``: recipients matching REGEX are refused with 550 (permanent). A recipient that is
not ``local@domain`` is refused with 553, as a strict mail server would. ``--slow``: a
message to a recipient matching REGEX is logged as received at once but answered (250) only
S seconds later, so that a test can kill the sender while it waits. Every line is
``time<TAB>code<TAB>recipient<TAB>Message-ID<TAB>X-Mailing``: code 250 for a message received,
451, 550 or 553 for a recipient refused (no Message-ID then).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import random
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path

HEADER_END = b"\r\n\r\n"
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
X_MAILING = re.compile(rb"^X-Mailing:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


# --- Reading what a sink received (used by the tests and the benchmark) ---------------------


@dataclasses.dataclass(frozen=True)
class Line:
    at: float
    code: int
    recipient: str
    message_id: str
    mailing: str


def command(
    port: int,
    log: Path,
    *,
    tempfail: str = "",
    tempfail_times: int = 1,
    defer: str = "",
    tempfail_fraction: float = 0.0,
    reject: str = "",
    slow: str = "",
    slow_seconds: float = 2.0,
) -> list[str]:
    """The command line that starts a sink with these options."""
    args = [sys.executable, str(Path(__file__).resolve()), "--port", str(port), "--log", str(log)]
    if tempfail:
        args += ["--tempfail", tempfail, "--tempfail-times", str(tempfail_times)]
    if defer:
        args += ["--defer", defer]
    if tempfail_fraction:
        args += ["--tempfail-fraction", str(tempfail_fraction)]
    if reject:
        args += ["--reject", reject]
    if slow:
        args += ["--slow", slow, "--slow-seconds", str(slow_seconds)]
    return args


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


SINK_PORTS = range(2525, 2530)


def first_free_port(candidates=SINK_PORTS) -> int:
    """The first port of ``candidates`` (by default those set aside for sinks) that is free."""
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {candidates}")


def read(log: Path) -> list[Line]:
    """Every complete line of a sink's log (a line being written is left for the next read)."""
    if not log.exists():
        return []
    lines = []
    for raw in log.read_text(encoding="utf-8").splitlines(keepends=True):
        if not raw.endswith("\n"):
            break
        at, code, recipient, message_id, mailing = raw.rstrip("\n").split("\t")
        lines.append(Line(float(at), int(code), recipient, message_id, mailing))
    return lines


def received(log: Path) -> list[Line]:
    """The messages the sink accepted, one per recipient."""
    return [line for line in read(log) if line.code == 250]


def received_count(log: Path) -> int:
    """How many messages were accepted, counted cheaply (a poll while a send is running)."""
    if not log.exists():
        return 0
    with log.open("rb") as handle:
        return sum(chunk.count(b"\t250\t") for chunk in iter(lambda: handle.read(1 << 20), b""))


def per_recipient(log: Path) -> collections.Counter:
    return collections.Counter(line.recipient for line in received(log))


# --- The sink ----------------------------------------------------------------------------------


class Handler:
    """aiosmtpd handler: refuses recipients as configured, logs every message received."""

    def __init__(
        self, log, *, tempfail, tempfail_times, defer, tempfail_fraction, reject, slow,
        slow_seconds, seed,
    ):  # fmt: skip
        self.log = log
        self.tempfail = re.compile(tempfail) if tempfail else None
        self.tempfail_times = tempfail_times
        self.defer = re.compile(defer) if defer else None
        self.tempfail_fraction = tempfail_fraction
        self.reject = re.compile(reject) if reject else None
        self.slow = re.compile(slow) if slow else None
        self.slow_seconds = slow_seconds
        self.attempts = collections.Counter()
        self.random = random.Random(seed)
        self.lock = threading.Lock()

    def write(self, code: int, recipient: str, message_id: str = "", mailing: str = "") -> None:
        with self.lock:
            self.log.write(f"{time.time():.6f}\t{code}\t{recipient}\t{message_id}\t{mailing}\n")
            self.log.flush()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        local, at, domain = address.rpartition("@")
        if not at or not local or not domain or "@" in local.strip('"'):
            self.write(553, address)
            return "553 5.1.3 Not a valid mailbox address"
        if self.reject and self.reject.search(address):
            self.write(550, address)
            return "550 5.1.1 No such mailbox here"
        self.attempts[address] += 1
        tempfail = (
            self.tempfail is not None
            and self.tempfail.search(address)
            and self.attempts[address] <= self.tempfail_times
        )
        if tempfail or (self.defer and self.defer.search(address)):
            self.write(451, address)
            return "451 4.3.0 Try again later"
        if self.tempfail_fraction and self.random.random() < self.tempfail_fraction:
            self.write(451, address)
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        content = envelope.original_content or envelope.content or b""
        headers = content.split(HEADER_END, 1)[0]
        message_id = MESSAGE_ID.search(headers)
        mailing = X_MAILING.search(headers)
        for recipient in envelope.rcpt_tos:
            self.write(
                250,
                recipient,
                message_id.group(1).decode("ascii", "replace") if message_id else "",
                mailing.group(1).decode("ascii", "replace") if mailing else "",
            )
        if self.slow and any(self.slow.search(r) for r in envelope.rcpt_tos):
            await asyncio.sleep(self.slow_seconds)
        return "250 Message accepted"


def main(argv=None) -> None:
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--tempfail", default="", help="regex of recipients refused with 451")
    parser.add_argument("--tempfail-times", type=int, default=1)
    parser.add_argument("--defer", default="", help="regex of recipients always refused with 451")
    parser.add_argument("--tempfail-fraction", type=float, default=0.0)
    parser.add_argument("--reject", default="", help="regex of recipients refused with 550")
    parser.add_argument("--slow", default="", help="regex of recipients answered late")
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)

    log = args.log.open("a", encoding="utf-8")
    handler = Handler(
        log,
        tempfail=args.tempfail,
        tempfail_times=args.tempfail_times,
        defer=args.defer,
        tempfail_fraction=args.tempfail_fraction,
        reject=args.reject,
        slow=args.slow,
        slow_seconds=args.slow_seconds,
        seed=args.seed,
    )
    # Messages of any size; addresses exactly as the client wrote them.
    controller = Controller(
        handler, hostname="127.0.0.1", port=args.port, data_size_limit=None, enable_SMTPUTF8=True
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    controller.start()
    print(f"SMTP sink listening on 127.0.0.1:{args.port}, logging to {args.log}", flush=True)
    try:
        while not stop.wait(1):
            pass
    finally:
        controller.stop()
        log.close()


if __name__ == "__main__":
    main()
