"""Benchmark of the encryption of deposits (deposits/crypto.py): throughput and memory.

    .venv/bin/python bench/deposit_crypto.py [--mib 256] [--chunk-kib 1024] [--runs 5] [--dir var/bench]

Writes a source file of ``--mib`` MiB of random bytes in ``--dir``, then times, side by
side on that disk and in alternation (``--runs`` rounds, median kept):
- a plain copy of the file, read and written by chunks of ``--chunk-kib`` KiB;
- encryption of the same stream through ``StreamEncryptor`` (the push API the upload
  handler uses: one ``update()`` per received chunk);
- decryption with every segment verified through ``decrypt_stream``.
Each ends with fsync, so all three pay for the disk. Prints MiB/s and the ratio to the
copy (target for issue 5: at least 0.5), then, in a second pass under tracemalloc, the
peak Python memory of encryption and decryption, and the process's maximum resident
size: both stay flat, a few chunks, whatever ``--mib`` is. Figures are printed, never
asserted. Needs no database and no Django settings.
"""

import argparse
import hashlib
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cryptography  # noqa: E402
from cryptography.hazmat.backends.openssl import backend  # noqa: E402

from deposits.crypto import SEGMENT_SIZE, StreamEncryptor, data_key_new, decrypt_stream, encrypted_size  # noqa: E402

MIB = 1024 * 1024


def write_source(path: Path, size: int, chunk: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as target:
        left = size
        while left:
            data = os.urandom(min(chunk, left))
            digest.update(data)
            target.write(data)
            left -= len(data)
        target.flush()
        os.fsync(target.fileno())
    return digest.hexdigest()


def read_chunks(reader, chunk: int, *, fresh: bool = False):
    """One reused buffer, as a careful upload handler reads; or a new bytes object per read.

    With a new object per read, the chunk and update()'s output are two multi-MiB buffers
    freed on every round, and glibc gives the memory back to the system and faults it in
    again each time: the "encrypt, new buffer per read" line shows what that costs.
    """
    if fresh:
        while data := reader.read(chunk):
            yield data
        return
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    while size := reader.readinto(buffer):
        yield view[:size]


def plain_copy(source: Path, target: Path, chunk: int) -> None:
    with source.open("rb") as reader, target.open("wb") as writer:
        for data in read_chunks(reader, chunk):
            writer.write(data)
        writer.flush()
        os.fsync(writer.fileno())


def encrypt(source: Path, target: Path, chunk: int, key: bytes, fresh: bool = False) -> None:
    encryptor = StreamEncryptor(key)
    with source.open("rb") as reader, target.open("wb") as writer:
        writer.write(encryptor.header)
        for data in read_chunks(reader, chunk, fresh=fresh):
            writer.write(encryptor.update(data))
        writer.write(encryptor.finalize())
        writer.flush()
        os.fsync(writer.fileno())


def decrypt(source: Path, target: Path, key: bytes) -> None:
    with source.open("rb") as reader, target.open("wb") as writer:
        for plaintext in decrypt_stream(reader, key):
            writer.write(plaintext)
        writer.flush()
        os.fsync(writer.fileno())


def timed(function, *arguments) -> float:
    # Overwriting a file first frees its old pages: that cost belongs to no one, so not timed.
    arguments[1].unlink(missing_ok=True)
    start = time.perf_counter()
    function(*arguments)
    return time.perf_counter() - start


def traced_peak(function, *arguments) -> int:
    arguments[1].unlink(missing_ok=True)
    tracemalloc.reset_peak()
    function(*arguments)
    return tracemalloc.get_traced_memory()[1]


def max_rss() -> int:
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value if sys.platform == "darwin" else value * 1024


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        while data := reader.read(MIB):
            digest.update(data)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="size of the file, in MiB (default 256)")
    parser.add_argument("--chunk-kib", type=int, default=1024, help="read and update() size (default 1024)")
    parser.add_argument("--runs", type=int, default=5, help="rounds of the three timings (default 5)")
    parser.add_argument("--dir", default="var/bench", help="where to write the files (default var/bench)")
    options = parser.parse_args()
    size, chunk = options.mib * MIB, options.chunk_kib * 1024
    Path(options.dir).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="deposit-crypto-", dir=options.dir))
    aes_ni = "aes" in Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else "?"
    print(
        f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"{backend.openssl_version_text()}, {os.cpu_count()} CPU(s), AES-NI: {aes_ni}"
    )
    print(
        f"{options.mib} MiB, chunks of {options.chunk_kib} KiB, "
        f"segments of {SEGMENT_SIZE // 1024} KiB, in {folder}"
    )
    try:
        source, copy, sealed, opened = (folder / name for name in ("source", "copy", "sealed", "opened"))
        expected = write_source(source, size, chunk)
        key = data_key_new()
        rss_before = max_rss()
        phases = {
            "copy": (plain_copy, source, copy, chunk),
            "encrypt": (encrypt, source, sealed, chunk, key),
            "decrypt": (decrypt, sealed, opened, key),
            "encrypt, new buffer per read": (encrypt, source, sealed, chunk, key, True),
        }
        times = {name: [] for name in phases}
        for _ in range(options.runs):
            for name, (function, *arguments) in phases.items():
                times[name].append(timed(function, *arguments))
        rss_after = max_rss()
        encrypt(source, sealed, chunk, key)
        assert sealed.stat().st_size == encrypted_size(size)
        decrypt(sealed, opened, key)
        assert sha256_of(opened) == expected, "the decrypted file differs from the source"

        tracemalloc.start()
        peaks = {name: traced_peak(function, *arguments) for name, (function, *arguments) in phases.items()}
        tracemalloc.stop()

        copy_speed = options.mib / statistics.median(times["copy"])
        print(f"\n{'':<30}{'median s':>10}{'MiB/s':>8}{'vs copy':>9}{'peak traced':>14}")
        for name, runs in times.items():
            speed = options.mib / statistics.median(runs)
            print(
                f"{name:<30}{statistics.median(runs):>10.3f}{speed:>8.0f}{speed / copy_speed:>9.2f}"
                f"{peaks[name] / MIB:>10.2f} MiB"
            )
        print(
            f"\nmaximum resident size of the process: {rss_before / MIB:.1f} MiB before the timings, "
            f"{rss_after / MIB:.1f} MiB after ({options.mib} MiB through each phase, per run)"
        )
        print("decrypted file identical to the source (SHA-256): yes")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
