"""Remove emotion words and interpretations from clip descriptions.

``python tools/data/refine_descriptions.py IN.jsonl --out OUT.jsonl
[--config CONFIG | --labels FILE] [--report REPORT.json]``

Reads ``{"clip_id": ..., "text": ...}`` lines, refines each text (rule
filters on NLTK tokens; see ``fineclip/preprocessing/refinement/``) and
writes the same clip ids in the same order, each line keeping its
provenance fields (``describer``, ``label_given``...) with ``refined:
true`` added. The report measures label leakage before and after: the
share of descriptions holding an emotion word and, with labels (from the
dataset a CONFIG lists, or a JSONL/CSV ``clip_id,label`` FILE), the
pooled k-fold accuracy of a logistic-regression classifier that predicts
the label from the text alone, next to chance level. With a CONFIG it also
reports, per fold of the dataset's own protocol, the classifier fitted on
that fold's training descriptions and scored on its test descriptions
(train-to-test: the leak a model reading descriptions at test time could
use), beside chance (majority class and uniform); see
docs/evaluation_protocol.md. The classifier needs scikit-learn (``pip
install "fineclip[refine]"``); without labels it is not used.

Refinement is a fast pure function of the input, so a rerun simply redoes
it; the output file is replaced only once it is complete.
"""
import argparse
import json
import os.path as osp
import sys

from mmengine.config import DictAction

from fineclip.apis.description_leakage import fold_splits
from fineclip.apis.description_refinement import (labels_from_config,
                                                  refine_description_file)
from fineclip.apis.error_boundary import run_main
from fineclip.preprocessing.refinement import (read_labels,
                                               require_scikit_learn)
from fineclip.utils.config import load_config
from fineclip.utils.data_root import add_data_root_argument


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('input', help='descriptions JSONL to refine')
    parser.add_argument('--out', required=True,
                        help='where the refined JSONL goes')
    labels = parser.add_mutually_exclusive_group()
    labels.add_argument('--config',
                        help='config whose datasets give the clip labels')
    labels.add_argument('--labels', metavar='FILE',
                        help='clip labels: JSONL {"clip_id", "label"} or '
                        'CSV clip_id,label')
    parser.add_argument('--report', metavar='REPORT.json',
                        help='leakage report (default: OUT with '
                        '.report.json)')
    parser.add_argument('--folds', type=int, default=5,
                        help='cross-validation folds (default 5)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the fold assignment (default 0)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys (with --config)')
    add_data_root_argument(parser)
    return parser.parse_args(argv)


def _percent(value):
    return f'{100 * value:6.1f}%'


def format_summary(report: dict) -> str:
    """A short before/after table of a :func:`leakage_report` dict."""
    lex, ref = report['lexicon'], report['refinement'] or {}
    rows = [f"{'':38}{'before':>8}{'after':>8}",
            f"{'descriptions with emotion words':38}"
            f"{_percent(lex['share_before']):>8}"
            f"{_percent(lex['share_after']):>8}"]
    clf = report.get('classifier')
    if clf:
        name = f"text-only classifier, {clf['folds']}-fold"
        rows += [f"{name + ' accuracy':38}"
                 f"{_percent(clf['accuracy_before']):>8}"
                 f"{_percent(clf['accuracy_after']):>8}",
                 f"{name + ' UAR':38}"
                 f"{_percent(clf['uar_before']):>8}"
                 f"{_percent(clf['uar_after']):>8}",
                 f"chance: majority class "
                 f"{_percent(clf['majority_share']).strip()}, "
                 f"1/{clf['num_classes']} = "
                 f"{_percent(clf['uniform_chance']).strip()} "
                 f"({clf['num_samples']} labelled clips, "
                 f"{clf['num_unlabelled']} without a label)"]
    rows += _fold_rows(report.get('per_fold') or [])
    rows.append(
        f"{report['num_descriptions']} descriptions: "
        f"{ref.get('changed', 0)} changed, "
        f"{ref.get('sentences_dropped', 0)} sentences dropped, "
        f"{ref.get('hedges_cut', 0)} hedges cut, "
        f"{ref.get('words_removed', 0)} words removed, "
        f"{ref.get('clauses_dropped', 0)} clauses dropped, "
        f"{ref.get('duplicates_dropped', 0)} repeated sentences dropped, "
        f"{ref.get('fallbacks', 0)} emptied (now the fallback text)")
    return '\n'.join(rows)


def _fold_rows(per_fold) -> list:
    """One line per fold of the train-to-test figures."""
    rows = []
    for row in per_fold:
        if 'skipped' in row:
            rows.append(f"train-to-test, {row['fold']}: not measured "
                        f"({row['skipped']})")
            continue
        rows.append(
            f"train-to-test, {row['fold']} ({row['num_train']} train -> "
            f"{row['num_test']} test): accuracy "
            f"{_percent(row['accuracy_before']).strip()} -> "
            f"{_percent(row['accuracy_after']).strip()}, UAR "
            f"{_percent(row['uar_before']).strip()} -> "
            f"{_percent(row['uar_after']).strip()} (chance: majority "
            f"{_percent(row['majority_share']).strip()}, uniform "
            f"{_percent(row['uniform_chance']).strip()})")
    return rows


def main(argv=None):
    args = parse_args(argv)
    if osp.abspath(args.out) == osp.abspath(args.input) or (
            osp.exists(args.out) and osp.exists(args.input)
            and osp.samefile(args.out, args.input)):
        sys.exit('--out must differ from the input: the original text is '
                 'what the report compares with.')
    if osp.isdir(args.out):  # before the (slow) refinement, not after it
        sys.exit(f'--out {args.out}: is a folder; give the refined file, '
                 f"e.g. {osp.join(args.out, 'descriptions_refined.jsonl')}")
    if args.config or args.labels:
        require_scikit_learn()  # before loading labels, which can be slow
    labels = splits = None
    if args.config:
        labels = labels_from_config(args.config, args.cfg_options)
        splits, _ = fold_splits(load_config(args.config, args.cfg_options))
    elif args.labels:
        labels = read_labels(args.labels)
    report = refine_description_file(args.input, args.out, labels,
                                     args.folds, args.seed, splits)
    report.update(input=args.input, output=args.out,
                  labels_from=args.config or args.labels)
    report_path = args.report or osp.splitext(args.out)[0] + '.report.json'
    with open(report_path, 'w', encoding='utf-8') as f:
        json.dump(report, f, indent=2)
    print(format_summary(report))
    print(f'Refined descriptions: {args.out}\nReport: {report_path}')


if __name__ == '__main__':
    sys.exit(run_main(main))
