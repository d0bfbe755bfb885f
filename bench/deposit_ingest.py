"""Benchmark of the ingestion of a deposit through the real tus endpoint: throughput and memory.

    .venv/bin/python bench/deposit_ingest.py [--mib 1024] [--big] [--chunk-mib 8] [--dir var/bench]

In a throwaway DATA_DIR under ``--dir`` (SQLite and file storage, or the database of
DATABASE_URL if set), a setup step (bench/live_platform.py) migrates and makes an online
consultation with an opening key and a company user with a personal API token. Then, for
each size (``--mib``, and 4 GiB with ``--big``; the free disk space is checked first):

- a source file is written (a PDF header, then random bytes), and copied plainly on the
  same disk by chunks of ``--chunk-mib`` MiB, twice (before and after the upload): the
  faster copy is the reference, without fsync (the storage does not fsync either), and a
  copy with fsync is shown beside it;
- gunicorn (one sync worker, as deployed) is started on 127.0.0.1; the token starts a
  deposit through the API, and the file is sent to the tus endpoint in PATCHes of
  ``--chunk-mib`` MiB read from the file into one reused buffer (never the whole file in
  memory), over one keep-alive connection; each PATCH is encrypted and stored by the
  server (deposits/ingest.py);
- then the deposit is validated through the API (in the embedded default, without a
  Celery worker, the sealing runs inside that request after its commit: its time and
  memory are shown apart).

Prints MiB/s of the copy and of the upload, their ratio (target for issue 5: at least 0.5),
the SHA-256 the server computed against the source's, the stored size, and the gunicorn
worker's peak resident memory (VmHWM) after the upload and after the validation (target:
under 200 MiB for 1 GiB and 4 GiB). Figures are printed, never asserted.
"""

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_platform import MIB, Api, Gunicorn, offer_envelope, peak_rss, platform_env, rss, run_step  # noqa: E402

GIB = 1024 * MIB


def write_source(path: Path, size: int, chunk: int) -> str:
    digest = hashlib.sha256()
    header = b"%PDF-1.7\n"
    with path.open("wb") as target:
        written = 0
        while written < size:
            data = os.urandom(min(chunk, size - written))
            if written == 0:
                data = header + data[len(header) :]
            digest.update(data)
            target.write(data)
            written += len(data)
        target.flush()
        os.fsync(target.fileno())
    return digest.hexdigest()


def plain_copy(source: Path, target: Path, chunk: int, *, fsync: bool) -> float:
    target.unlink(missing_ok=True)
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    start = time.perf_counter()
    with source.open("rb") as reader, target.open("wb") as writer:
        while size := reader.readinto(buffer):
            writer.write(view[:size])
        writer.flush()
        if fsync:
            os.fsync(writer.fileno())
    elapsed = time.perf_counter() - start
    target.unlink()
    return elapsed


def upload(api: Api, consultation: int, source: Path, size: int, chunk: int) -> tuple[int, float, float]:
    """Start the deposit, send the file through tus; returns (deposit id, seconds of the upload,
    seconds of the last PATCH, which completes the file)."""
    status, started = api.json("POST", f"/api/consultations/{consultation}/depots/")
    if status not in (200, 201):
        raise SystemExit(f"start: {status} {started}")
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    start = time.perf_counter()
    path = api.tus_create(
        deposit=started["id"], envelope=offer_envelope(started), name="offre.pdf", size=size
    )
    offset, last = 0, 0.0
    with source.open("rb") as reader:
        while offset < size:
            reader.seek(offset)
            length = reader.readinto(buffer)
            before = time.perf_counter()
            offset = api.tus_patch(path, offset, view[:length])
            last = time.perf_counter() - before
    return started["id"], time.perf_counter() - start, last


def stored_bytes(data_dir: Path) -> int:
    root = data_dir / "media" / "deposits"
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def one_size(options, folder: Path, mib: int) -> None:
    size, chunk = mib * MIB, options.chunk_mib * MIB
    data_dir = folder / f"data-{mib}"
    env = platform_env(data_dir, DEPOSIT_MAX_FILE_MB=str(mib + 64))
    setup = run_step(env, "setup", "--companies", "1")
    source = folder / "source.pdf"
    print(f"\n--- {mib} MiB, chunks of {options.chunk_mib} MiB ---")
    expected = write_source(source, size, chunk)
    copies = [plain_copy(source, folder / "copy", chunk, fsync=False)]
    copy_fsync = plain_copy(source, folder / "copy", chunk, fsync=True)

    server = Gunicorn(env, workers=1, log=folder / "gunicorn.log")
    try:
        (worker,) = server.worker_pids()
        api = Api(server.url, setup["tokens"][0])
        status, _listed = api.json("GET", "/api/depots/")  # the worker has loaded Django
        idle_rss = rss(worker)
        deposit, seconds, last_patch = upload(api, setup["consultation"], source, size, chunk)
        after_upload = peak_rss(worker)
        start = time.perf_counter()
        status, validated = api.json("POST", f"/api/depots/{deposit}/valider/", {"conditions_accepted": True})
        validation = time.perf_counter() - start
        after_validation = peak_rss(worker)
        status_receipt, _headers, _pdf = api.request("GET", f"/api/depots/{deposit}/accuse-de-reception/")
        # The file came in several PATCHes: its SHA-256 is the sealing's read-back's.
        _status, detail = api.json("GET", f"/api/depots/{deposit}/")
        (sent,) = [f for e in detail["envelopes"] for f in e["files"]]
        api.close()
    finally:
        server.stop()
    copies.append(plain_copy(source, folder / "copy", chunk, fsync=False))
    source.unlink()

    copy_speed = mib / min(copies)
    upload_speed = mib / seconds
    patches = len(range(0, size, chunk))
    rows = [
        ("plain copy (faster of 2)", min(copies)),
        ("plain copy + fsync", copy_fsync),
        ("tus upload, encrypted + stored", seconds),
    ]
    print(f"{'':<34}{'seconds':>9}{'MiB/s':>8}{'vs copy':>9}")
    for name, elapsed in rows:
        print(f"{name:<34}{elapsed:>9.2f}{mib / elapsed:>8.0f}{mib / elapsed / copy_speed:>9.2f}")
    print(
        f"ratio upload / plain copy: {upload_speed / copy_speed:.2f} (target ≥ 0.5); "
        f"vs copy + fsync: {copy_fsync / seconds:.2f}"
    )
    others = (seconds - last_patch) / max(1, patches - 1)
    print(
        f"last PATCH (completes the file): {last_patch:.2f} s; the {patches - 1} others: {others:.3f} s each"
    )
    print(
        f"server SHA-256 identical to the source: {'yes' if sent['sha256'] == expected else 'NO'}; "
        f"stored {stored_bytes(data_dir) / MIB:.1f} MiB for {mib} MiB sent"
    )
    print(
        f"validation: {validation:.2f} s, HTTP {status}, status {validated.get('status')}; "
        f"receipt download: HTTP {status_receipt}"
    )
    print(
        f"gunicorn worker memory: {idle_rss / MIB:.0f} MiB resident once Django is loaded, "
        f"peak {after_upload / MIB:.0f} MiB after the upload (target < 200), "
        f"peak {after_validation / MIB:.0f} MiB after the validation "
        "(the sealing, run in process, reads the file back)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="size of the file, in MiB (default 1024)")
    parser.add_argument("--big", action="store_true", help="a 4 GiB file as well")
    parser.add_argument("--chunk-mib", type=int, default=8, help="PATCH and copy chunk, in MiB (default 8)")
    parser.add_argument("--dir", default="var/bench", help="where to write (default var/bench)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway folder (logs)")
    options = parser.parse_args()
    sizes = [options.mib] + ([4096] if options.big and options.mib != 4096 else [])
    Path(options.dir).mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(options.dir).free
    # The source, the copy and the stored objects at once, and room to spare.
    needed = 3 * max(sizes) * MIB + 2 * GIB
    if free < needed:
        raise SystemExit(
            f"not enough disk in {options.dir}: {free / GIB:.1f} GiB free, {needed / GIB:.1f} GiB needed"
        )
    folder = Path(tempfile.mkdtemp(prefix="deposit-ingest-", dir=options.dir))
    database = os.environ.get("DATABASE_URL", "").split("@")[-1] or "SQLite in the throwaway folder"
    print(f"{os.cpu_count()} CPU(s), database: {database}, folder {folder}, {free / GIB:.0f} GiB free")
    try:
        for mib in sizes:
            one_size(options, folder, mib)
    finally:
        if options.keep:
            print(f"\nkept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
