"""A TCP proxy on 127.0.0.1 that holds every response for a fixed delay: a local S3
server made to answer as a distant one does (a round trip per page of a listing).

    python3 scripts/latency_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS

Each connection is forwarded byte for byte to 127.0.0.1:TARGET_PORT. When the server
starts answering a request (its first bytes after the client last sent some), the
proxy waits DELAY_MS before passing them on; the rest of that answer follows at once.
So every response costs the client DELAY_MS more, whatever its size, as with S3's about
0.3 s per ListObjectsV2 page. Stops on SIGTERM or Ctrl-C.
"""

import asyncio
import sys


async def pipe(reader, writer, state, delay, holds):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if holds:
                # Server to client: the first bytes of an answer wait.
                if state["asked"]:
                    state["asked"] = False
                    await asyncio.sleep(delay)
            else:
                state["asked"] = True
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    listen, target, delay_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    delay = delay_ms / 1000

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_writer.close()
            return
        state = {"asked": False}
        await asyncio.gather(
            pipe(client_reader, server_writer, state, delay, False),
            pipe(server_reader, client_writer, state, delay, True),
        )

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
