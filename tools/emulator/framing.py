r"""Device-side framing of the ESPHome native API (sans I/O).

Mirrors the client helpers in ``aioesphomeapi/_frame_helper/`` from the other
end of the socket:

* plaintext: ``0x00``, varint payload length, varint message type, payload;
* Noise (``Noise_NNpsk0_25519_ChaChaPoly_SHA256``, prologue
  ``b"NoiseAPIInit\x00\x00"``, PSK = the base64-decoded API key): every
  frame is ``0x01`` + 2-byte big-endian length + body. The client opens with an
  empty frame (its "hello") and a handshake frame (``0x00`` + Noise message);
  the device answers with its server hello (``0x01`` = chosen protocol, the
  device name, NUL, the MAC, NUL) and a handshake frame (``0x00`` + Noise
  message), or ``0x01`` + ``"Handshake MAC failure"`` when the PSK is wrong.
  Data frames are encrypted ``type (2 bytes) + length (2 bytes) + payload``.

A framer is fed raw bytes and returns decoded ``(type, payload)`` messages
plus the bytes to send back; it never touches a socket.
"""

from __future__ import annotations

import base64
import binascii

from noise.connection import NoiseConnection

NOISE_PROTOCOL_NAME = b"Noise_NNpsk0_25519_ChaChaPoly_SHA256"
NOISE_PROLOGUE = b"NoiseAPIInit\x00\x00"
HANDSHAKE_MAC_FAILURE = b"Handshake MAC failure"
# Noise frames carry a 16-bit length; ChaChaPoly adds a 16-byte tag and the
# inner header is 4 bytes.
MAX_NOISE_PAYLOAD = 0xFFFF - 16 - 4
# Refuse absurd plaintext frames instead of buffering them.
MAX_PLAINTEXT_PAYLOAD = 1 << 20

Message = tuple[int, bytes]


class FrameError(Exception):
    """The peer sent something that is not this protocol; close the connection."""


def varint(value: int) -> bytes:
    """Encode an unsigned varint."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(buffer: bytes | bytearray, pos: int) -> tuple[int, int] | None:
    """Return (value, next position), or None when the buffer ends mid-varint."""
    result = 0
    shift = 0
    while pos < len(buffer):
        byte = buffer[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 35:
            raise FrameError("varint too long")
    return None


def decode_psk(key: str) -> bytes:
    """Return the 32-byte PSK of a base64 API encryption key."""
    try:
        psk = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError("the API key is not valid base64") from err
    if len(psk) != 32:
        raise ValueError("the API key must be 32 bytes, base64 encoded")
    return psk


class PlaintextFramer:
    """Plaintext framing, device side."""

    encrypted = False

    def __init__(self) -> None:
        """Start with an empty buffer."""
        self._buffer = bytearray()

    def feed(self, data: bytes) -> tuple[list[Message], bytes, bool]:
        """Consume bytes; return (messages, bytes to send, close after sending)."""
        self._buffer += data
        messages: list[Message] = []
        while self._buffer:
            if self._buffer[0] != 0x00:
                # 0x01 is a Noise client talking to a plaintext device: the
                # real firmware just drops it, and so does the client side
                # report "requires encryption" to the user.
                raise FrameError(f"unexpected preamble 0x{self._buffer[0]:02x}")
            length = _read_varint(self._buffer, 1)
            if length is None:
                break
            if length[0] > MAX_PLAINTEXT_PAYLOAD:
                raise FrameError("frame too large")
            msg_type = _read_varint(self._buffer, length[1])
            if msg_type is None:
                break
            end = msg_type[1] + length[0]
            if len(self._buffer) < end:
                break
            messages.append((msg_type[0], bytes(self._buffer[msg_type[1] : end])))
            del self._buffer[:end]
        return messages, b"", False

    def encode(self, messages: list[Message]) -> bytes:
        """Frame messages for sending."""
        out = bytearray()
        for msg_type, payload in messages:
            out += b"\x00" + varint(len(payload)) + varint(msg_type) + payload
        return bytes(out)


BAD_INDICATOR = b"Bad indicator byte"

_HELLO = 0
_HANDSHAKE = 1
_READY = 2
_FAILED = 3


class NoiseFramer:
    """Noise framing, device (responder) side."""

    encrypted = True

    def __init__(self, psk: bytes, name: str, mac: str) -> None:
        """Prepare the handshake with the device's PSK, name and MAC (12 hex digits)."""
        self._buffer = bytearray()
        self._state = _HELLO
        self._server_hello = b"\x01" + name.encode() + b"\x00" + mac.encode() + b"\x00"
        proto = NoiseConnection.from_name(NOISE_PROTOCOL_NAME)
        proto.set_as_responder()
        proto.set_psks(psk)
        proto.set_prologue(NOISE_PROLOGUE)
        proto.start_handshake()
        self._proto = proto

    @staticmethod
    def _frame(body: bytes) -> bytes:
        if len(body) > 0xFFFF:
            raise FrameError("noise frame too large")
        return bytes((0x01, len(body) >> 8, len(body) & 0xFF)) + body

    def feed(self, data: bytes) -> tuple[list[Message], bytes, bool]:
        """Consume bytes; return (messages, bytes to send, close after sending)."""
        if self._state == _FAILED:
            return [], b"", True
        self._buffer += data
        messages: list[Message] = []
        out = bytearray()
        while len(self._buffer) >= 3:
            if self._buffer[0] != 0x01:
                if self._state == _HELLO:
                    # A plaintext client: refuse the way ESPHome does, with a Noise
                    # frame, so that the client knows encryption is required.
                    self._state = _FAILED
                    return [], self._frame(b"\x01" + BAD_INDICATOR), True
                raise FrameError(
                    f"unexpected preamble 0x{self._buffer[0]:02x} (plaintext client?)"
                )
            size = (self._buffer[1] << 8) | self._buffer[2]
            if len(self._buffer) < 3 + size:
                break
            body = bytes(self._buffer[3 : 3 + size])
            del self._buffer[: 3 + size]
            if self._state == _HELLO:
                # The client hello frame is empty; answer with the server hello.
                out += self._frame(self._server_hello)
                self._state = _HANDSHAKE
            elif self._state == _HANDSHAKE:
                if not body or body[0] != 0x00:
                    raise FrameError("bad handshake frame")
                try:
                    self._proto.read_message(body[1:])
                    reply = self._proto.write_message()
                except Exception:  # noqa: BLE001 - any failure here is a bad PSK
                    out += self._frame(b"\x01" + HANDSHAKE_MAC_FAILURE)
                    self._state = _FAILED
                    return messages, bytes(out), True
                out += self._frame(b"\x00" + reply)
                self._state = _READY
            else:
                try:
                    plain = self._proto.decrypt(body)
                except Exception as err:
                    raise FrameError("decryption failed") from err
                if len(plain) < 4:
                    raise FrameError("decrypted message too short")
                messages.append(((plain[0] << 8) | plain[1], bytes(plain[4:])))
        return messages, bytes(out), False

    def encode(self, messages: list[Message]) -> bytes:
        """Encrypt and frame messages for sending."""
        out = bytearray()
        for msg_type, payload in messages:
            if len(payload) > MAX_NOISE_PAYLOAD:
                raise FrameError("message too large for a noise frame")
            header = bytes(
                (msg_type >> 8, msg_type & 0xFF, len(payload) >> 8, len(payload) & 0xFF)
            )
            out += self._frame(self._proto.encrypt(header + payload))
        return bytes(out)
