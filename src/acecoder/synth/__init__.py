"""Synthesis parts (method §1–2): seeds from code data, the prompt, and the parser of answers.

    from acecoder.synth import iter_seeds, build_request, parse_response

    for seed in iter_seeds("seeds.jsonl"):          # Seed(id, source, instruction, code)
        request = build_request(seed)               # one ChatRequest asking for JSON
        parsed = parse_response(model_text)         # Parsed(question, tests, dropped, repairs, failure)
        tests, counts = with_expected_from(seed.code, parsed.tests, engine)  # outputs from a right seed program

The stage that wires them to a model and a file is `acecoder.stages.synth`.
"""

from acecoder.synth.expected import with_expected_from
from acecoder.synth.parse import Failure, Parsed, Repair, TestDrop, clean_tests, parse_response
from acecoder.synth.prompt import Templates, build_request, load_templates, render
from acecoder.synth.seeds import FAMILIES, Seed, SeedDrop, first_python_block, iter_seeds, prepare_seed

__all__ = [
    "FAMILIES",
    "Failure",
    "Parsed",
    "Repair",
    "Seed",
    "SeedDrop",
    "Templates",
    "TestDrop",
    "build_request",
    "clean_tests",
    "first_python_block",
    "iter_seeds",
    "load_templates",
    "parse_response",
    "prepare_seed",
    "render",
    "with_expected_from",
]
