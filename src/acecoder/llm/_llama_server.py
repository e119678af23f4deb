"""llama.cpp's OpenAI-compatible server on a GGUF file, run as a child process.

    with LlamaCppServer("qwen2.5-coder-0.5b") as server:      # or a path to any .gguf
        client = OpenAIClient(server.base_url, server.model)

Why: on a CPU, llama.cpp runs the embedded models several times faster than transformers
(quantized kernels, no dequantization), and its server speaks the protocol the OpenAI
client already speaks, so nothing else changes. The GGUF is served as it is: no
conversion, no torch.

The server comes from `llama-cpp-python[server]`. PyPI ships it as source only, so
installing it compiles llama.cpp (several minutes on 2 cores), by default for the build
machine's own CPU; `requirements/llama-cpp.txt` builds it for any x86-64 CPU with AVX2
(the README's commands use it). It is never a requirement.

Supervision: the child gets its own process group and is stopped (SIGTERM, then SIGKILL)
when the context exits; its output goes to a log file. Start-up waits until the server
answers `/v1/models` and then generates one token, because a build for another CPU loads
the model and only faults at its first generation. While it runs it is registered in
`_children`, so a client whose request fails learns at once that the server died (with the
signal and the log's last lines) instead of retrying a closed port.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from acecoder.errors import ComponentError, ConfigError
from acecoder.llm import _children
from acecoder.llm._embedded import MODELS, locate_gguf

# Both build llama.cpp for any x86-64 CPU with AVX2 (GGML_NATIVE=OFF turns on AVX2, FMA, F16C
# and nothing newer), not for the build machine: the first from the repository, the second anywhere.
_PORTABLE = ("pip install {flags}-r requirements/llama-cpp.txt (in acecoder's repository; elsewhere: "
             'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install {flags}"llama-cpp-python[server]==0.3.36")')
INSTALL = _PORTABLE.format(flags="") + ", which compiles llama.cpp: several minutes"
REBUILD = "reinstall it built for any AVX2 CPU: " + _PORTABLE.format(flags="--force-reinstall --no-deps --no-cache-dir ")


class LlamaCppServer:
    """Starts, watches and stops `python -m llama_cpp.server` for one model."""

    def __init__(
        self,
        model: str | Path,
        *,
        name: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        context: int = 4096,
        threads: int | None = None,
        startup_timeout: float = 300.0,
        log_path: str | Path | None = None,
    ):
        """
        model: an embedded model's name (qwen2.5-coder-0.5b, smollm2-135m) or a .gguf file.
        name: the model name the server answers to (default: the embedded name or the file's stem).
        port: default: a free port.
        context: the context window in tokens (prompt + answer).
        threads: CPU threads for generation (default: llama.cpp's choice, the physical cores).
        startup_timeout: seconds to wait for the model to load before giving up.
        log_path: the server's output (default: a temporary file).
        """
        self.gguf = self._resolve(model)
        self.model = name or (str(model) if str(model) in MODELS else self.gguf.stem)
        self.host, self.port = host, port or _free_port(host)
        self.context, self.threads = context, threads
        self.startup_timeout = startup_timeout
        self.log_path = Path(log_path) if log_path else Path(tempfile.mkstemp(prefix="llama-server.", suffix=".log")[1])
        self._process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        """The server's command line."""
        argv = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.gguf), "--model_alias", self.model,
            "--host", self.host, "--port", str(self.port), "--n_ctx", str(self.context),
        ]
        if self.threads:
            argv += ["--n_threads", str(self.threads)]
        return argv

    def start(self) -> str:
        """Start the server and wait until it answers and generates; returns `base_url`."""
        if self._process is not None:
            return self.base_url
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        deadline = time.monotonic() + self.startup_timeout
        try:
            self._wait_until_ready(deadline)
        except BaseException:
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
            return
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
                process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                return

    def __enter__(self) -> LlamaCppServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    @staticmethod
    def _resolve(model: str | Path) -> Path:
        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(f"the llama-cpp backend needs llama-cpp-python's server: {INSTALL}")
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


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
