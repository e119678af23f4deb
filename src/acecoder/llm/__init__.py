"""Language models behind one interface: `LLMBackend.generate(requests) -> results`.

    from acecoder.llm import ChatRequest, OpenAIClient

    async with OpenAIClient("http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-Coder-7B-Instruct",
                            concurrency=64, cache_path="runs/x/llm-cache.sqlite") as llm:
        [result] = await llm.generate([ChatRequest(messages=[{"role": "user", "content": q}],
                                                   n=16, temperature=0.7)])
        programs = result.texts          # 16 samples, index i = sample i

`OpenAIClient` speaks to any OpenAI-compatible endpoint (OpenAI, vLLM and SGLang
servers, llama.cpp's server); `StubServer` is a local one for tests. Importing this
package loads httpx, so command-line entry points import it only when used.
"""

from acecoder.llm._cache import ResponseCache, request_key
from acecoder.llm._openai import OpenAIClient
from acecoder.llm._stub import Fault, StubServer
from acecoder.llm._types import ChatRequest, ChatResult, Choice, LLMBackend, LLMError, Usage

__all__ = [
    "ChatRequest",
    "ChatResult",
    "Choice",
    "Fault",
    "LLMBackend",
    "LLMError",
    "OpenAIClient",
    "ResponseCache",
    "StubServer",
    "Usage",
    "request_key",
]
