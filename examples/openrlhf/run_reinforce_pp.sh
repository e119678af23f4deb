#!/usr/bin/env bash
# The paper's RL run (ACECODER §9) on OpenRLHF, rewards from `acecoder serve-reward` over
# --remote_rm_url. Not run in this repository's CI (OpenRLHF needs GPUs and Ray); the server
# is tested in tests/rewards/test_adapters.py. Flags follow OpenRLHF's train_ppo_ray (0.6-0.8).
#
#   acecoder hard-subset dataset.jsonl -o data/hard_openrlhf.jsonl --format openrlhf
#   acecoder serve-reward --host 0.0.0.0 --port 5000 --workers 32 &      # on a CPU-rich node
#   bash examples/openrlhf/run_reinforce_pp.sh data/hard_openrlhf.jsonl http://RM_HOST:5000/get_reward
set -euo pipefail
DATA=${1:?give the hard subset in openrlhf format (.jsonl)}
RM_URL=${2:-http://127.0.0.1:5000/get_reward}

python3 -m openrlhf.cli.train_ppo_ray \
    --ref_num_nodes 1 --ref_num_gpus_per_node 8 \
    --actor_num_nodes 1 --actor_num_gpus_per_node 8 \
    --vllm_num_engines 4 --vllm_tensor_parallel_size 2 \
    --colocate_all_models --vllm_gpu_memory_utilization 0.5 \
    --pretrain Qwen/Qwen2.5-Coder-7B-Instruct \
    --remote_rm_url "$RM_URL" \
    --prompt_data "$DATA" \
    --input_key context_messages --label_key tests --apply_chat_template \
    --advantage_estimator reinforce \
    --init_kl_coef 0.01 \
    --rollout_batch_size 256 --n_samples_per_prompt 8 \
    --train_batch_size 128 --micro_train_batch_size 2 --micro_rollout_batch_size 8 \
    --actor_learning_rate 5e-7 \
    --temperature 1.0 \
    --num_episodes 1 \
    --prompt_max_len 2000 --generate_max_len 1024 \
    --zero_stage 3 --bf16 --gradient_checkpointing \
    --save_path runs/openrlhf-reinforce-pp
# Notes
# - The server answers {"rewards", "scores", "extra_logs": {"pass_rate", "all_passed", "reward_seconds"}}.
# - Add the reward model to the server: acecoder serve-reward --reward-model RM_DIR --model-weight 0.5
#   (scores normalised with running statistics; --test-weight 0 for the reward model alone).
# - R1-style from a base model: --pretrain Qwen/Qwen2.5-Coder-7B and acecoder serve-reward --format-weight 0.1,
#   with prompts that carry the think-then-answer system prompt (acecoder.rewards.R1_SYSTEM_PROMPT).
