"""The program of the Runtime API relay container (Python's standard library only).

It lets Lambda runtimes reach scf-local's Runtime API where containers cannot
open connections to this machine (a firewall, a rootless or remote engine):
every connection goes the other way. scf-local keeps a few connections open to
the relay's control port (published on 127.0.0.1), each starting with the
line ``SCF-RELAY <token>``. When a runtime connects to the relay's runtime
port, the relay takes one of them, writes a PROXY protocol v1 line naming the
runtime's address (scf-local answers only the environment at that address),
and from then on copies bytes both ways, reading only as fast as the other
side takes them: long-polls, streamed responses and trailers pass unchanged.

With ``SCF_RELAY_PROBE=host:port:token`` it first tries the direct way once
(``SCF-PROBE <token>``) and prints what happened: scf-local's probe of
whether containers reach this machine.
"""

PROGRAM = r"""
import asyncio, os, signal, sys

TOKEN = os.environ["SCF_RELAY_TOKEN"].encode()
CONTROL = int(os.environ.get("SCF_RELAY_CONTROL_PORT", "9000"))
RUNTIME = int(os.environ.get("SCF_RELAY_RUNTIME_PORT", "9001"))
WAIT = 10.0
idle = []


def say(text):
    print("relay: " + text, flush=True)


class Spare:
    # A control connection waiting for a runtime's; while it waits scf-local sends nothing,
    # so a read that returns means it went away.
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.watch = asyncio.ensure_future(self._watch())

    async def _watch(self):
        try:
            await self.reader.read(1)
        except OSError:
            pass
        if self in idle:
            idle.remove(self)
        self.writer.close()


async def control(reader, writer):
    try:
        line = await asyncio.wait_for(reader.readline(), 5)
    except (asyncio.TimeoutError, OSError):
        line = b""
    if line.rstrip(b"\r\n") != b"SCF-RELAY " + TOKEN:
        writer.close()
        return
    idle.append(Spare(reader, writer))
    arrived.set()


async def take():
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        while idle:
            spare = idle.pop(0)
            if not spare.watch.done():
                spare.watch.cancel()
                return spare
        if loop.time() >= deadline:
            return None
        arrived.clear()
        try:
            await asyncio.wait_for(arrived.wait(), deadline - loop.time())
        except asyncio.TimeoutError:
            pass


async def pipe(reader, writer, other):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.transport.abort()
        other.transport.abort()


async def runtime(reader, writer):
    peer = writer.get_extra_info("peername")
    own = writer.get_extra_info("sockname")
    spare = await take()
    if spare is None:
        say("no connection from scf-local within %.0f s; closing %s:%s" % (WAIT, peer[0], peer[1]))
        writer.close()
        return
    family = "TCP6" if ":" in peer[0] else "TCP4"
    line = "PROXY %s %s %s %d %d\r\n" % (family, peer[0], own[0], peer[1], own[1])
    spare.writer.write(line.encode())
    await asyncio.gather(pipe(reader, spare.writer, writer), pipe(spare.reader, writer, spare.writer))
    writer.close()
    spare.writer.close()


async def probe(target):
    host, port, token = target.rsplit(":", 2)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 3)
        writer.write(b"SCF-PROBE " + token.encode() + b"\n")
        await writer.drain()
        writer.close()
        say("probe: reached %s:%s" % (host, port))
    except asyncio.TimeoutError:
        say("probe: %s:%s did not answer within 3 s (connections dropped)" % (host, port))
    except OSError as exc:
        say("probe: %s:%s: %s" % (host, port, os.strerror(exc.errno) if exc.errno else exc))


async def main():
    global arrived
    arrived = asyncio.Event()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await asyncio.start_server(control, "0.0.0.0", CONTROL)
    await asyncio.start_server(runtime, "0.0.0.0", RUNTIME)
    say("listening: control %d, runtime %d" % (CONTROL, RUNTIME))
    if os.environ.get("SCF_RELAY_PROBE"):
        asyncio.ensure_future(probe(os.environ["SCF_RELAY_PROBE"]))
    await stop.wait()


asyncio.run(main())
"""
