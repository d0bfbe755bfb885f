"""The stand-alone decryption tool opens what the platform wrote, on a machine with only `cryptography`."""

import ast
import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from deposits.crypto import (
    DecryptionError,
    data_key_new,
    decrypt_stream,
    encrypt_stream,
    key_file_document,
    key_fingerprint,
    unwrap_key,
    wrap_key,
)
from tests.deposits import rsa_key, self_signed

TOOL = Path(__file__).resolve().parents[2] / "tools" / "deposit_decrypt.py"
PASSWORD = "Mot de passe très long"


def deposit_file(
    folder: Path, filename: str, plaintext: bytes, *, keys=("acheteur", "secours"), **overrides
) -> Path:
    """Writes ``<stem>.enc`` and ``<stem>.keys.json`` as the platform exports them."""
    data_key = data_key_new()
    stem = Path(filename).stem
    encrypted = folder / f"{stem}.enc"
    encrypted.write_bytes(
        b"".join(
            encrypt_stream([plaintext[i : i + 50_000] for i in range(0, len(plaintext), 50_000)], data_key)
        )
    )
    fields = {
        "name": filename,
        "size": len(plaintext),
        "sha256": hashlib.sha256(plaintext).hexdigest(),
        "recipients": [
            (key_fingerprint(rsa_key(k)), wrap_key(data_key, rsa_key(k).public_key())) for k in keys
        ],
    } | overrides
    (folder / f"{stem}.keys.json").write_bytes(key_file_document(**fields))
    return encrypted


def pkcs12_file(folder: Path, key_name: str = "acheteur", password: str = PASSWORD) -> Path:
    private = rsa_key(key_name)
    path = folder / f"{key_name}.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"bi-cle", private, self_signed(private), None, BestAvailableEncryption(password.encode())
        )
    )
    return path


def run_tool(folder: Path, *arguments, password: str = PASSWORD) -> subprocess.CompletedProcess:
    password_file = folder / "mdp.txt"
    password_file.write_text(password + "\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, arguments), "--mot-de-passe-fichier", str(password_file)],
        cwd=folder,
        env={"PATH": os.defpath},  # no DJANGO_SETTINGS_MODULE, no PYTHONPATH: as on a buyer's machine
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "pli").mkdir()
    return tmp_path


def test_the_tool_decrypts_every_file_of_a_deposit_with_the_buyer_key(folder):
    # GIVEN a deposit of three files, one of several segments and one empty
    offer = os.urandom(300_000)
    files = [
        deposit_file(folder / "pli", "Mémoire technique.pdf", offer),
        deposit_file(folder / "pli", "vide.txt", b""),
        deposit_file(folder / "pli", "bpu.csv", "prix;unité\n".encode()),
    ]

    # WHEN the buyer runs the tool with its PKCS#12
    result = run_tool(folder, *files, "--pkcs12", pkcs12_file(folder), "--sortie", folder / "clair")

    # THEN every plaintext is there under its original name, and nothing else
    assert result.returncode == 0, result.stderr
    assert (folder / "clair" / "Mémoire technique.pdf").read_bytes() == offer
    assert (folder / "clair" / "vide.txt").read_bytes() == b""
    assert (folder / "clair" / "bpu.csv").read_bytes() == "prix;unité\n".encode()
    assert {p.name for p in (folder / "clair").iterdir()} == {"Mémoire technique.pdf", "vide.txt", "bpu.csv"}
    assert "vérifié" in result.stdout


def test_the_backup_key_opens_the_file_too_with_an_explicit_key_file(folder):
    encrypted = deposit_file(folder / "pli", "offre.pdf", b"%PDF-1.7 offre")
    (folder / "pli" / "offre.keys.json").rename(folder / "cles.json")

    result = run_tool(
        folder,
        encrypted,
        "--cle",
        folder / "cles.json",
        "--pkcs12",
        pkcs12_file(folder, "secours"),
        "--sortie",
        "out",
    )

    assert result.returncode == 0, result.stderr
    assert (folder / "out" / "offre.pdf").read_bytes() == b"%PDF-1.7 offre"


def test_a_wrong_password_exits_3_with_a_french_message_and_writes_nothing(folder):
    encrypted = deposit_file(folder / "pli", "offre.pdf", b"offre")

    result = run_tool(
        folder, encrypted, "--pkcs12", pkcs12_file(folder), "--sortie", folder / "clair", password="mauvais"
    )

    assert result.returncode == 3
    assert "Le mot de passe ne permet pas d'ouvrir le fichier PKCS#12" in result.stderr
    assert list((folder / "clair").iterdir()) == []


@pytest.mark.parametrize("where", ["ciphertext", "truncated", "appended"])
def test_an_altered_file_exits_5_and_leaves_no_output_file(folder, where):
    # GIVEN a file of several segments altered after the first one
    encrypted = deposit_file(folder / "pli", "offre.pdf", os.urandom(200_000))
    data = bytearray(encrypted.read_bytes())
    if where == "ciphertext":
        data[150_000] ^= 0x01
    elif where == "truncated":
        del data[-5:]
    else:
        data += data[20:100]
    encrypted.write_bytes(bytes(data))

    result = run_tool(folder, encrypted, "--pkcs12", pkcs12_file(folder), "--sortie", folder / "clair")

    # THEN the verified segments written so far are gone with the temporary file
    assert result.returncode == 5
    assert "Le fichier chiffré est altéré ou tronqué" in result.stderr
    assert list((folder / "clair").iterdir()) == []


def test_a_sha256_that_does_not_match_the_key_file_exits_5(folder):
    encrypted = deposit_file(folder / "pli", "offre.pdf", b"offre", sha256="0" * 64)

    result = run_tool(folder, encrypted, "--pkcs12", pkcs12_file(folder), "--sortie", folder / "clair")

    assert result.returncode == 5
    assert "SHA-256" in result.stderr
    assert list((folder / "clair").iterdir()) == []


def test_a_key_file_for_other_keys_exits_4_and_names_the_fingerprint(folder):
    encrypted = deposit_file(folder / "pli", "offre.pdf", b"offre", keys=("acheteur", "secours"))

    result = run_tool(
        folder, encrypted, "--pkcs12", pkcs12_file(folder, "autre"), "--sortie", folder / "clair"
    )

    assert result.returncode == 4
    assert "Aucun destinataire" in result.stderr
    assert key_fingerprint(rsa_key("autre")) in result.stderr


def test_one_bad_file_does_not_stop_the_others_and_sets_the_exit_code(folder):
    good = deposit_file(folder / "pli", "bon.txt", b"bon")
    bad = deposit_file(folder / "pli", "mauvais.txt", b"mauvais")
    bad.write_bytes(bad.read_bytes()[:-1])

    result = run_tool(folder, bad, good, "--pkcs12", pkcs12_file(folder), "--sortie", folder / "clair")

    assert result.returncode == 5
    assert [p.name for p in (folder / "clair").iterdir()] == ["bon.txt"]


def test_a_name_from_the_key_file_never_chooses_the_folder(folder):
    encrypted = deposit_file(folder / "pli", "piege.txt", b"contenu", name="../../piege.txt")

    result = run_tool(folder, encrypted, "--pkcs12", pkcs12_file(folder), "--sortie", folder / "clair")

    assert result.returncode == 0, result.stderr
    assert [p.name for p in (folder / "clair").iterdir()] == ["piege"]  # the .enc file's own name
    assert not (folder / "piege.txt").exists()


def test_an_existing_file_is_never_overwritten(folder):
    encrypted = deposit_file(folder / "pli", "offre.pdf", b"nouvelle")
    (folder / "clair").mkdir()
    (folder / "clair" / "offre.pdf").write_bytes(b"ancienne")

    result = run_tool(folder, encrypted, "--pkcs12", pkcs12_file(folder), "--sortie", folder / "clair")

    assert result.returncode == 0, result.stderr
    assert (folder / "clair" / "offre.pdf").read_bytes() == b"ancienne"
    assert (folder / "clair" / "offre (2).pdf").read_bytes() == b"nouvelle"


@pytest.mark.parametrize(
    "arguments",
    [
        ["a.enc", "b.enc", "--cle", "a.keys.json", "--pkcs12", "x.p12", "--sortie", "out"],
        ["a.enc", "--sortie", "out"],
        ["absent.enc", "--pkcs12", "x.p12", "--sortie", "out"],
    ],
)
def test_usage_errors_exit_2_in_french(folder, arguments):
    result = run_tool(folder, *arguments)

    assert result.returncode == 2
    assert "Erreur" in result.stderr or "introuvable" in result.stderr


def test_the_tool_imports_nothing_but_the_standard_library_and_cryptography():
    tree = ast.parse(TOOL.read_text(encoding="utf-8"))
    modules = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }

    assert modules - sys.stdlib_module_names - {"__future__"} == {"cryptography"}


def test_the_tool_and_the_platform_agree_on_what_is_altered(folder):
    """Same message for the same damage: the tool follows the document, not deposits.crypto."""
    encrypted = deposit_file(folder / "pli", "offre.pdf", os.urandom(70_000))
    encrypted.write_bytes(encrypted.read_bytes()[:-1])
    wrapped = json.loads((folder / "pli" / "offre.keys.json").read_bytes())["recipients"][0]["wrapped_key"]
    with pytest.raises(DecryptionError) as platform:
        for _ in decrypt_stream(
            encrypted.open("rb"), unwrap_key(base64.b64decode(wrapped), rsa_key("acheteur"))
        ):
            pass

    result = run_tool(folder, encrypted, "--pkcs12", pkcs12_file(folder), "--sortie", folder / "clair")

    assert str(platform.value) == "Le fichier chiffré est altéré ou tronqué (segment 1)."
    assert str(platform.value) in result.stderr
