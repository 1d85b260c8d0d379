"""Trains and tests configs with several seeds, then tabulates mean ± std.

``python tools/analysis/compare_seeds.py CONFIG [CONFIG ...] --seeds 0 1 2
[--work-dir W]``

Every config runs once per seed, each in ``W/{config stem}/seed_{S}``, with
the same schedule: only ``randomness.seed`` changes. A run whose result file
exists is reused and an interrupted one resumes, so the command can be
stopped and started again. Results go to ``W/seed_comparison.{md,json}``:
per-config UAR and WAR for every seed, their mean and std, and per-config
tables with per-class recall.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys

from mmengine.config import DictAction
from mmengine.runner import find_latest_checkpoint

from fineclip.apis import load_config, prepare_embedded_default
from fineclip.apis.cross_validation import (format_markdown, summarize,
                                            train_and_test)
from fineclip.apis.error_boundary import run_main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+', help='configs to compare')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--work-dir', default='work_dirs/seed_comparison')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys in every run')
    return parser.parse_args(argv)


def seed_config(cfg, seed: int, work_dir: str):
    """A copy of ``cfg`` seeded with ``seed`` that writes to ``work_dir``."""
    cfg = copy.deepcopy(cfg)
    cfg.randomness = dict(cfg.get('randomness', {}), seed=seed)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'seed_{seed}'
    cfg.resume = find_latest_checkpoint(work_dir) is not None
    cfg.load_from = None
    return cfg


def comparison_table(summaries: dict) -> str:
    """One row per config: UAR and WAR as mean ± std (in %) over seeds."""
    lines = ['| config | seeds | UAR (%) | WAR (%) |', '|---|---|---|---|']
    for name, summary in summaries.items():
        uar, war = summary['metrics']['UAR'], summary['metrics']['WAR']
        per_seed = ', '.join(f'{100 * v:.1f}' for v in uar['per_run'])
        lines.append(
            f"| {name} | {len(summary['seeds'])} | "
            f"{100 * uar['mean']:.2f} ± {100 * uar['std']:.2f} "
            f"({per_seed}) | {100 * war['mean']:.2f} ± "
            f"{100 * war['std']:.2f} |")
    return '\n'.join(lines) + '\n'


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    summaries = {}
    for config in args.configs:
        name = osp.splitext(osp.basename(config))[0]
        cfg = load_config(config, args.cfg_options)
        prepare_embedded_default(cfg)
        results = []
        for seed in args.seeds:
            run_dir = osp.join(args.work_dir, name, f'seed_{seed}')
            result = train_and_test(seed_config(cfg, seed, run_dir), run_dir,
                                    seed=seed, config=config)
            state = 'reused' if result['reused'] else 'trained'
            print(f"{name} seed {seed} ({state}): UAR "
                  f"{result['metrics']['UAR']:.4f} WAR "
                  f"{result['metrics']['WAR']:.4f}", flush=True)
            results.append(result)
        summaries[name] = summarize(results, key='seed')
    table = comparison_table(summaries)
    details = '\n'.join(f'## {name}\n\n{format_markdown(s)}'
                        for name, s in summaries.items())
    with open(osp.join(args.work_dir, 'seed_comparison.md'), 'w') as f:
        f.write(table + '\n' + details)
    with open(osp.join(args.work_dir, 'seed_comparison.json'), 'w') as f:
        json.dump(summaries, f, indent=2)
    print(table)
    print(f'Written to {args.work_dir}/seed_comparison.{{md,json}}')


if __name__ == '__main__':
    sys.exit(run_main(main))
