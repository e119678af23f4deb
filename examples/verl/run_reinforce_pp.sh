#!/usr/bin/env bash
# The paper's RL run (ACECODER §9) on verl, scored by acecoder's sandboxed test reward.
# Not run in this repository's CI (verl needs GPUs). Reward flags for verl 0.7 and later
# (tested with verl==0.9.1: tests/upstream/test_verl.py composes verl's own trainer config with
# this script's reward lines and scores through the reward-loop manager they select).
#
#   acecoder hard-subset dataset.jsonl -o data/hard.parquet --format verl
#   bash examples/verl/run_reinforce_pp.sh data/hard.parquet
set -euo pipefail
TRAIN=${1:?give the hard subset in verl format (.parquet)}
VAL=${2:-$TRAIN}

python3 -m verl.trainer.main_ppo \
    algorithm.adv_estimator=reinforce_plus_plus \
    algorithm.use_kl_in_reward=True \
    algorithm.kl_ctrl.kl_coef=0.01 \
    data.train_files="$TRAIN" \
    data.val_files="$VAL" \
    data.train_batch_size=256 \
    data.max_prompt_length=2000 \
    data.max_response_length=1024 \
    data.filter_overlong_prompts=True \
    actor_rollout_ref.model.path=Qwen/Qwen2.5-Coder-7B-Instruct \
    actor_rollout_ref.actor.optim.lr=5e-7 \
    actor_rollout_ref.actor.ppo_mini_batch_size=16 \
    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4 \
    actor_rollout_ref.actor.use_kl_loss=False \
    actor_rollout_ref.rollout.name=vllm \
    actor_rollout_ref.rollout.n=8 \
    actor_rollout_ref.rollout.temperature=1.0 \
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=8 \
    actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=8 \
    reward.custom_reward_function.path=pkg://acecoder.rewards.verl \
    reward.custom_reward_function.name=compute_score \
    +reward.custom_reward_function.reward_kwargs.kind=binary \
    +reward.custom_reward_function.reward_kwargs.timeout=3.0 \
    +reward.custom_reward_function.reward_kwargs.workers=4 \
    reward.num_workers=8 \
    trainer.n_gpus_per_node=8 \
    trainer.nnodes=1 \
    trainer.total_epochs=1 \
    trainer.project_name=acecoder \
    trainer.experiment_name=reinforce_pp_binary \
    trainer.logger='[console]'
# Notes
# - ppo_mini_batch_size counts prompts: 16 prompts x 8 samples = 128 completions an update (the paper's train batch).
# - The R1-style run from a base model: write the data with a system prompt of your own, set
#   actor_rollout_ref.model.path=Qwen/Qwen2.5-Coder-7B and add +reward.custom_reward_function.reward_kwargs.format_weight=0.1.
# - verl 0.7+ scores each sample in one of reward.num_workers reward-loop actors, each with its own
#   sandbox of reward_kwargs.workers processes: num_workers x workers should match the CPU cores.
# - verl 0.4-0.6 (the legacy reward managers) score a whole batch in one call instead:
#     reward_model.reward_manager=batch \
#     custom_reward_function.path=$(python -c 'import acecoder.rewards.verl as m; print(m.__file__)') \
#     custom_reward_function.name=compute_score_batch +custom_reward_function.reward_kwargs.kind=binary
#   verl 0.7+ ignores those keys (its reward loop has no `batch` manager) and falls back to its own
#   scorers, which do not know data_source acecoder/...
