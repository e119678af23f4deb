"""Code reward models: train (Bradley-Terry on preference pairs), score, serve, convert.

    from acecoder.rm import RewardModel, RemoteRewardModel

    rm = RewardModel.load("runs/rm")                       # any of the three head layouts
    rm.score(["Write add(a, b)."], ["def add(a, b):\n    return a + b"], [["assert add(1, 2) == 3"]])
    remote = RemoteRewardModel("http://127.0.0.1:8000")    # the same .score(...), over HTTP

`convert(source, output, layout=...)` moves a checkpoint between the AceCodeRM
(`v_head`), transformers (`score`) and OpenRLHF (`value_head`) layouts. Importing this
package loads neither torch nor transformers; they are imported when a model loads.
"""

from acecoder.rm._convert import ConvertSummary, convert
from acecoder.rm._model import LAYOUTS, RewardModel, detect_layout, last_token_index
from acecoder.rm._render import encode, pair_messages, render
from acecoder.rm._server import RemoteRewardModel, create_app

__all__ = [
    "LAYOUTS",
    "ConvertSummary",
    "RemoteRewardModel",
    "RewardModel",
    "convert",
    "create_app",
    "detect_layout",
    "encode",
    "last_token_index",
    "pair_messages",
    "render",
]
