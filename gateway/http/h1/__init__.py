"""HTTP/1.1 without I/O: bytes in, events out (llhttp through ``httptools``).

``request_reader`` frames what a viewer (or a Lambda runtime) sends;
``response_reader`` frames what a task answers; ``writer`` makes the bytes of
the heads and bodies the engine sends. None knows of sockets or asyncio; their
tests are byte tables.
"""
