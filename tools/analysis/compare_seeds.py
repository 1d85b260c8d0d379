"""Trains and tests configs with several seeds, then tabulates mean ± std.

``python tools/analysis/compare_seeds.py CONFIG [CONFIG ...] --seeds 0 1 2
[--work-dir W]``

Every config runs once per seed, each in ``W/{config stem}/seed_{S}``, with
the same schedule: only ``randomness.seed`` changes. A run whose result file
exists is reused and an interrupted one resumes, so the command can be
stopped and started again, but only under the same protocol fingerprint
(resolved config and options): under another one it stops and names the
keys that differ (``--force`` moves the old run folder aside and trains
afresh). Results go to ``W/seed_comparison.{md,json}``: per-config UAR and
WAR for every seed, their mean and sample std with n, each row's protocol,
and per-config tables with per-class recall.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys

from mmengine.config import DictAction

from fineclip.apis import load_config, prepare_embedded_default
from fineclip.apis.cross_validation import (apply_selection, format_markdown,
                                            format_mean, selection_mark,
                                            std_header, summarize,
                                            train_and_test)
from fineclip.apis.error_boundary import run_main
from fineclip.apis.result_protocol import SELECTION_RULES
from fineclip.utils.data_root import add_data_root_argument


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+', help='configs to compare')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--work-dir', default='work_dirs/seed_comparison')
    parser.add_argument(
        '--select-on-test', action='store_true',
        help="test the epoch with the best TEST UAR: DFER-CLIP's published "
        'rule, for a like-for-like comparison with it only (every output '
        'line says so)')
    parser.add_argument(
        '--force', action='store_true',
        help='a run folder made under another protocol is moved aside '
        '(seed_S.superseded-N) and the run trains afresh')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys in every run')
    add_data_root_argument(parser)
    return parser.parse_args(argv)


def seed_config(cfg, seed: int, work_dir: str, select_on_test: bool = False):
    """A copy of ``cfg`` seeded with ``seed`` that writes to ``work_dir``
    (testing the best-test-UAR epoch with ``select_on_test``)."""
    cfg = copy.deepcopy(cfg)
    cfg.randomness = dict(cfg.get('randomness', {}), seed=seed)
    apply_selection(cfg, select_on_test=select_on_test)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'seed_{seed}'
    cfg.load_from = None
    return cfg


def comparison_table(summaries: dict) -> str:
    """One row per config: UAR and WAR as mean ± sample std (in %) over
    seeds, with n and each row's protocol (selection rule, fingerprint of
    what its seeds share)."""
    lines = ['| config | UAR (%) | WAR (%) | protocol |', '|---|---|---|---|']
    for name, summary in summaries.items():
        uar, war = summary['metrics']['UAR'], summary['metrics']['WAR']
        per_seed = ', '.join(f'{100 * v:.1f}' for v in uar['per_run'])
        lines.append(
            f"| {name}{selection_mark(summary)} | {format_mean(uar)} "
            f"({std_header(uar['n'])}; per seed {per_seed}) | "
            f"{format_mean(war)} | "
            f"{SELECTION_RULES[summary['selection']]}; fingerprint "
            f"{summary['fingerprint']['hash']} |")
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
            result = train_and_test(
                seed_config(cfg, seed, run_dir, args.select_on_test),
                run_dir, select_on_test=args.select_on_test,
                force=args.force, seed=seed, config=config)
            state = ('reused, same fingerprint' if result['reused']
                     else 'trained')
            print(f"{name} seed {seed} ({state}): UAR "
                  f"{result['metrics']['UAR']:.4f} WAR "
                  f"{result['metrics']['WAR']:.4f}; fingerprint "
                  f"{result['fingerprint']['hash']}"
                  f"{selection_mark(result)}", flush=True)
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
