"""Stage `sample`: n programs per question from a policy model, or the oracle's one greedy program (§3).

In:  a questions file (`Question` records). Out: a JSONL file of `Sample` records,
appended as answers arrive and resumable. The work is the component's,
`acecoder.llm.sampling` (its docstring has the method's settings, the prompt and how a
rerun pays once); `eval` and `bon` sample a benchmark's problems through it too.
"""

from acecoder.llm.sampling import SampleSettings, SampleSummary
from acecoder.llm.sampling import sample_questions as run

__all__ = ["SampleSettings", "SampleSummary", "run"]
