"""The warm-up argument for both transformers majors TRL accepts."""

import transformers

from acecoder._transformers_args import warmup


def test_warmup_is_a_share_of_the_steps_on_the_installed_transformers(tmp_path):
    args = transformers.TrainingArguments(output_dir=str(tmp_path), **warmup(0.1), report_to=[])
    assert args.get_warmup_steps(200) == 20  # not 0.1 steps


def test_transformers_4_gets_warmup_ratio():
    assert warmup(0.1, version="4.57.1") == {"warmup_ratio": 0.1}
    assert warmup(0.1, version="5.0.0") == {"warmup_steps": 0.1}
