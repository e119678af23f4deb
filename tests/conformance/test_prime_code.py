"""stdin/stdout and call-based rewards as verl 0.9.1's own `prime_code` gives them
(requirements/upstream.txt; verl is installed with --no-deps, and only the three files of
`verl/utils/reward_score/prime_code` are loaded: `import verl` would pull Ray).

Every sample of `prime_code_samples` (APPS/TACO-layout problems, built there) is scored by
prime_code as verl's default reward calls it for apps/taco/codecontests/codeforces data
(`compute_score(solution, ground_truth, continuous=True)`, then `float(result[0])`) and by
its binary form (`continuous=False`), and by our verl adapter (`acecoder.rewards.verl`) on
the same completion and JSON ground truth. The rewards must be equal, sample by sample.
prime_code's binary form raises UnboundLocalError for a program that fails a case (verl
0.9.1 binds `metadata_list` on the continuous path only); that is counted as 0 here.
"""

import importlib.metadata
import importlib.util
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from prime_code_samples import PROBLEMS, SAMPLES

OUR_TIMEOUT = 2.0  # CPU seconds per case on our side; prime_code's own are 5 s (binary) and 10 s (per case)


def load_prime_code():
    """verl 0.9.1's prime_code package, loaded from its files (a missing verl fails here)."""
    assert importlib.metadata.version("verl") == "0.9.1", "install requirements/upstream.txt (verl==0.9.1)"
    folder = Path(importlib.util.find_spec("verl").origin).parent / "utils" / "reward_score" / "prime_code"
    spec = importlib.util.spec_from_file_location("prime_code", folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["prime_code"] = module
    spec.loader.exec_module(module)
    return module


_PRIME = None


def _upstream(args: tuple[str, str]) -> tuple[float, float]:
    """(verl's default reward, the binary form) of one completion, in a worker process."""
    global _PRIME
    if _PRIME is None:
        _PRIME = load_prime_code()
    completion, truth = args
    continuous = float(_PRIME.compute_score(completion, truth, continuous=True)[0])
    try:
        binary = float(_PRIME.compute_score(completion, truth, continuous=False)[0])
    except UnboundLocalError:  # verl 0.9.1's binary path on any failing program
        binary = 0.0
    return continuous, binary


def samples() -> list[tuple[str, str, str]]:
    """(problem, completion, ground truth as JSON text) for every sample."""
    return [(name, f"Here is my solution.\n```python\n{program}\n```", json.dumps(PROBLEMS[name]))
            for name, programs in SAMPLES.items() for program in programs]


def test_our_verl_rewards_equal_prime_codes():
    from acecoder.rewards import verl

    rows = samples()
    assert len(rows) >= 300 and len(PROBLEMS) >= 30
    with ProcessPoolExecutor(2) as pool:  # not daemonic: prime_code starts processes of its own
        theirs = list(pool.map(_upstream, [(c, t) for _, c, t in rows], chunksize=4))
    try:
        completions, truths = [c for _, c, _ in rows], [t for _, _, t in rows]
        ours = verl.compute_score_batch(["apps"] * len(rows), completions, truths, timeout=OUR_TIMEOUT, workers=2)
        binary = verl.compute_score_batch(["taco"] * len(rows), completions, truths, timeout=OUR_TIMEOUT, workers=2,
                                          kind="binary")
    finally:
        verl.close()
    differ = [(name, completion.split("```python\n")[1][:80], ours[i]["score"], theirs[i][0])
              for i, (name, completion, _) in enumerate(rows) if ours[i]["score"] != theirs[i][0]]
    assert differ == [], f"{len(differ)} of {len(rows)} rewards differ (ours, prime_code's): {differ}"
    differ = [(name, i) for i, (name, _, _) in enumerate(rows) if binary[i]["score"] != theirs[i][1]]
    assert differ == [], f"{len(differ)} of {len(rows)} binary rewards differ: {differ}"
    scores = [t[0] for t in theirs]
    # every kind of outcome occurs: all right, all wrong, and partial credit from the first 10 cases
    assert scores.count(1.0) >= 80 and scores.count(0.0) >= 80 and sum(0 < s < 1 for s in scores) >= 20
