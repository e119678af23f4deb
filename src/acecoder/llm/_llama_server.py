"""llama.cpp's OpenAI-compatible server on a GGUF file, run as a child process.

    with LlamaCppServer("qwen2.5-coder-0.5b") as server:      # or a path to any .gguf
        client = OpenAIClient(server.base_url, server.model)

Why: on a CPU, llama.cpp runs the embedded models several times faster than transformers
(quantized kernels, no dequantization), and its server speaks the protocol the OpenAI
client already speaks, so nothing else changes. The GGUF is served as it is: no
conversion, no torch.

The server comes from `llama-cpp-python[server]` (the `llama-cpp` extra). PyPI ships it
as source only, so installing it compiles llama.cpp (several minutes on 2 cores); it is an
extra, never a requirement. The child gets its own process group and is stopped (SIGTERM,
then SIGKILL) when the context exits; its output goes to a log file whose tail is quoted
if it fails to start.
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

from acecoder.errors import ConfigError
from acecoder.llm._embedded import MODELS, locate_gguf

INSTALL = 'pip install "acecoder[llama-cpp]"  (compiles llama.cpp: several minutes)'


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
        """Start the server and wait until it answers; returns `base_url`."""
        if self._process is not None:
            return self.base_url
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise ConfigError(f"llama.cpp's server exited with code {code} while loading {self.gguf}:\n{self._tail()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return self.base_url
            except httpx.HTTPError:
                pass  # still loading
            time.sleep(0.2)
        self.close()
        raise ConfigError(
            f"llama.cpp's server did not answer within {self.startup_timeout:.0f} s (startup_timeout); log:\n{self._tail()}"
        )

    def close(self) -> None:
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


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
