"""A stand-in `vllm` module for the tests, shaped like vLLM's `LLM.chat` API (RequestOutput /
CompletionOutput) and behaving like vLLM where it matters: the engine refuses to start off
the main thread (as releases before ~0.10.2 did), holds `gpu_memory_utilization` of a
pretend GPU (`GPU`) until it is shut down, and fails a whole `LLM.chat` batch when one
prompt reaches `max_model_len` (prompt tokens: one per character of the last message).

    made = install(monkeypatch)   # sys.modules["vllm"] is the fake; made: the engines built
"""

import sys
import threading
import time
import types
from dataclasses import dataclass, field

GPU: dict = {}  # what each live engine holds of the pretend GPU, by id: its share of the card


@dataclass
class FakeParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    seed: int | None = None
    stop: list | None = None
    structured_outputs: object = None


@dataclass
class FakeCompletion:
    index: int
    text: str
    token_ids: list
    finish_reason: str = "stop"


@dataclass
class FakeOutput:
    prompt_token_ids: list
    outputs: list


class FakeTokenizer:
    def apply_chat_template(self, messages, add_generation_prompt=True, tokenize=True):
        return {"input_ids": [0] * len(messages[-1]["content"])}  # transformers 5 returns a mapping


@dataclass
class FakeLLM:
    kwargs: dict
    calls: list = field(default_factory=list)
    delay: float = 0.0
    fail: bool = False
    reply: object = None  # reply(prompt, index, params) -> text; default "PROMPT#INDEX"

    def __post_init__(self):
        limit = self.kwargs.get("max_model_len", 4096)
        self.llm_engine = types.SimpleNamespace(
            model_config=types.SimpleNamespace(max_model_len=limit),
            engine_core=types.SimpleNamespace(shutdown=lambda: GPU.pop(id(self), None)),
        )
        GPU[id(self)] = self.kwargs.get("gpu_memory_utilization", 0.9)

    def get_tokenizer(self):
        return FakeTokenizer()

    def chat(self, conversations, params, use_tqdm=True):
        assert use_tqdm is False
        self.calls.append((conversations, params))
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("CUDA out of memory")
        limit = self.llm_engine.model_config.max_model_len
        for messages in conversations:  # vLLM validates each request as it adds it: one bad one fails all
            if len(messages[-1]["content"]) >= limit:
                raise ValueError(f"The decoder prompt (length {len(messages[-1]['content'])}) plus the number of "
                                 f"requested output tokens (at least 1) is longer than the maximum model length of {limit}.")
        outputs = []
        for messages, p in zip(conversations, params):
            prompt = messages[-1]["content"]
            # returned out of order on purpose: the backend must order by index
            texts = [self.reply(prompt, i, p) if self.reply else f"{prompt}#{i}" for i in range(p.n)]
            completions = [FakeCompletion(i, texts[i], [0] * (i + 1)) for i in reversed(range(p.n))]
            outputs.append(FakeOutput(prompt_token_ids=[0] * len(prompt), outputs=completions))
        return outputs


def install(monkeypatch, reply=None) -> list:
    """Put the fake in sys.modules; the engines it builds are appended to the list returned.
    `reply(prompt, index, params)`: the text of sample `index` (default: "PROMPT#INDEX")."""
    module = types.ModuleType("vllm")
    sampling = types.ModuleType("vllm.sampling_params")
    made = []
    GPU.clear()

    def make_llm(**kwargs):
        if threading.current_thread() is not threading.main_thread():  # vLLM < 0.10.2's V1 engine
            raise ValueError("signal only works in main thread of the main interpreter")
        made.append(FakeLLM(kwargs, reply=reply))
        return made[-1]

    module.LLM = make_llm
    module.SamplingParams = FakeParams
    sampling.StructuredOutputsParams = lambda json_object: ("json_object", json_object)
    module.sampling_params = sampling
    monkeypatch.setitem(sys.modules, "vllm", module)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", sampling)
    return made
