#!/usr/bin/env python3
"""Déchiffrement autonome des plis de la salle des marchés publics.

Cet outil ouvre, sur votre poste et sans la plateforme, les fichiers chiffrés d'un dépôt
(« FICHIER.enc ») avec la bi-clé de chiffrement de la consultation (fichier PKCS#12 protégé
par mot de passe). Il ne dépend que de Python (3.8 ou plus récent) et du paquet
``cryptography`` :

    pip install cryptography

Utilisation :

    python deposit_decrypt.py FICHIER.enc --pkcs12 cle.p12 --sortie DOSSIER
    python deposit_decrypt.py FICHIER.enc --cle FICHIER.keys.json --pkcs12 cle.p12 --sortie DOSSIER
    python deposit_decrypt.py *.enc --pkcs12 cle.p12 --mot-de-passe-fichier mdp.txt --sortie DOSSIER

Chaque fichier « NOM.enc » est accompagné de son fichier de clés « NOM.keys.json », cherché
à côté de lui sauf si ``--cle`` est donné (un seul fichier chiffré dans ce cas). Le mot de
passe du PKCS#12 est demandé au clavier, ou lu dans un fichier (première ligne) avec
``--mot-de-passe-fichier``. Le fichier en clair reçoit son nom d'origine dans le dossier de
sortie (« nom (2).ext » si ce nom y est déjà pris). Il est écrit dans un fichier temporaire
du même dossier, renommé seulement quand tout le fichier est vérifié (chaque segment, puis la
taille et l'empreinte SHA-256 annoncées par le fichier de clés) : un fichier altéré ne laisse
rien dans le dossier de sortie.

Codes de sortie :
    0  tous les fichiers ont été déchiffrés et vérifiés ;
    1  erreur de lecture ou d'écriture (disque plein, droits…) ;
    2  utilisation incorrecte (argument manquant, fichier introuvable, fichier de clés illisible) ;
    3  mot de passe incorrect, ou ce n'est pas un fichier PKCS#12 ;
    4  la bi-clé ne correspond à aucun destinataire du fichier ;
    5  fichier chiffré altéré ou tronqué, ou contenu différent de celui annoncé.
Avec plusieurs fichiers, l'outil traite tous ceux qu'il peut et rend le code du premier échec.

Le format est décrit dans docs/deposit-format.md ; cet outil le met en œuvre de façon
indépendante du code de la plateforme.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import getpass
import hashlib
import json
import os
import struct
import sys
import tempfile
import unicodedata
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import pkcs12

MAGIC = b"SDMPENC1"
VERSION = 1
HEADER_SIZE = 20
TAG_SIZE = 16
SEGMENT_SIZE_MIN = 1024
SEGMENT_SIZE_MAX = 16 * 1024 * 1024
KEY_FILE_FORMAT = "sdmp-enc-1"

EXIT_OK, EXIT_IO, EXIT_USAGE, EXIT_PASSWORD, EXIT_NO_KEY, EXIT_ALTERED = 0, 1, 2, 3, 4, 5


class Failure(Exception):
    """A French message for the user and the exit code that goes with it."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def read_exactly(stream, size: int) -> bytes:
    parts = []
    missing = size
    while missing:
        data = stream.read(missing)
        if not data:
            break
        parts.append(data)
        missing -= len(data)
    return b"".join(parts)


def decrypt_segments(stream, data_key: bytes):
    """Yields the plaintext of each segment once its tag is verified (docs/deposit-format.md)."""
    header = read_exactly(stream, HEADER_SIZE)
    if len(header) < HEADER_SIZE or header[:8] != MAGIC:
        raise Failure(EXIT_ALTERED, "Ce fichier n'est pas un fichier chiffré de la plateforme.")
    segment_size, prefix, version = struct.unpack(">I7sB", header[8:])
    if version != VERSION:
        raise Failure(EXIT_ALTERED, f"Ce fichier chiffré utilise une version de format inconnue ({version}).")
    if not SEGMENT_SIZE_MIN <= segment_size <= SEGMENT_SIZE_MAX:
        raise Failure(EXIT_ALTERED, "L'en-tête du fichier chiffré est altéré.")
    aead = AESGCM(data_key)
    sealed_size = segment_size + TAG_SIZE
    current = read_exactly(stream, sealed_size)
    index = 0
    while True:
        # The last segment is the one that nothing follows; its nonce says so too.
        following = read_exactly(stream, sealed_size) if len(current) == sealed_size else b""
        last = not following
        if index >= 2**32:
            raise Failure(EXIT_ALTERED, "Le fichier chiffré compte trop de segments.")
        nonce = prefix + struct.pack(">IB", index, 1 if last else 0)
        try:
            plaintext = aead.decrypt(nonce, current, header)
        except InvalidTag:
            raise Failure(
                EXIT_ALTERED, f"Le fichier chiffré est altéré ou tronqué (segment {index})."
            ) from None
        yield plaintext
        if last:
            return
        current = following
        index += 1


def fingerprint(public_key) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def load_private_key(path: Path, password: bytes):
    try:
        key, certificate, _others = pkcs12.load_key_and_certificates(path.read_bytes(), password or None)
    except ValueError:
        raise Failure(
            EXIT_PASSWORD,
            f"Le mot de passe ne permet pas d'ouvrir le fichier PKCS#12 {path} "
            "(ou ce n'est pas un fichier PKCS#12).",
        ) from None
    if key is None:
        raise Failure(EXIT_NO_KEY, f"Le fichier PKCS#12 {path} ne contient pas de clé privée.")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise Failure(EXIT_NO_KEY, f"La clé du fichier PKCS#12 {path} n'est pas une clé RSA.")
    if isinstance(certificate, x509.Certificate) and fingerprint(certificate.public_key()) != fingerprint(
        key.public_key()
    ):
        # The key is what opens files; a mismatched certificate is only worth a warning.
        print("Attention : le certificat du PKCS#12 ne correspond pas à sa clé privée.", file=sys.stderr)
    return key


def load_key_file(path: Path) -> dict:
    try:
        document = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise Failure(EXIT_USAGE, f"Le fichier de clés {path} est illisible (JSON UTF-8 attendu).") from None
    if not isinstance(document, dict) or document.get("format") != KEY_FILE_FORMAT:
        raise Failure(EXIT_USAGE, f"{path} n'est pas un fichier de clés « {KEY_FILE_FORMAT} ».")
    recipients = document.get("recipients")
    if not isinstance(recipients, list) or not all(isinstance(r, dict) for r in recipients):
        raise Failure(EXIT_USAGE, f"Le fichier de clés {path} n'a pas de liste de destinataires.")
    return document


def unwrap_data_key(document: dict, key, key_file: Path) -> bytes:
    mine = fingerprint(key.public_key())
    for recipient in document["recipients"]:
        if str(recipient.get("fingerprint", "")).lower() != mine:
            continue
        try:
            wrapped = base64.b64decode(str(recipient.get("wrapped_key", "")), validate=True)
            oaep = padding.OAEP(
                mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
            )
            data_key = key.decrypt(wrapped, oaep)
        except (binascii.Error, ValueError):
            raise Failure(EXIT_NO_KEY, f"Cette clé ne permet pas d'ouvrir ce fichier ({key_file}).") from None
        if len(data_key) != 32:
            raise Failure(EXIT_NO_KEY, f"Cette clé ne permet pas d'ouvrir ce fichier ({key_file}).")
        return data_key
    raise Failure(
        EXIT_NO_KEY,
        f"Aucun destinataire de {key_file} ne correspond à cette bi-clé (empreinte {mine}).",
    )


def safe_name(name, fallback: str) -> str:
    """The original name if it is a plain file name; a name is never allowed to choose a folder."""
    if not isinstance(name, str):
        return fallback
    name = unicodedata.normalize("NFC", name).strip()
    unsafe = (
        not name
        or name in (".", "..")
        or any(c in '/\\:*?"<>|' for c in name)
        or any(unicodedata.category(c).startswith("C") for c in name)
    )
    return fallback if unsafe else name


def free_path(folder: Path, name: str) -> Path:
    candidate = folder / name
    stem, suffix = os.path.splitext(name)
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem} ({number}){suffix}"
        number += 1
    return candidate


def base_name(encrypted: Path) -> str:
    name = encrypted.name
    return name[: -len(".enc")] if name.endswith(".enc") and len(name) > len(".enc") else name


def default_key_file(encrypted: Path) -> Path:
    return encrypted.with_name(base_name(encrypted) + ".keys.json")


def decrypt_file(encrypted: Path, key_file: Path, key, output: Path) -> Path:
    document = load_key_file(key_file)
    data_key = unwrap_data_key(document, key, key_file)
    name = safe_name(document.get("name"), base_name(encrypted))
    handle, temporary = tempfile.mkstemp(dir=str(output), prefix=".", suffix=".part")
    kept = False
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(handle, "wb") as target, open(encrypted, "rb") as source:
            for plaintext in decrypt_segments(source, data_key):
                target.write(plaintext)
                digest.update(plaintext)
                size += len(plaintext)
        expected_size = document.get("size")
        if isinstance(expected_size, int) and expected_size != size:
            raise Failure(
                EXIT_ALTERED,
                f"Le fichier déchiffré fait {size} octets au lieu des {expected_size} annoncés.",
            )
        expected_sha256 = document.get("sha256")
        if expected_sha256 and str(expected_sha256).lower() != digest.hexdigest():
            raise Failure(EXIT_ALTERED, "L'empreinte SHA-256 du fichier déchiffré n'est pas celle annoncée.")
        final = free_path(output, name)
        os.replace(temporary, str(final))
        kept = True
        return final
    finally:
        if not kept:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


class FrenchFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "Utilisation : " if prefix is None else prefix)


class FrenchParser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"Erreur : {message}\n")


def arguments(argv):
    parser = FrenchParser(
        prog="deposit_decrypt.py",
        description="Déchiffre les fichiers d'un pli avec la bi-clé (PKCS#12) de la consultation.",
        add_help=False,
        formatter_class=FrenchFormatter,
    )
    parser._positionals.title = "arguments"
    parser.add_argument("fichiers", nargs="*", metavar="FICHIER.enc", help="fichier(s) chiffré(s)")
    parser.add_argument(
        "--cle", metavar="FICHIER.keys.json", help="fichier de clés (un seul fichier chiffré)"
    )
    parser.add_argument("--pkcs12", metavar="cle.p12", help="la bi-clé de chiffrement (PKCS#12)")
    parser.add_argument(
        "--mot-de-passe-fichier", metavar="F", help="lire le mot de passe dans ce fichier (première ligne)"
    )
    parser.add_argument("--sortie", metavar="DOSSIER", help="dossier où écrire les fichiers en clair")
    parser.add_argument("-h", "--aide", action="help", help="affiche cette aide")
    options = parser.parse_args(argv)
    if not options.fichiers:
        parser.error("indiquez au moins un fichier chiffré (FICHIER.enc)")
    if not options.pkcs12:
        parser.error("indiquez la bi-clé avec --pkcs12 cle.p12")
    if not options.sortie:
        parser.error("indiquez le dossier de sortie avec --sortie DOSSIER")
    if options.cle and len(options.fichiers) > 1:
        parser.error("--cle ne s'emploie qu'avec un seul fichier chiffré")
    return options


def read_password(options) -> bytes:
    if options.mot_de_passe_fichier:
        try:
            lines = Path(options.mot_de_passe_fichier).read_bytes().splitlines()
        except OSError as error:
            raise Failure(EXIT_USAGE, f"Fichier de mot de passe illisible : {error}") from None
        return lines[0] if lines else b""
    return getpass.getpass("Mot de passe du fichier PKCS#12 : ").encode("utf-8")


def main(argv=None) -> int:
    options = arguments(sys.argv[1:] if argv is None else argv)
    try:
        jobs = []
        for name in options.fichiers:
            encrypted = Path(name)
            key_file = Path(options.cle) if options.cle else default_key_file(encrypted)
            for path in (encrypted, key_file):
                if not path.is_file():
                    raise Failure(EXIT_USAGE, f"Fichier introuvable : {path}")
            jobs.append((encrypted, key_file))
        pkcs12_path = Path(options.pkcs12)
        if not pkcs12_path.is_file():
            raise Failure(EXIT_USAGE, f"Fichier introuvable : {pkcs12_path}")
        output = Path(options.sortie)
        output.mkdir(parents=True, exist_ok=True)
        key = load_private_key(pkcs12_path, read_password(options))
    except Failure as failure:
        print(failure.message, file=sys.stderr)
        return failure.code
    except OSError as error:
        print(f"Erreur de lecture ou d'écriture : {error}", file=sys.stderr)
        return EXIT_IO

    status = EXIT_OK
    for encrypted, key_file in jobs:
        try:
            final = decrypt_file(encrypted, key_file, key, output)
        except Failure as failure:
            print(f"{encrypted} : {failure.message}", file=sys.stderr)
            status = status or failure.code
        except OSError as error:
            print(f"{encrypted} : erreur de lecture ou d'écriture : {error}", file=sys.stderr)
            status = status or EXIT_IO
        else:
            print(f"{encrypted} → {final} (vérifié)")
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nInterrompu : aucun fichier partiel n'est conservé.", file=sys.stderr)
        sys.exit(130)
