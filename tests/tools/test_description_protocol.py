"""The evaluation protocol of descriptions: label-conditioned texts of
evaluated clips are refused by train, test and cross-validation; the
label-hint study gives labels to one fold's training clips only."""
import json
import os.path as osp

import pytest
from mmengine.config import Config

from fineclip.apis.description_generation import (
    description_clips_from_config, generate_descriptions)
from fineclip.apis.description_protocol import (
    LabelConditionedEvalError, check_label_free_descriptions, label_hint_ids)
from fineclip.preprocessing.describers import VideoLlavaDescriber
from fineclip.preprocessing.describers import video_llava as vl
from fineclip.utils.errors import UserInputError
from tests.helpers import call_tool_main
from tests.preprocessing.test_describers import tiny_video_llava

DAGGER = 'configs/synthetic/fineclip_dagger_synthetic.py'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def _write(path, records):
    with open(path, 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)
    return str(path)


def _labelled_copy(tiny_data, tmp_path):
    """The synthetic texts, marked as an MLLM told every clip's label would
    write them."""
    records = _lines(osp.join(tiny_data, 'descriptions.jsonl'))
    for record in records:
        record.update(describer='VideoLlavaDescriber', model='m',
                      label_given=True)
    return _write(tmp_path / 'labelled.jsonl', records)


def _options(tiny_data, texts, *more):
    options = ['embedded_default=None', 'model.clip.pretrained=None']
    for loader in LOADERS:
        options += [f'{loader}.dataset.data_root={tiny_data}',
                    f'{loader}.dataset.description_file={texts}',
                    f'{loader}.num_workers=0']
    return ['--cfg-options'] + options + list(more)


def _test_ids(tiny_data, fold=1):
    split = osp.join(tiny_data, 'EmoLabel_DataSplit',
                     'test(single-labeled)', f'set_{fold}.csv')
    with open(split) as f:
        return [line.split(',')[0] for line in f.read().split()[1:]]


def test_train_test_and_cross_validation_refuse_labelled_eval_texts(
        tiny_data, tmp_path):
    texts = _labelled_copy(tiny_data, tmp_path)
    shown = ', '.join(sorted(_test_ids(tiny_data))[:5])
    for tool, argv in (
            ('tools/train.py', [DAGGER, '--work-dir', tmp_path / 'w']),
            ('tools/test.py', [DAGGER, tmp_path / 'absent.pth']),
            ('tools/cross_validate.py', [DAGGER, '--folds', '1', '2',
                                         '--work-dir', tmp_path / 'cv'])):
        run = call_tool_main(tool, argv + _options(tiny_data, texts))
        assert run.returncode != 0, tool
        err = run.stderr
        assert 'LabelConditionedEvalError' in err or run.returncode == 2
        assert f'{texts}: ' in err and 'label_given: true' in err, err
        assert 'allow_label_conditioned_eval = True' in err
        # one fold: its 7 test clips; two folds: 14
        count = 14 if 'cross_validate' in tool else 7
        assert f'{count} clip(s) of ' in err, err
        assert shown in err or 'cross_validate' in tool
    assert not osp.exists(tmp_path / 'w' / 'epoch_1.pth')


def test_allowed_label_conditioned_eval_runs_and_says_so(tiny_data,
                                                         tmp_path):
    texts = _labelled_copy(tiny_data, tmp_path)
    work = tmp_path / 'work'
    run = call_tool_main('tools/test.py', [DAGGER, '--work-dir', work] +
                         _options(tiny_data, texts,
                                  'test_without_checkpoint=True',
                                  'allow_label_conditioned_eval=True'))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    out = run.stdout + run.stderr
    assert 'UAR' in out
    # printed after the scores, in the log file, and in the dumped config
    last = run.stdout.rstrip().splitlines()[-1]
    assert last.startswith('label_conditioned_eval: true (')
    logs = list(work.glob('*/*.log'))
    assert logs and 'label_conditioned_eval: true' in logs[0].read_text()
    dumped = Config.fromfile(next(work.glob('*/vis_data/config.py')))
    assert dumped.label_conditioned_eval is True


def _fold_config(root, texts=None, fold=1):
    def dataset(split):
        return dict(type='DFEWDataset', data_root=root, fold=fold,
                    split=split, description_file=texts)
    return Config(dict(train_dataloader=dict(dataset=dataset('train')),
                       test_dataloader=dict(dataset=dataset('test'))))


def test_label_hints_reach_only_the_training_clips_of_the_fold(tiny_data,
                                                              tmp_path):
    cfg = _fold_config(tiny_data)
    tag, hinted = label_hint_ids(cfg)
    test_ids = set(_test_ids(tiny_data))
    assert tag == 'fold1' and len(hinted) == 28 and not hinted & test_ids
    model, processor = tiny_video_llava()
    describer = VideoLlavaDescriber.from_pretrained_objects(
        model, processor, with_label=True, max_new_tokens=1, batch_size=8,
        device='cpu')
    prompts = {}
    prompt_for = describer.prompt_for
    describer.prompt_for = lambda clip: prompts.setdefault(
        clip.clip_id, prompt_for(clip))
    clips = description_clips_from_config(cfg)
    out = str(tmp_path / f'descriptions.label_hints.{tag}.jsonl')
    generate_descriptions(describer, clips, out, progress=False,
                          label_ids=hinted)
    labels = {c.clip_id: c.label for c in clips}
    assert len(prompts) == 35
    for clip_id in test_ids:  # no test clip's prompt holds a label
        assert prompts[clip_id] == vl.build_prompt(), clip_id
        assert 'The expression in the video is' not in prompts[clip_id]
    for clip_id in hinted:
        assert prompts[clip_id] == vl.build_prompt(label=labels[clip_id])
    given = {r['clip_id'] for r in _lines(out) if r['label_given']}
    assert given == hinted
    # the fold's own runs accept the file; another fold's refuse it
    assert check_label_free_descriptions(_fold_config(tiny_data, out)) is \
        None
    with pytest.raises(LabelConditionedEvalError, match='test_dataloader'):
        check_label_free_descriptions(_fold_config(tiny_data, out, fold=2))


def test_label_hints_are_refused_where_they_cannot_be_safe(tiny_data,
                                                          tmp_path):
    clips = osp.join(tiny_data, 'Clip', 'clip_224x224')
    hint = ['--describer', 'VideoLlavaDescriber', '--describer-cfg',
            'with_label=True']
    run = call_tool_main('tools/data/generate_descriptions.py',
                         [clips, '--out', tmp_path / 'a.jsonl'] + hint)
    assert run.returncode != 0 and 'needs a CONFIG' in run.stderr
    config = tmp_path / 'fold.py'
    config.write_text(f'train_dataloader = dict(dataset=dict(type='
                      f"'DFEWDataset', data_root={tiny_data!r}, fold=2, "
                      "split='train'))\ntest_dataloader = dict(dataset=dict("
                      f"type='DFEWDataset', data_root={tiny_data!r}, "
                      "fold=2, split='test'))\n")
    run = call_tool_main('tools/data/generate_descriptions.py',
                         [config, '--out', tmp_path / 'shared.jsonl'] + hint)
    assert run.returncode != 0 and "put 'fold2' in its name" in run.stderr
    run = call_tool_main('tools/data/prepare.py', [config] + hint)
    assert run.returncode != 0 and 'every fold reads' in run.stderr
    # a config whose training clips are all evaluated has none to hint
    cfg = _fold_config(tiny_data)
    cfg.test_dataloader.dataset.split = 'train'
    with pytest.raises(UserInputError, match='every training clip'):
        label_hint_ids(cfg)
    assert not list(tmp_path.glob('*.jsonl'))
