"""A small in-process MQTT 3.1.1 broker for ``cosactl dev`` when mosquitto is not installed.

It supports what a development session needs: CONNECT/CONNACK, PUBLISH at QoS 0 and 1 (QoS 2
is accepted inbound and delivered at QoS 1), SUBSCRIBE/UNSUBSCRIBE with ``+`` and ``#``,
retained messages, last wills, keepalive, PINGREQ and DISCONNECT. It has no authentication
(any credentials are accepted), no TLS or websockets, no MQTT 5, no persistent sessions
(every session is clean: nothing is queued for a client that is offline) and no ``$SYS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field

__all__ = ["PyBroker", "topic_matches"]

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = range(8, 15)

_MAX_BUFFER = 16 * 1024 * 1024  # a client that reads nothing is dropped past this backlog
_CONNECT_TIMEOUT = 10.0


class ProtocolError(Exception):
    """The peer broke the protocol; its connection is closed."""


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether *topic* matches *topic_filter* (``+`` one level, ``#`` the rest)."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    parts = topic.split("/")
    wanted = topic_filter.split("/")
    for index, level in enumerate(wanted):
        if level == "#":
            return True
        if index >= len(parts):
            return False
        if level not in ("+", parts[index]):
            return False
    return len(parts) == len(wanted)


def _string(data: bytes, pos: int) -> tuple[bytes, int]:
    if pos + 2 > len(data):
        raise ProtocolError("truncated string")
    (length,) = struct.unpack_from("!H", data, pos)
    end = pos + 2 + length
    if end > len(data):
        raise ProtocolError("truncated string")
    return data[pos + 2 : end], end


def _encode_string(value: bytes) -> bytes:
    return struct.pack("!H", len(value)) + value


def _packet(kind: int, flags: int, body: bytes) -> bytes:
    length = len(body)
    header = bytearray([kind << 4 | flags])
    while True:
        byte, length = length % 128, length // 128
        header.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(header) + body


@dataclass
class _Will:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(eq=False)
class _Session:
    client_id: str
    writer: asyncio.StreamWriter
    subscriptions: dict[str, int] = field(default_factory=dict)
    will: _Will | None = None
    next_id: int = 0

    def packet_id(self) -> int:
        self.next_id = self.next_id % 65535 + 1
        return self.next_id

    def send(self, data: bytes) -> None:
        transport = self.writer.transport
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() > _MAX_BUFFER:
            transport.abort()
            return
        self.writer.write(data)


class PyBroker:
    """The broker: ``await start()`` listens on *host*:*port*, ``await stop()`` closes all."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._sessions: dict[str, _Session] = {}
        self._retained: dict[str, tuple[bytes, int]] = {}
        self._handlers: set[asyncio.Task[None]] = set()
        self._anonymous = 0

    async def start(self) -> None:
        """Listen for clients (port 0 picks a free one, stored in ``port``)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions.values()):
            session.will = None
            session.writer.transport.abort()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    # -- one connection -----------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        session: _Session | None = None
        clean = False
        try:
            kind, _, body = await asyncio.wait_for(_read_packet(reader), _CONNECT_TIMEOUT)
            if kind != CONNECT:
                raise ProtocolError("first packet is not CONNECT")
            session, keepalive = self._connect(body, writer)
            if session is None:
                return
            timeout = keepalive * 1.5 if keepalive else None
            while True:
                kind, flags, body = await asyncio.wait_for(_read_packet(reader), timeout)
                if kind == DISCONNECT:
                    clean = True
                    return
                self._handle(session, kind, flags, body)
        except (
            ProtocolError,
            TimeoutError,
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.CancelledError,
        ):
            pass
        finally:
            self._handlers.discard(task)
            if session is not None and self._sessions.get(session.client_id) is session:
                del self._sessions[session.client_id]
                if session.will is not None and not clean:
                    will = session.will
                    self._publish(will.topic, will.payload, will.qos, will.retain)
            if clean:
                writer.close()
            else:
                writer.transport.abort()

    def _connect(self, body: bytes, writer: asyncio.StreamWriter) -> tuple[_Session | None, int]:
        name, pos = _string(body, 0)
        if pos + 4 > len(body):
            raise ProtocolError("truncated CONNECT")
        level, flags = body[pos], body[pos + 1]
        (keepalive,) = struct.unpack_from("!H", body, pos + 2)
        if (name, level) not in ((b"MQTT", 4), (b"MQIsdp", 3)):
            writer.write(_packet(CONNACK, 0, b"\x00\x01"))  # unacceptable protocol version
            return None, 0
        raw_id, pos = _string(body, pos + 4)
        client_id = raw_id.decode("utf-8", "replace")
        if not client_id:
            self._anonymous += 1
            client_id = f"pybroker-anonymous-{self._anonymous}"
        will: _Will | None = None
        if flags & 0x04:
            topic, pos = _string(body, pos)
            payload, pos = _string(body, pos)
            will = _Will(topic.decode(), payload, min((flags >> 3) & 0x03, 1), bool(flags & 0x20))
        old = self._sessions.pop(client_id, None)
        if old is not None:
            old.writer.transport.abort()  # a client id is connected once: the newer one wins
        session = _Session(client_id, writer, will=will)
        self._sessions[client_id] = session
        writer.write(_packet(CONNACK, 0, b"\x00\x00"))
        return session, keepalive

    def _handle(self, session: _Session, kind: int, flags: int, body: bytes) -> None:
        if kind == PUBLISH:
            qos = (flags >> 1) & 0x03
            topic, pos = _string(body, 0)
            packet_id = b""
            if qos:
                packet_id, pos = body[pos : pos + 2], pos + 2
            if qos == 1:
                session.send(_packet(PUBACK, 0, packet_id))
            elif qos == 2:
                session.send(_packet(PUBREC, 0, packet_id))
            self._publish(topic.decode("utf-8", "replace"), body[pos:], min(qos, 1), flags & 1 == 1)
        elif kind == PUBREL:
            session.send(_packet(PUBCOMP, 0, body[:2]))
        elif kind == SUBSCRIBE:
            self._subscribe(session, body)
        elif kind == UNSUBSCRIBE:
            pos = 2
            while pos < len(body):
                raw, pos = _string(body, pos)
                session.subscriptions.pop(raw.decode("utf-8", "replace"), None)
            session.send(_packet(UNSUBACK, 0, body[:2]))
        elif kind == PINGREQ:
            session.send(_packet(PINGRESP, 0, b""))
        elif kind in (PUBACK, PUBREC, PUBCOMP):
            if kind == PUBREC:
                session.send(_packet(PUBREL, 2, body[:2]))
        else:
            raise ProtocolError(f"unexpected packet type {kind}")

    def _subscribe(self, session: _Session, body: bytes) -> None:
        pos, granted, filters = 2, bytearray(), []
        while pos < len(body):
            raw, pos = _string(body, pos)
            if pos >= len(body):
                raise ProtocolError("SUBSCRIBE without QoS")
            qos = min(body[pos] & 0x03, 1)
            pos += 1
            topic_filter = raw.decode("utf-8", "replace")
            if not _valid_filter(topic_filter):
                granted.append(0x80)
                continue
            session.subscriptions[topic_filter] = qos
            granted.append(qos)
            filters.append((topic_filter, qos))
        session.send(_packet(SUBACK, 0, body[:2] + bytes(granted)))
        for topic, (payload, msg_qos) in list(self._retained.items()):
            for topic_filter, qos in filters:
                if topic_matches(topic_filter, topic):
                    self._deliver(session, topic, payload, min(qos, msg_qos), retain=True)
                    break

    # -- routing ------------------------------------------------------------------------

    def _publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        if retain:
            if payload:
                self._retained[topic] = (payload, qos)
            else:
                self._retained.pop(topic, None)
        for session in list(self._sessions.values()):
            best = -1
            for topic_filter, sub_qos in session.subscriptions.items():
                if sub_qos > best and topic_matches(topic_filter, topic):
                    best = sub_qos
            if best >= 0:
                self._deliver(session, topic, payload, min(best, qos), retain=False)

    def _deliver(
        self, session: _Session, topic: str, payload: bytes, qos: int, *, retain: bool
    ) -> None:
        body = _encode_string(topic.encode())
        if qos:
            body += struct.pack("!H", session.packet_id())
        session.send(_packet(PUBLISH, qos << 1 | int(retain), body + payload))


def _valid_filter(topic_filter: str) -> bool:
    if not topic_filter:
        return False
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


async def _read_packet(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
    first = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    for _ in range(4):
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    else:
        raise ProtocolError("malformed remaining length")
    body = await reader.readexactly(length) if length else b""
    return first >> 4, first & 0x0F, body
