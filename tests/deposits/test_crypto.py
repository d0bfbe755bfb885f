"""The encryption format of deposits (docs/deposit-format.md): round trips and every tampering detected."""

import base64
import hashlib
import io
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from deposits import crypto
from deposits.crypto import (
    HEADER_SIZE,
    SEGMENT_SIZE,
    TAG_SIZE,
    DecryptionError,
    StreamEncryptor,
    WrongKeyError,
    data_key_new,
    decrypt_stream,
    encrypt_stream,
    encrypted_size,
    key_file_document,
    key_fingerprint,
    unwrap_key,
    wrap_key,
)
from tests.deposits import rsa_key, self_signed

SEG = 1024  # the smallest segment size the format allows keeps the tests fast
KEY = bytes(range(32))
PREFIX = bytes.fromhex("a0a1a2a3a4a5a6")
FORMAT_DOC = Path(__file__).resolve().parents[2] / "docs" / "deposit-format.md"


def encrypt(
    plaintext: bytes, *, segment_size: int = SEG, key: bytes = KEY, prefix: bytes | None = PREFIX
) -> bytes:
    encryptor = StreamEncryptor(key, segment_size, nonce_prefix=prefix)
    return encryptor.header + encryptor.update(plaintext) + encryptor.finalize()


def decrypt(encrypted: bytes, key: bytes = KEY) -> bytes:
    return b"".join(decrypt_stream(io.BytesIO(encrypted), key))


def decrypt_until_failure(encrypted: bytes, key: bytes = KEY) -> tuple[bytes, DecryptionError]:
    """What a reader got before the error, and the error."""
    received = []
    with pytest.raises(DecryptionError) as failure:
        for plaintext in decrypt_stream(io.BytesIO(encrypted), key):
            received.append(plaintext)
    return b"".join(received), failure.value


def split(encrypted: bytes, segment_size: int = SEG) -> tuple[bytes, list[bytes]]:
    body, step = encrypted[HEADER_SIZE:], segment_size + TAG_SIZE
    return encrypted[:HEADER_SIZE], [body[i : i + step] for i in range(0, len(body), step)]


def reference_encrypt(plaintext: bytes, key: bytes, segment_size: int, prefix: bytes) -> bytes:
    """The format as the document states it, written without deposits.crypto."""
    header = b"SDMPENC1" + struct.pack(">I", segment_size) + prefix + b"\x01"
    chunks = [plaintext[i : i + segment_size] for i in range(0, len(plaintext), segment_size)] or [b""]
    out = [header]
    for index, chunk in enumerate(chunks):
        nonce = prefix + struct.pack(">I", index) + (b"\x01" if index == len(chunks) - 1 else b"\x00")
        out.append(AESGCM(key).encrypt(nonce, chunk, header))
    return b"".join(out)


def pattern(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))


# Round trips


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 3 * SEG + 5])
def test_a_file_of_any_size_comes_back_identical_with_the_expected_segments(size):
    plaintext = pattern(size)

    encrypted = encrypt(plaintext)

    assert decrypt(encrypted) == plaintext
    assert len(encrypted) == encrypted_size(size, SEG)
    _, segments = split(encrypted)
    assert len(segments) == max(1, -(-size // SEG))
    assert len(segments[-1]) == (size - (len(segments) - 1) * SEG) + TAG_SIZE


def test_an_empty_file_is_one_last_segment_holding_only_a_tag():
    header, segments = split(encrypt(b""))

    assert [len(s) for s in segments] == [TAG_SIZE]
    assert decrypt(header + segments[0]) == b""


def test_a_file_of_whole_segments_ends_with_a_full_last_segment_and_no_empty_one():
    _, segments = split(encrypt(pattern(3 * SEG)))

    assert [len(s) for s in segments] == [SEG + TAG_SIZE] * 3


@pytest.mark.parametrize("size", [0, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 3 * SEGMENT_SIZE + 17])
def test_the_platform_segment_size_round_trips_through_encrypt_stream(size):
    plaintext = pattern(size)
    key = data_key_new()
    chunks = [plaintext[i : i + 10_000] for i in range(0, size, 10_000)]

    encrypted = b"".join(encrypt_stream(chunks, key))

    assert encrypted[:8] == b"SDMPENC1" and encrypted[8:12] == struct.pack(">I", SEGMENT_SIZE)
    assert len(encrypted) == encrypted_size(size)
    assert decrypt(encrypted, key) == plaintext


@settings(max_examples=150, deadline=None)
@given(plaintext=st.binary(max_size=5 * SEG + 3), data=st.data())
def test_any_chunking_of_the_input_gives_the_same_file_as_the_format_describes(plaintext, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(plaintext)), max_size=12)))
    chunks = [plaintext[a:b] for a, b in zip([0, *cuts], [*cuts, len(plaintext)], strict=True)]
    encryptor = StreamEncryptor(KEY, SEG, nonce_prefix=PREFIX)

    emitted = [encryptor.update(chunk) for chunk in chunks]
    encrypted = encryptor.header + b"".join(emitted) + encryptor.finalize()

    assert all(len(e) % (SEG + TAG_SIZE) == 0 for e in emitted)  # only whole segments before finalize()
    assert encrypted == reference_encrypt(plaintext, KEY, SEG, PREFIX)
    assert decrypt(encrypted) == plaintext
    assert encryptor.plaintext_size == len(plaintext)
    assert encryptor.plaintext_sha256 == hashlib.sha256(plaintext).hexdigest()


@settings(max_examples=50, deadline=None)
@given(plaintext=st.binary(max_size=4 * SEG), most=st.integers(1, SEG + 40))
def test_decryption_copes_with_a_source_that_returns_short_reads(plaintext, most):
    source = io.BytesIO(encrypt(plaintext))

    def read(size):
        return source.read(min(size, most))

    assert b"".join(decrypt_stream(read, KEY)) == plaintext


def test_the_sha256_of_the_plaintext_is_only_given_once_the_file_is_complete():
    encryptor = StreamEncryptor(KEY, SEG)
    encryptor.update(b"offre")

    with pytest.raises(RuntimeError):
        _ = encryptor.plaintext_sha256
    encryptor.finalize()
    assert encryptor.plaintext_sha256 == hashlib.sha256(b"offre").hexdigest()
    with pytest.raises(RuntimeError):
        encryptor.update(b"encore")


def test_each_file_gets_its_own_key_and_nonce_prefix():
    assert data_key_new() != data_key_new()
    assert StreamEncryptor(KEY).header[12:19] != StreamEncryptor(KEY).header[12:19]


def test_segment_sizes_outside_the_format_are_refused_when_writing():
    for size in (SEG - 1, 16 * 1024 * 1024 + 1):
        with pytest.raises(ValueError):
            StreamEncryptor(KEY, size)


def test_a_file_never_gets_more_than_2_to_the_32_segments():
    encryptor = StreamEncryptor(KEY, SEG)
    encryptor._index = 2**32 - 1  # reaching it for real would take 4 TiB at this segment size

    with pytest.raises(ValueError):
        encryptor.update(pattern(SEG + 1))


# The known-answer vectors of the document


VECTORS = {
    "empty": (b"", "53444d50454e433100000400a0a1a2a3a4a5a60173d0fdd301a74e79e9a319c7753a8696"),
    "short": (
        b"Offre de prix\n",
        "53444d50454e433100000400a0a1a2a3a4a5a60138072f6cdd2684a52315aa46b78412e907cde2ba7edc07f61d9c00ff33f4",
    ),
}
DIGEST_VECTORS = {  # plaintext size: (encrypted size, SHA-256 of the encrypted file, tags)
    2500: (
        2568,
        "200f9f48456d6c7ced71a88077adec40473ba872349e1fa8c864a779218e3481",
        [
            "5c9f35c116354b3c1e8d59fea73efca8",
            "377597cf06a2db39a30bb1d1d9dd57f0",
            "eca8c6e0fc9c6ad90b2d18d73a8da565",
        ],
    ),
    2048: (
        2100,
        "a5871323cfe15d1e841d45b97564da3c6550e91ab5652135d1c35ac06d5f6714",
        ["5c9f35c116354b3c1e8d59fea73efca8", "29f9beb91440128c03bb1c009769e711"],
    ),
}


def test_the_known_answer_vectors_of_the_document_hold_and_are_in_it():
    document = FORMAT_DOC.read_text(encoding="utf-8")

    for plaintext, expected in VECTORS.values():
        assert encrypt(plaintext).hex() == expected
        assert decrypt(bytes.fromhex(expected)) == plaintext
        assert expected in document
    for size, (length, digest, tags) in DIGEST_VECTORS.items():
        encrypted = encrypt(pattern(size))
        assert (len(encrypted), hashlib.sha256(encrypted).hexdigest()) == (length, digest)
        assert [s[-TAG_SIZE:].hex() for s in split(encrypted)[1]] == tags
        assert digest in document and all(tag in document for tag in tags)


# Tampering: each change is detected, and nothing of a failing segment comes out

PLAINTEXT = pattern(3 * SEG + 100)  # four segments, the last one partial


@pytest.fixture
def encrypted():
    return encrypt(PLAINTEXT)


@pytest.mark.parametrize(("a", "b"), [(0, 1), (1, 2), (2, 3)])
def test_swapping_two_segments_is_detected(encrypted, a, b):
    header, segments = split(encrypted)
    segments[a], segments[b] = segments[b], segments[a]

    received, error = decrypt_until_failure(header + b"".join(segments))

    assert error.segment == a
    assert received == PLAINTEXT[: a * SEG]


@pytest.mark.parametrize("dropped", [0, 1, 2])
def test_dropping_a_segment_is_detected(encrypted, dropped):
    header, segments = split(encrypted)
    del segments[dropped]

    received, error = decrypt_until_failure(header + b"".join(segments))

    assert error.segment == dropped
    assert received == PLAINTEXT[: dropped * SEG]


def test_dropping_the_last_segment_is_detected_as_truncation(encrypted):
    header, segments = split(encrypted)

    received, error = decrypt_until_failure(header + b"".join(segments[:-1]))

    assert error.segment == 2
    assert received == PLAINTEXT[: 2 * SEG]
    assert str(error) == "Le fichier chiffré est altéré ou tronqué (segment 2)."


@pytest.mark.parametrize("cut", [1, TAG_SIZE, 100 + TAG_SIZE - 1])
def test_cutting_the_end_of_the_last_segment_is_detected(encrypted, cut):
    received, error = decrypt_until_failure(encrypted[:-cut])

    assert error.segment == 3
    assert received == PLAINTEXT[: 3 * SEG]


@pytest.mark.parametrize("keep", [0, 5, HEADER_SIZE - 1, HEADER_SIZE])
def test_a_file_cut_in_or_right_after_its_header_is_refused(encrypted, keep):
    received, _ = decrypt_until_failure(encrypted[:keep])

    assert received == b""


@pytest.mark.parametrize("extra", ["first segment again", "one byte", "a tag"])
def test_appending_after_the_last_segment_is_detected(encrypted, extra):
    header, segments = split(encrypted)
    tail = {"first segment again": segments[0], "one byte": b"\x00", "a tag": segments[-1][-TAG_SIZE:]}[extra]

    received, error = decrypt_until_failure(encrypted + tail)

    assert error.segment == 3
    assert received == PLAINTEXT[: 3 * SEG]


def test_a_longer_file_cut_at_a_segment_boundary_is_not_taken_for_a_shorter_one():
    # GIVEN two files under the same key and nonce prefix, the shorter a prefix of the longer
    longer, shorter = encrypt(pattern(4 * SEG)), encrypt(pattern(2 * SEG))
    assert split(longer)[1][0] == split(shorter)[1][0]  # same first segment, byte for byte

    # WHEN the longer one is cut after two segments, or the shorter one is given the longer's tail
    cut = longer[: HEADER_SIZE + 2 * (SEG + TAG_SIZE)]
    extended = shorter + longer[HEADER_SIZE + 2 * (SEG + TAG_SIZE) :]

    # THEN the last-segment flag of the nonce gives both away
    assert decrypt_until_failure(cut)[1].segment == 1
    assert decrypt_until_failure(extended)[1].segment == 1


@pytest.mark.parametrize("position", range(HEADER_SIZE))
def test_any_bit_flipped_in_the_header_is_detected_before_any_plaintext(encrypted, position):
    altered = bytearray(encrypted)
    altered[position] ^= 0x01

    received, _ = decrypt_until_failure(bytes(altered))

    assert received == b""


@pytest.mark.parametrize("segment", range(4))
@pytest.mark.parametrize("where", ["first byte", "last ciphertext byte", "tag"])
def test_a_bit_flipped_in_a_segment_is_detected_and_nothing_of_it_comes_out(encrypted, segment, where):
    _, segments = split(encrypted)
    start, end = (
        HEADER_SIZE + segment * (SEG + TAG_SIZE),
        HEADER_SIZE + segment * (SEG + TAG_SIZE) + len(segments[segment]),
    )
    position = {"first byte": start, "last ciphertext byte": end - TAG_SIZE - 1, "tag": end - 3}[where]
    altered = bytearray(encrypted)
    altered[position] ^= 0x80

    received, error = decrypt_until_failure(bytes(altered))

    assert error.segment == segment
    assert received == PLAINTEXT[: segment * SEG]


@pytest.mark.parametrize("segment_size", [2 * SEG, SEG - 1, 0, 2**32 - 1])
def test_a_changed_segment_size_in_the_header_is_detected(encrypted, segment_size):
    altered = encrypted[:8] + struct.pack(">I", segment_size) + encrypted[12:]

    received, _ = decrypt_until_failure(altered)

    assert received == b""


def test_another_data_key_opens_nothing(encrypted):
    received, error = decrypt_until_failure(encrypted, key=data_key_new())

    assert (received, error.segment) == (b"", 0)


def test_a_file_that_is_not_ours_gets_a_plain_message():
    _, error = decrypt_until_failure(b"%PDF-1.7\n" + bytes(100))

    assert str(error) == "Ce fichier n'est pas un fichier chiffré de la plateforme."


def test_an_unknown_format_version_is_named():
    altered = encrypt(b"x")[:19] + b"\x02" + encrypt(b"x")[20:]

    _, error = decrypt_until_failure(altered)

    assert "version de format inconnue (2)" in str(error)


# Opening keys


def test_the_data_key_is_wrapped_for_each_opening_key_and_each_unwraps_it():
    key = data_key_new()
    buyer, backup = rsa_key("acheteur"), rsa_key("secours")

    wrapped = [wrap_key(key, k.public_key()) for k in (buyer, backup)]

    assert [unwrap_key(w, k) for w, k in zip(wrapped, (buyer, backup), strict=True)] == [key, key]
    assert all(len(w) == 384 for w in wrapped)  # RSA-OAEP output is the modulus size
    assert wrapped[0] != wrap_key(key, buyer.public_key())  # OAEP is randomised


def test_the_wrong_private_key_raises_wrong_key_error():
    wrapped = wrap_key(data_key_new(), rsa_key("acheteur").public_key())

    with pytest.raises(WrongKeyError) as failure:
        unwrap_key(wrapped, rsa_key("secours"))

    assert str(failure.value) == "Cette clé ne permet pas d'ouvrir ce fichier."
    assert isinstance(failure.value, DecryptionError)


@pytest.mark.parametrize("damage", ["bit flipped", "truncated", "empty"])
def test_a_damaged_wrapped_key_raises_wrong_key_error(damage):
    wrapped = bytearray(wrap_key(data_key_new(), rsa_key("acheteur").public_key()))
    wrapped[10] ^= 0x01
    damaged = {"bit flipped": bytes(wrapped), "truncated": bytes(wrapped[:-1]), "empty": b""}[damage]

    with pytest.raises(WrongKeyError):
        unwrap_key(damaged, rsa_key("acheteur"))


def test_a_2048_bit_key_is_refused_for_wrapping():
    with pytest.raises(ValueError, match="au moins 3072 bits"):
        wrap_key(data_key_new(), rsa_key("petite", 2048).public_key())


def test_the_fingerprint_is_the_sha256_of_the_der_public_key_whatever_form_the_key_comes_in():
    private = rsa_key("acheteur")
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    fingerprint = key_fingerprint(private.public_key())

    assert fingerprint == hashlib.sha256(der).hexdigest()
    assert fingerprint == key_fingerprint(private) == key_fingerprint(self_signed(private))
    assert fingerprint != key_fingerprint(rsa_key("secours").public_key())


def test_the_key_file_is_the_documented_utf8_json():
    buyer = rsa_key("acheteur")
    wrapped = wrap_key(KEY, buyer.public_key())

    document = key_file_document(
        name="Mémoire technique.pdf",
        size=2500,
        sha256=hashlib.sha256(pattern(2500)).hexdigest(),
        recipients=[(key_fingerprint(buyer), wrapped)],
    )

    assert "Mémoire".encode() in document
    parsed = json.loads(document.decode("utf-8"))
    assert parsed == {
        "format": "sdmp-enc-1",
        "name": "Mémoire technique.pdf",
        "size": 2500,
        "sha256": hashlib.sha256(pattern(2500)).hexdigest(),
        "recipients": [
            {"fingerprint": key_fingerprint(buyer), "wrapped_key": base64.b64encode(wrapped).decode()}
        ],
    }
    assert unwrap_key(base64.b64decode(parsed["recipients"][0]["wrapped_key"]), buyer) == KEY


@pytest.mark.parametrize(
    "fields",
    [{"sha256": "ABC"}, {"recipients": []}, {"recipients": [("pas une empreinte", b"x")]}],
)
def test_a_malformed_key_file_is_refused_when_writing(fields):
    values = {"name": "a.pdf", "size": 1, "sha256": None, "recipients": [("0" * 64, b"x")]} | fields

    with pytest.raises(ValueError):
        key_file_document(**values)


def test_the_module_constants_match_the_document():
    assert (crypto.SEGMENT_SIZE, crypto.HEADER_SIZE, crypto.TAG_SIZE) == (65536, 20, 16)
    assert (crypto.SEGMENT_SIZE_MIN, crypto.SEGMENT_SIZE_MAX) == (1024, 16 * 1024 * 1024)
