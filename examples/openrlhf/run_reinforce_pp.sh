#!/usr/bin/env bash
# The paper's RL run (ACECODER §9) on OpenRLHF 0.11 (flags checked against openrlhf==0.11.2's
# train_ppo_ray), rewards from `acecoder serve-reward` over --reward.remote_url. Not run in this
# repository's CI (OpenRLHF needs GPUs); OpenRLHF's own request code is run against the server
# in tests/rewards/test_openrlhf_upstream.py.
#
#   acecoder hard-subset dataset.jsonl -o data/hard_openrlhf.jsonl --format openrlhf
#   acecoder serve-reward --host 0.0.0.0 --port 5000 --workers 32 &      # on a CPU-rich node
#   bash examples/openrlhf/run_reinforce_pp.sh data/hard_openrlhf.jsonl http://RM_HOST:5000/get_reward
#
# Or without a server: OpenRLHF 0.10.2+ loads a Python file as the reward, in each rollout actor
# (no HTTP timeout; each actor runs its own sandbox on its node's CPUs):
#   bash examples/openrlhf/run_reinforce_pp.sh data/hard_openrlhf.jsonl "$(python -m acecoder.rewards.openrlhf_func)"
set -euo pipefail
DATA=${1:?give the hard subset in openrlhf format (.jsonl)}
REWARD=${2:-http://127.0.0.1:5000/get_reward}

python3 -m openrlhf.cli.train_ppo_ray \
    --ref.num_nodes 1 --ref.num_gpus_per_node 8 \
    --actor.num_nodes 1 --actor.num_gpus_per_node 8 \
    --vllm.num_engines 4 --vllm.tensor_parallel_size 2 \
    --train.colocate_all --vllm.gpu_memory_utilization 0.5 \
    --actor.model_name_or_path Qwen/Qwen2.5-Coder-7B-Instruct \
    --reward.remote_url "$REWARD" \
    --data.prompt_dataset "$DATA" \
    --data.input_key context_messages --data.label_key tests --data.apply_chat_template \
    --algo.advantage.estimator reinforce \
    --algo.kl.init_coef 0.01 \
    --rollout.batch_size 256 --rollout.n_samples_per_prompt 8 \
    --train.batch_size 128 --train.micro_batch_size 2 --rollout.micro_batch_size 8 \
    --actor.adam.lr 5e-7 \
    --rollout.temperature 1.0 \
    --train.num_episodes 1 \
    --data.max_len 3024 --rollout.max_new_tokens 1024 \
    --ds.zero_stage 3 --ds.param_dtype bf16 --actor.gradient_checkpointing_enable \
    --ckpt.path runs/openrlhf-reinforce-pp
# Notes
# - OpenRLHF before 0.10.2 spells these flags flat: --pretrain, --remote_rm_url, --prompt_data,
#   --input_key, --label_key, --apply_chat_template, --advantage_estimator, --init_kl_coef, ...
# - The server answers {"rewards", "scores", "extra_logs": {"pass_rate", "all_passed", "execution_seconds"}},
#   every log a list with one number per sample (OpenRLHF averages them). A request OpenRLHF retries
#   after its 180 s timeout waits for the evaluation already running instead of running it again.
# - Add the reward model to the server: acecoder serve-reward --reward-model RM_DIR --model-weight 0.5
#   (scores normalised with running statistics; --test-weight 0 for the reward model alone).
# - R1-style from a base model: --actor.model_name_or_path Qwen/Qwen2.5-Coder-7B and
#   acecoder serve-reward --format-weight 0.1, with prompts that carry the think-then-answer system
#   prompt (acecoder.rewards.R1_SYSTEM_PROMPT).
