"""llama.cpp's own OpenAI-compatible server (`llama-server`) on a GGUF file, run as a child process.

    with LlamaCppServer("qwen2.5-coder-0.5b", parallel=8) as server:   # or a path to any .gguf
        client = OpenAIClient(server.base_url, server.model, concurrency=8)

Why: on a CPU, llama.cpp runs the embedded models several times faster than transformers
(quantized kernels, no dequantization), and its server speaks the protocol the OpenAI
client already speaks. `parallel` slots with continuous batching decode the tokens of
every request in flight together, so each weight read feeds a matrix-matrix product:
several times the tokens per second of one request at a time (speed/bench_llama_server.py).
A .gguf file is served as it is, and the embedded models as Q8_0 (`_as_q8_0`): no torch.

The binary: `llama_cpp/bin/llama-server`, which `requirements/llama-cpp.txt` compiles from the
llama.cpp source inside the llama-cpp-python sdist, for any x86-64 CPU with AVX2; else
$ACECODER_LLAMA_SERVER, else `llama-server` on the PATH (a user's own build, a GPU one).

Context: llama.cpp splits `--ctx-size` evenly across the slots, so the server gets
`parallel * context` and every request has `context` tokens for its prompt and answer.

Supervision: the child gets its own process group and is stopped (SIGTERM, then SIGKILL)
when the context exits, and gets SIGTERM from the kernel if this process dies without
exiting the context; its output goes to a log file. Start-up waits until the server
answers `/v1/models` and then generates one token, because a build for another CPU loads
the model and only faults at its first generation. While it runs it is registered in
`_children`, so a client whose request fails learns at once that the server died (with the
signal and the log's last lines) instead of retrying a closed port.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from acecoder.errors import ComponentError, ConfigError
from acecoder.llm import _children
from acecoder.llm._embedded import MODELS, locate_gguf
from acecoder.paths import cache_root

# Builds llama.cpp, with its server, for any x86-64 CPU with AVX2 (AVX2, FMA, F16C and nothing
# newer), not for the build machine: the flags are in the repository's requirements file.
_PORTABLE = "pip install {flags}-r requirements/llama-cpp.txt (in acecoder's repository)"
INSTALL = _PORTABLE.format(flags="") + ", which compiles llama.cpp and its server: several minutes"
REBUILD = "reinstall it built for any AVX2 CPU: " + _PORTABLE.format(flags="--force-reinstall --no-deps --no-cache-dir ")


class LlamaCppServer:
    """Starts, watches and stops `llama-server` for one model."""

    def __init__(
        self,
        model: str | Path,
        *,
        name: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        context: int = 4096,
        parallel: int = 1,
        threads: int | None = None,
        prompt_lookup: bool = True,
        startup_timeout: float = 300.0,
        log_path: str | Path | None = None,
    ):
        """
        model: an embedded model's name (qwen2.5-coder-0.5b, smollm2-135m) or a .gguf file.
        name: the model name the server answers to (default: the embedded name or the file's stem).
        port: default: a free port.
        context: tokens per request (prompt + answer); the server holds `parallel` times as many.
        parallel: requests decoded together (slots); send as many at once.
        threads: CPU threads (default: llama.cpp's choice, one per physical core).
        prompt_lookup: speculate from earlier tokens (`--spec-type ngram-simple`): where the last 12
            tokens occurred before (a signature, a docstring, a test the answer repeats), the tokens
            that followed are checked in one batch instead of decoded one by one. The same tokens
            come out (up to the last bits batching changes anyway), faster: +35% tokens/s with
            one request in flight; with 8 the gain is within noise (speed/bench_llama_server.py).
        startup_timeout: seconds to wait for the model to load before giving up.
        log_path: the server's output (default: a temporary file, removed when the server stops
            cleanly and kept when it died, for the error that quotes it).
        """
        if parallel < 1 or context < 64:
            raise ConfigError(f"llama.cpp's server needs parallel >= 1 and context >= 64 (got {parallel}, {context})")
        self.gguf = self._resolve(model)
        self.binary = _binary()
        if str(model) in MODELS:
            self.gguf = _as_q8_0(str(model), self.gguf, self.binary.with_name("llama-quantize"))
        self.model = name or (str(model) if str(model) in MODELS else self.gguf.stem)
        self.host, self.port = host, port or _free_port(host)
        self.context, self.parallel, self.threads, self.prompt_lookup = context, parallel, threads, prompt_lookup
        self.startup_timeout = startup_timeout
        self._own_log = not log_path
        self.log_path = Path(log_path) if log_path else None  # the temporary one is made by start()
        self._process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        """The server's command line."""
        argv = [
            str(self.binary), "--model", str(self.gguf), "--alias", self.model,
            "--host", self.host, "--port", str(self.port),
            "--parallel", str(self.parallel), "--ctx-size", str(self.parallel * self.context),
            "--no-kv-unified",  # each slot its own `context`: a long answer cannot starve the others
            "--cache-ram", "256",  # MiB of prompt states kept beyond the slots (llama.cpp's default: 8 GiB)
            "--no-webui",
        ]
        if self.threads:
            argv += ["--threads", str(self.threads)]
        if self.prompt_lookup:
            argv += ["--spec-type", "ngram-simple"]
        return argv

    def start(self) -> str:
        """Start the server and wait until it answers and generates; returns `base_url`."""
        if self._process is not None:
            return self.base_url
        if self.log_path is None:
            self.log_path = Path(tempfile.mkstemp(prefix="llama-server.", suffix=".log")[1])
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + self.startup_timeout
        try:
            self._wait_until_ready(deadline)
        except BaseException as error:
            if isinstance(error, ComponentError):
                self._own_log = False  # the error names the log: keep it
            self.close()
            raise
        _children.register(self.base_url, self.death)
        return self.base_url

    def death(self) -> str | None:
        """None while the server runs; once it has exited, how (code or signal) and its log's end."""
        process = self._process
        if process is None or process.poll() is None:
            return None
        code = process.returncode
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 and -code in _SIGNALS else f"exited with code {code}"
        text = f"llama.cpp's server (pid {process.pid}, {self.gguf.name}) {how}"
        if code in (-signal.SIGSEGV, -signal.SIGILL, -signal.SIGBUS):
            text += f"; a fault in llama.cpp is most often a build for another CPU: {REBUILD}"
        return f"{text}. Last lines of its log {self.log_path}:\n{self._tail()}"

    def _wait_until_ready(self, deadline: float) -> None:
        while not self._answers("/models", deadline):
            time.sleep(0.2)
        # One generated token: a build for another CPU answers /models and faults here.
        probe = {"model": self.model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
        while not self._answers("/chat/completions", deadline, probe):
            time.sleep(0.2)

    def _answers(self, path: str, deadline: float, body: dict | None = None) -> bool:
        if self._process.poll() is not None:
            raise ComponentError(f"{self.death()}\n(it died while starting on {self.gguf})")
        if time.monotonic() > deadline:
            raise ComponentError(
                f"llama.cpp's server did not answer {path} within {self.startup_timeout:.0f} s (startup_timeout); "
                f"log {self.log_path}:\n{self._tail()}"
            )
        url, wait = self.base_url + path, max(1.0, min(60.0, deadline - time.monotonic()))
        try:
            response = httpx.post(url, json=body, timeout=wait) if body else httpx.get(url, timeout=2.0)
        except httpx.HTTPError:
            return False  # still loading, or it just died (the next call says which)
        return response.status_code == 200

    def close(self) -> None:
        _children.unregister(self.base_url)
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return  # never started, or died: a death's report names the log, so it stays
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break
        if self._own_log:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> LlamaCppServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    @staticmethod
    def _resolve(model: str | Path) -> Path:
        if str(model) in MODELS:
            return locate_gguf(str(model))
        path = Path(model)
        if path.suffix != ".gguf" or not path.is_file():
            raise ConfigError(f"{model}: not a .gguf file nor an embedded model ({', '.join(MODELS)})")
        return path

    def _tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


_SIGNALS = {int(sig) for sig in signal.Signals}


def _as_q8_0(name: str, gguf: Path, quantize: Path) -> Path:
    """An embedded model re-encoded as Q8_0, once, beside its GGUF in the cache, by the
    llama-quantize built with the server; the shipped file when there is none.

    Why: the shipped files are Q5_0 and K-quants (Qwen) or Q4_1 (SmolLM2), whose ggml
    kernels on x86 gain little from decoding several sequences at once; Q8_0's gain more
    (llama-batched-bench, 2 cores, 8 sequences: Qwen 82 against 68 tokens/s, SmolLM2 262
    against 216; prompts 1.4x and 1.6x faster). Q8_0 holds every shipped weight to within
    a few percent of its own quantization step: the same model, 40 % more bytes."""
    target = cache_root() / "gguf" / f"{name}.q8_0.gguf"
    if target.is_file() or not os.access(quantize, os.X_OK):
        return target if target.is_file() else gguf
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        done = subprocess.run([str(quantize), "--allow-requantize", str(gguf), str(work), "Q8_0"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise ComponentError(f"llama-quantize could not re-encode {gguf} as Q8_0 (exit {done.returncode}):\n"
                                 + "\n".join(done.stdout.splitlines()[-10:] + done.stderr.splitlines()[-10:]))
        os.replace(work, target)  # atomic: a killed run leaves no half file under the final name
    finally:
        work.unlink(missing_ok=True)
    return target


def _die_with_parent() -> None:
    """In the server's child before exec: SIGTERM when the process that started it ends
    however it ends (SIGKILL, a `kill` or a scheduler's cancel, which run no cleanup);
    otherwise the server, in a session of its own, would go on using every core. Linux
    ties this to the starting thread: start the server from a thread that outlives it."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent died before the line above: nobody to serve
        os._exit(1)


def have_llama_server() -> bool:
    try:
        _binary()
    except ConfigError:
        return False
    return True


def _binary() -> Path:
    """llama-server: $ACECODER_LLAMA_SERVER, else the one built into llama_cpp, else the PATH's."""
    if chosen := os.environ.get("ACECODER_LLAMA_SERVER"):
        if not os.access(chosen, os.X_OK):
            raise ConfigError(f"ACECODER_LLAMA_SERVER={chosen}: not an executable file")
        return Path(chosen)
    spec = importlib.util.find_spec("llama_cpp")  # not imported: only its folder is needed
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if os.access(built := Path(folder) / "bin" / "llama-server", os.X_OK):
            return built
    if found := shutil.which("llama-server"):
        return Path(found)
    raise ConfigError(f"the llama-cpp backend needs llama.cpp's server, llama-server: {INSTALL}")


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
