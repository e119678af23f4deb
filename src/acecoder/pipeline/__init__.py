"""The whole method as one pipeline: `acecoder run CONFIG.yaml`, `acecoder demo`.

    from acecoder.pipeline import load_config, run_pipeline

    config, raw = load_config("configs/pipeline.yaml", ["sample.policies.0.n=4"])
    outcomes = run_pipeline(config, raw, first="filter", last="pairs")
"""

from acecoder.pipeline.config import STAGES, Config, load_config
from acecoder.pipeline.runner import Outcome, run_pipeline

__all__ = ["STAGES", "Config", "Outcome", "load_config", "run_pipeline"]
