"""Run by tests/stages/test_rl.py under torchrun: `acecoder rl` in each process, recording
the dtypes of the weights the optimizer steps and the rewards each process computed.

    python -m torch.distributed.run --nproc_per_node 2 _rl_probe.py SETTINGS.json OUT_DIR
"""

import json
import os
import sys
from pathlib import Path

from transformers import TrainerCallback

from acecoder.stages import rl


class Probe(TrainerCallback):
    def __init__(self):
        self.dtypes: set[str] = set()
        self.steps = 0

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        self.steps += 1
        self.dtypes.update(str(p.dtype) for group in optimizer.param_groups for p in group["params"])


def main() -> None:
    settings = rl.RLSettings(**json.loads(Path(sys.argv[1]).read_text()))
    probe = Probe()
    rl.run(settings, callbacks=[probe])
    rank = os.environ["RANK"]
    record = {"dtypes": sorted(probe.dtypes), "optimizer_steps": probe.steps}
    (Path(sys.argv[2]) / f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main()
