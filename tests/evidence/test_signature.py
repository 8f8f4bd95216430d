"""The bench's Ed25519 signature on a run's manifest (``rig keygen``, a bench's ``signing:``, ``rig verify DIR
--key PUB``): an untouched signed run verifies with the key; one byte flipped in each kind of file, a file removed
or added, a signature from another key, an unsigned run: verify fails every time and names why."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from campaign_helpers import SIM_BENCH, run_cases
from rig.evidence.signature import SIGNATURE, check_signature, generate_key, load_public_key
from rig.run.cli import app

runner = CliRunner()


def signed_bench(tmp_path: Path, private_key: Path, name: str = "sim-lab") -> Path:
    data = yaml.safe_load(SIM_BENCH.read_text())
    data["signing"] = {"name": name, "key": str(private_key)}
    path = tmp_path / "bench-signed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A finished, signed run of one protection case (full evidence), its key pair's two files."""
    tmp = tmp_path_factory.mktemp("signed")
    private, public = generate_key("sim-lab", tmp / "keys")
    run = run_cases(tmp / "run", ids=["g99.ov2.trip_time"], bench=signed_bench(tmp, private))
    return run.recorder.run_dir, private, public


def copy_of(run_dir: Path, tmp_path: Path) -> Path:
    import shutil
    target = tmp_path / "copy"
    shutil.copytree(run_dir, target)
    return target


def verify(run_dir: Path, public: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["verify", str(run_dir), "--key", str(public)])
    return result.exit_code, result.output


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keygen", "bench-7", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    private, public = tmp_path / "bench-7.key.pem", tmp_path / "bench-7.pub.pem"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert b"PRIVATE KEY" in private.read_bytes() and b"PUBLIC KEY" in public.read_bytes()
    again = runner.invoke(app, ["keygen", "bench-7", "--out", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_an_untouched_signed_run_verifies_with_its_key(signed_run) -> None:
    run_dir, _private, public = signed_run
    code, output = verify(run_dir, public)
    assert code == 0, output
    assert "SIGNATURE OK: signed by 'sim-lab'" in output
    assert json.loads((run_dir / SIGNATURE).read_text())["algorithm"] == "Ed25519"


def kinds(run_dir: Path) -> dict[str, Path]:
    """One file of each kind the record holds."""
    found = {"results": run_dir / "results.json", "report": run_dir / "report.html",
             "manifest": run_dir / "manifest.json", "signature": run_dir / SIGNATURE}
    for suffix in (".parquet", ".svg", ".yaml"):
        match = sorted(p for p in run_dir.rglob(f"*{suffix}"))
        if match:
            found[suffix] = match[0]
    return found


@pytest.mark.parametrize("kind", ["results", "report", "manifest", "signature", ".parquet", ".svg", ".yaml"])
def test_one_byte_flipped_in_any_kind_of_file_fails_and_is_named(signed_run, tmp_path: Path, kind: str) -> None:
    run_dir, _private, public = signed_run
    copy = copy_of(run_dir, tmp_path)
    files = kinds(copy)
    if kind not in files:
        pytest.fail(f"the run holds no {kind} file: {sorted(p.name for p in copy.rglob('*'))}")
    path = files[kind]
    data = bytearray(path.read_bytes())
    where = len(data) // 2
    data[where] ^= 0x01
    path.write_bytes(bytes(data))
    code, output = verify(copy, public)
    assert code == 1, output
    named = path.relative_to(copy).as_posix()
    if kind == "manifest":  # every listed file now differs from the hash it claims, or the signature breaks
        assert "SIGNATURE NOT VERIFIED" in output or "NOT VERIFIED" in output
    elif kind == "signature":
        assert "SIGNATURE NOT VERIFIED" in output
    else:
        assert f"changed:  {named}" in output


def test_a_removed_file_and_an_added_file_fail_and_are_named(signed_run, tmp_path: Path) -> None:
    run_dir, _private, public = signed_run
    copy = copy_of(run_dir, tmp_path)
    (copy / "report.html").unlink()
    (copy / "extra.txt").write_text("not part of the record\n")
    code, output = verify(copy, public)
    assert code == 1
    assert "missing:  report.html" in output and "unlisted: extra.txt" in output


def test_a_manifest_rewritten_to_match_changed_evidence_fails_on_the_signature(signed_run, tmp_path: Path) -> None:
    """The forger's move: change results.json and put its new hash in the manifest; only the key catches it."""
    import hashlib
    run_dir, _private, public = signed_run
    copy = copy_of(run_dir, tmp_path)
    results = copy / "results.json"
    results.write_text(results.read_text().replace('"fail"', '"pass"') + " ")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["results.json"] = hashlib.sha256(results.read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2))
    code, output = verify(copy, public)
    assert code == 1
    assert output.startswith("OK") and "SIGNATURE NOT VERIFIED: bad signature" in output


def test_a_signature_from_another_key_fails_naming_it(signed_run, tmp_path: Path) -> None:
    run_dir, _private, _public = signed_run
    _other_private, other_public = generate_key("another-bench", tmp_path / "other")
    code, output = verify(run_dir, other_public)
    assert code == 1 and "signed by another key (key 'sim-lab'" in output


def test_an_unsigned_run_fails_with_a_key_and_verifies_without_one(signed_run, tmp_path: Path) -> None:
    run_dir, _private, public = signed_run
    copy = copy_of(run_dir, tmp_path)
    (copy / SIGNATURE).unlink()
    code, output = verify(copy, public)
    assert code == 1 and "not signed" in output
    assert runner.invoke(app, ["verify", str(copy)]).exit_code == 0
    assert not check_signature(copy, load_public_key(public)).ok


def test_a_bench_naming_a_key_that_does_not_exist_is_refused_before_anything_opens(tmp_path: Path) -> None:
    bench = signed_bench(tmp_path, tmp_path / "no-such.key.pem")
    result = runner.invoke(app, ["run", "test_plans/g99/protection.yaml", "--bench", str(bench),
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "signing.key" in result.output and "rig keygen" in result.output
    assert not (tmp_path / "run").exists()
