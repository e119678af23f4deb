"""The installed llama.cpp runs on any x86-64 CPU with AVX2: no AVX-512, AVX-VNNI or AMX
instruction in any of its libraries or in its server, whatever machine compiled it.

Why a scan and not a run: llama.cpp's default build targets the build machine
(-march=native); on a VM whose CPU reports AVX-512 and AMX but faults on them, the server
loads the model and dies at its first generation. A run on this machine proves nothing
about another, while the instructions in the binary are the same everywhere. The build
flags are in requirements/llama-cpp.txt; the README's commands install it.

The scanner itself is checked on objects compiled here with and without those
instructions, so that a scan that finds nothing means something.
"""

import pathlib
import re
import shutil
import subprocess
import textwrap

import pytest

AMX = re.compile(r"\b(ldtilecfg|sttilecfg|tileloadd\w*|tilestored|tilezero|tilerelease|tdp\w+)\b|%tmm")
AVX512_OPERANDS = re.compile(r"%zmm|\{%k[0-7]\}|%k[0-7]\b|%[xy]mm(1[6-9]|2\d|3[01])\b")
VNNI = re.compile(r"\{vex\}\s*vpdp(bu|ws)sds?\b")


def scan(library: pathlib.Path) -> dict[str, list[str]]:
    """Instructions an AVX2-only CPU cannot run, by kind, with up to 5 examples each."""
    found: dict[str, list[str]] = {}
    listing = subprocess.run(["objdump", "-d", "-w", str(library)], capture_output=True, text=True, check=True)
    for line in listing.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or not parts[0].strip().endswith(":"):
            continue
        raw, text = parts[1].split(), "\t".join(parts[2:])
        kinds = []
        # In 64-bit mode 0x62 opens an EVEX instruction: AVX-512 (of any vector length).
        if raw and (raw[0] == "62" or (len(raw) > 1 and raw[0] in ("2e", "3e", "26", "64", "65", "36", "67") and raw[1] == "62")):
            kinds.append("AVX-512 (EVEX)")
        elif AVX512_OPERANDS.search(text):
            kinds.append("AVX-512 (registers)")
        if AMX.search(text):
            kinds.append("AMX")
        if VNNI.search(text):
            kinds.append("AVX-VNNI")
        for kind in kinds:
            examples = found.setdefault(kind, [])
            if len(examples) < 5:
                examples.append(text.strip())
    return found


def _needs_objdump():
    if shutil.which("objdump") is None:
        pytest.fail("objdump is missing: apt-get install binutils (it is needed to build llama.cpp anyway)")


def _compile(tmp_path, name: str, source: str, *flags: str) -> pathlib.Path:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is missing: apt-get install gcc (llama.cpp's build needs it)")
    c_file, library = tmp_path / f"{name}.c", tmp_path / f"lib{name}.so"
    c_file.write_text(textwrap.dedent(source))
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", *flags, str(c_file), "-o", str(library)], check=True)
    return library


def test_the_scanner_finds_avx512_and_amx_and_passes_avx2(tmp_path):
    _needs_objdump()
    add = """
        #include <immintrin.h>
        void add(float *a, const float *b, int n) {{
            for (int i = 0; i + {width} <= n; i += {width})
                {store}(a + i, {add}({load}(a + i), {load}(b + i)));
        }}
    """
    avx2 = _compile(tmp_path, "avx2", add.format(width=8, store="_mm256_storeu_ps", add="_mm256_add_ps",
                                                 load="_mm256_loadu_ps"), "-mavx2", "-mfma")
    avx512 = _compile(tmp_path, "avx512", add.format(width=16, store="_mm512_storeu_ps", add="_mm512_add_ps",
                                                     load="_mm512_loadu_ps"), "-mavx512f")
    amx = _compile(tmp_path, "amx", "void release(void) { __asm__ volatile (\"tilerelease\"); }\n")
    assert scan(avx2) == {}
    assert "AVX-512 (EVEX)" in scan(avx512)
    assert "AMX" in scan(amx)


def test_the_installed_llama_cpp_uses_nothing_newer_than_avx2():
    _needs_objdump()
    try:
        import llama_cpp
    except ImportError:
        pytest.fail("llama-cpp-python is not installed: pip install -r requirements/llama-cpp.txt (the README's commands do)")
    package = pathlib.Path(llama_cpp.__file__).parent
    server = package / "bin" / "llama-server"
    assert server.is_file(), f"no {server}: llama-cpp-python was built without llama.cpp's server (requirements/llama-cpp.txt)"
    libraries = sorted(p for p in (package / "lib").glob("*.so") if not p.is_symlink()) + [server]
    names = {p.name for p in libraries}
    assert {"libggml-cpu.so", "libllama-server-impl.so"} <= names, f"missing among {sorted(names)}"
    findings = {p.name: found for p in libraries if (found := scan(p))}
    assert not findings, (
        "llama.cpp was built with instructions an AVX2-only CPU cannot run (a -march=native build?): "
        f"{findings}\nreinstall: pip install --force-reinstall --no-deps --no-cache-dir -r requirements/llama-cpp.txt"
    )
