"""The bench's signature on a run's manifest: Ed25519 (``cryptography``), so a record that verifies against its
manifest was also closed by the bench that holds the key.

The manifest already carries the SHA-256 of every file, so signing its exact bytes covers the whole record. The
signature goes beside it in ``manifest.sig`` (JSON: the algorithm, the key's name, the SHA-256 of its raw public
key, the signature in base64), which the manifest does not list (it cannot list what signs it). A certification
body holds the bench's public key (``rig keygen`` writes both halves; the private one never leaves the bench and
is never committed) and runs ``rig verify DIR --key PUB``: a changed, added or missing file fails against the
manifest, a changed manifest or signature fails against the key, and a record signed with another key, or not
signed at all, is named as such.

Only the run that closes the record signs it: a report re-rendered later (``rig report``) or a record amended
after a stop rewrites the manifest without the key, and the old signature then no longer verifies (it says so).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from rig.core.errors import EvidenceWriteError, RigInputError

SIGNATURE = "manifest.sig"
ALGORITHM = "Ed25519"


def fingerprint(public: Ed25519PublicKey) -> str:
    """The SHA-256 of the raw 32-byte public key, hex: what names a key in a signature and in ``rig keygen``."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def generate_key(name: str, out_dir: Path) -> tuple[Path, Path]:
    """A new key pair for the bench ``name``: ``<name>.key.pem`` (PKCS#8, readable by its owner only) and
    ``<name>.pub.pem``. An existing file is never overwritten (a bench's key is replaced on purpose only)."""
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise RigInputError(f"key name {name!r}: give the bench's name (letters, digits, - and _)")
    out_dir.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out_dir / f"{name}.key.pem", out_dir / f"{name}.pub.pem"
    for path in (private_path, public_path):
        if path.exists():
            raise RigInputError(f"{path}: already exists; a bench's key is not replaced by accident (remove it "
                                "first, and give certification bodies the new public key)")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def load_private_key(path: Path, *, what: str) -> Ed25519PrivateKey:
    """The bench's private key, or one clear error naming ``what`` (the file and field that named it)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as err:
        raise RigInputError(f"{what}: {path}: cannot be read ({err.strerror}); make one with `rig keygen`") from None
    except (ValueError, TypeError) as err:
        raise RigInputError(f"{what}: {path}: not an unencrypted PEM private key ({err})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise RigInputError(f"{what}: {path}: not an Ed25519 key (`rig keygen` makes one)")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as err:
        raise RigInputError(f"{path}: cannot be read ({err.strerror})") from None
    except ValueError as err:
        raise RigInputError(f"{path}: not a PEM public key ({err})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise RigInputError(f"{path}: not an Ed25519 public key")
    return key


def sign_manifest(run_dir: Path, key: Ed25519PrivateKey, name: str) -> Path:
    """Sign the exact bytes of ``run_dir``'s manifest.json; ``manifest.sig`` replaced atomically."""
    manifest = (run_dir / "manifest.json").read_bytes()
    document = {"algorithm": ALGORITHM, "key_name": name, "public_key_sha256": fingerprint(key.public_key()),
                "signed": "manifest.json", "signature": base64.b64encode(key.sign(manifest)).decode("ascii")}
    target = run_dir / SIGNATURE
    staged = run_dir / f".{SIGNATURE}.tmp"
    try:
        staged.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        os.replace(staged, target)
    except OSError as err:
        raise EvidenceWriteError(target, err) from None
    return target


@dataclass(frozen=True)
class SignatureCheck:
    """Whether the run's manifest carries a valid signature of ``key``; ``detail`` says what was found."""

    ok: bool
    detail: str


def check_signature(run_dir: Path, public: Ed25519PublicKey) -> SignatureCheck:
    """The signature in ``manifest.sig`` against ``public`` over manifest.json as it is now; never raises."""
    wanted = fingerprint(public)
    try:
        document = json.loads((run_dir / SIGNATURE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return SignatureCheck(False, f"not signed: no {SIGNATURE}")
    except (OSError, ValueError) as err:
        return SignatureCheck(False, f"{SIGNATURE} is unreadable ({err})")
    if not isinstance(document, dict) or document.get("algorithm") != ALGORITHM:
        return SignatureCheck(False, f"{SIGNATURE} is not an {ALGORITHM} signature")
    signer = document.get("public_key_sha256")
    if signer != wanted:
        return SignatureCheck(False, f"signed by another key (key {document.get('key_name')!r}, SHA-256 {signer}; "
                                     f"the key given is {wanted})")
    try:
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
        public.verify(signature, (run_dir / "manifest.json").read_bytes())
    except (ValueError, InvalidSignature, OSError):
        return SignatureCheck(False, "bad signature: manifest.json or manifest.sig was altered after signing "
                                     "(or the record was re-rendered or amended without the key)")
    return SignatureCheck(True, f"signed by {document.get('key_name')!r} ({ALGORITHM}, key SHA-256 {wanted})")
