"""Proxying to a Fargate task as the ALB would: streams, WebSockets, ALB errors.

Request and response bodies are streamed chunk by chunk (server-sent
events and chunked responses arrive as they are produced); a WebSocket
upgrade is accepted and relayed frame by frame; a target that refuses the
connection gets the ALB's 502 page, one that does not answer within the
idle timeout its 504 page.
"""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
from aiohttp import web

from gateway.aws.headers import edge_response_headers, strip_hop_by_hop

IDLE_TIMEOUT = 60.0  # the ALB's default idle timeout
SMALL_BODY = 64 * 1024  # sized responses up to this are sent in one piece
_WS_HANDSHAKE = {
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "connection",
    "upgrade",
    "host",
    "content-length",
}


def alb_error_page(status: int, cf_id: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """The ALB's own error page (``Server: awselb/2.0``), passed on by CloudFront:
    (status line text such as ``502 Bad Gateway``, headers, body)."""
    title = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out"}[
        status
    ]
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    headers = edge_response_headers(
        [("content-type", "text/html"), ("server", "awselb/2.0")], cf_id=cf_id, error=True
    )
    return title, headers, body.encode()


def alb_error(status: int, cf_id: str) -> web.Response:
    _, headers, body = alb_error_page(status, cf_id)
    response = web.Response(status=status, body=body)
    for name, value in headers:
        response.headers[name] = value
    return response


def is_websocket(request: web.Request) -> bool:
    return request.headers.get("upgrade", "").lower() == "websocket"


async def proxy_http(
    request: web.Request,
    session: aiohttp.ClientSession,
    url: str,
    headers: list[tuple[str, str]],
    cf_id: str,
    idle_timeout: float = IDLE_TIMEOUT,
) -> tuple[web.StreamResponse, int]:
    """Stream ``request`` to ``url`` and the answer back; returns (response, status)."""
    body = request.content if request.body_exists else None
    try:
        upstream_cm = session.request(
            request.method,
            url,
            headers=headers,
            data=body,
            allow_redirects=False,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=idle_timeout),
        )
        upstream = await upstream_cm.__aenter__()
    except asyncio.TimeoutError:
        return alb_error(504, cf_id), 504
    except aiohttp.ClientError:
        return alb_error(502, cf_id), 502
    try:
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in upstream.raw_headers]
        headers_out = edge_response_headers(strip_hop_by_hop(raw), cf_id=cf_id)
        length = upstream.content_length
        if length is not None and length <= SMALL_BODY:  # small and sized: one write, no chunking
            small = web.Response(status=upstream.status, reason=upstream.reason, body=await upstream.read())
            small.headers.clear()
            for name, value in headers_out:
                small.headers.add(name, value)
            return small, upstream.status
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for name, value in headers_out:
            response.headers.add(name, value)
        if length is None and request.method != "HEAD":
            response.enable_chunked_encoding()
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError, ConnectionResetError):
            await response.prepare(request)  # the viewer may already be gone
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
        return response, upstream.status
    finally:
        await upstream_cm.__aexit__(None, None, None)


async def proxy_websocket(
    request: web.Request, session: aiohttp.ClientSession, url: str, headers: list[tuple[str, str]], cf_id: str
) -> tuple[web.StreamResponse, int]:
    protocols = [p.strip() for p in request.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    forward = [(n, v) for n, v in headers if n.lower() not in _WS_HANDSHAKE]
    try:
        upstream = await session.ws_connect(
            url.replace("http://", "ws://", 1),
            headers=forward,
            protocols=protocols,
            autoclose=False,
            autoping=True,
        )
    except asyncio.TimeoutError:
        return alb_error(504, cf_id), 504
    except aiohttp.ClientError:
        return alb_error(502, cf_id), 502
    downstream = web.WebSocketResponse(protocols=protocols, autoclose=False, autoping=True)
    await downstream.prepare(request)

    async def pump(
        source: aiohttp.ClientWebSocketResponse | web.WebSocketResponse,
        sink: aiohttp.ClientWebSocketResponse | web.WebSocketResponse,
    ) -> None:
        async for message in source:
            if message.type == aiohttp.WSMsgType.TEXT:
                await sink.send_str(message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await sink.send_bytes(message.data)
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.ERROR):
                break
        await sink.close()

    tasks = [
        asyncio.ensure_future(pump(downstream, upstream)),
        asyncio.ensure_future(pump(upstream, downstream)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await upstream.close()
        await downstream.close()
    return downstream, 101
