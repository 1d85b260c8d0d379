"""tools/data/prepare.py: the checklist, --run and the check in train.py."""
import glob
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from fineclip.models.encoders.long_clip_text_encoder import stretched_length
from fineclip.preprocessing import BaseFaceAnalyzer
from fineclip.registry import FACE_ANALYZERS
from tests.conftest import TINY_ARCH
from tests.helpers import ROOT, call_tool_main

DAGGER_DFEW = osp.join(ROOT, 'configs/fineclip_star_dagger_dfew.py')
DAGGER_SYNTHETIC = osp.join(
    ROOT, 'configs/synthetic/fineclip_star_dagger_synthetic.py')
STAR_SYNTHETIC = osp.join(ROOT, 'configs/synthetic/fineclip_star_synthetic.py')


@FACE_ANALYZERS.register_module(force=True)
class PrepareTestAnalyzer(BaseFaceAnalyzer):
    """Any face at all: the maps' values do not matter here."""

    def analyze(self, frames):
        n, s = len(frames), self.parsing_size
        return dict(landmarks=np.full((n, 68, 2), 0.5, np.float32),
                    face_found=np.ones(n, bool),
                    parsing=np.ones((n, s, s), np.uint8))


def tiny_options(data_root, dagger=True, synthetic=True):
    """--cfg-options that shrink a star(-dagger) config to seconds, as
    tests/tools/test_star_dagger_entry_point.py does."""
    context = stretched_length(TINY_ARCH['text_cfg']['context_length'])
    options = ['model.clip.arch=fineclip-tiny', 'model.clip.pretrained=None',
               'model.clip.quick_gelu=False',
               'model.branches.video.encoder.num_frames=4',
               'model.branches.face_maps.encoder.num_frames=4',
               'train_cfg.max_epochs=1']
    if synthetic:  # its data is given: nothing to generate
        options.append('embedded_default=None')
    if dagger:
        options += ['model.branches.description.encoder.checkpoint=None',
                    'model.branches.description.encoder.context_length='
                    f'{context}']
    for loader, tokens_at in (('train_dataloader', 7), ('val_dataloader', 5),
                              ('test_dataloader', 5)):
        options += [f'{loader}.dataset.data_root={data_root}',
                    f'{loader}.batch_size=7', f'{loader}.num_workers=0',
                    f'{loader}.dataset.pipeline.0.num_frames=4',
                    f'{loader}.dataset.pipeline.3.size=32']
        if dagger:
            options.append(f'{loader}.dataset.pipeline.{tokens_at}.'
                           f'context_length={context}')
    return options


def _copy(tiny_data, tmp_path, drop=()):
    root = str(tmp_path / 'data')
    shutil.copytree(tiny_data, root)
    for name in drop:
        path = osp.join(root, name)
        shutil.rmtree(path) if osp.isdir(path) else os.remove(path)
    return root


def test_fresh_clone_gets_the_whole_checklist(tmp_path):
    run = call_tool_main('tools/data/prepare.py', [DAGGER_DFEW],
                         cwd=str(tmp_path))
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    for line in (
            '[missing] data root: data/DFEW',
            '[missing] split file (train fold 1): data/DFEW/EmoLabel_Data'
            'Split/train(single-labeled)/set_1.csv',
            '[missing] clips: unknown',
            'CLIP (model.clip.pretrained)',
            '[missing] Long-CLIP (model.branches.description.encoder.'
            'checkpoint): checkpoints/longclip/longclip-B.pt',
            "'BeichenZhang/LongCLIP-B'",
            '[missing] FaceXFormer',
            'kartiknarayan/facexformer ckpts/model.pt',
            '[missing] Video-LLaVA',
            '[missing] face-map files: data/DFEW/face_maps/',
            f'python tools/data/extract_face_maps.py {DAGGER_DFEW} '
            '--analyzer FaceXFormerAnalyzer --analyzer-cfg checkpoint='
            'checkpoints/facexformer/ckpts/model.pt',
            '[missing] raw descriptions: data/DFEW/descriptions.jsonl',
            f'python tools/data/generate_descriptions.py {DAGGER_DFEW} '
            '--describer VideoLlavaDescriber\n',
            '[missing] refined descriptions: data/DFEW/descriptions_refined'
            '.jsonl',
            'python tools/data/refine_descriptions.py data/DFEW/descriptions'
            '.jsonl --out data/DFEW/descriptions_refined.jsonl'):
        assert line in out, line
    # the printed description step gives no clip its label
    assert 'with_label' not in out
    assert os.listdir(tmp_path) == []  # the checklist writes nothing


@pytest.mark.slow(8)
def test_run_prepares_a_synthetic_star_dagger_set_then_trains(tiny_data,
                                                              tmp_path):
    root = _copy(tiny_data, tmp_path, ('face_maps', 'descriptions.jsonl'))
    work_dir = str(tmp_path / 'work')
    argv = [DAGGER_SYNTHETIC, '--run', '--analyzer', 'PrepareTestAnalyzer',
            '--analyzer-cfg', 'parsing_size=16', '--workers', '0',
            '--describer', 'LandmarkMotionDescriber',
            '--cfg-options'] + tiny_options(root)
    run = call_tool_main('tools/data/prepare.py',
                         argv[:1] + ['--train', '--work-dir', work_dir] +
                         argv[1:])
    out = run.stdout
    assert run.returncode == 0, out[-3000:] + run.stderr[-3000:]
    order = [out.index(s) for s in (
        '[1/4] check', '[2/4] face maps',
        '$ python tools/data/extract_face_maps.py',
        '35 clips extracted', '[3/4] descriptions', '35 clips described',
        '[4/4] refine: nothing to do', 'All 6 items ready', 'Epoch(train)')]
    assert order == sorted(order)
    assert len(glob.glob(osp.join(root, 'face_maps', '*.npz'))) == 35
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    # resumable: a second run finds everything done and changes nothing
    stamps = {p: os.stat(p).st_mtime_ns
              for p in glob.glob(osp.join(root, 'face_maps', '*')) +
              [osp.join(root, 'descriptions.jsonl')]}
    again = call_tool_main('tools/data/prepare.py', argv)
    assert again.returncode == 0, again.stdout[-3000:]
    assert '[2/4] face maps: nothing to do' in again.stdout
    assert '[3/4] descriptions: nothing to do' in again.stdout
    assert stamps == {p: os.stat(p).st_mtime_ns for p in stamps}


def test_run_refines_only_what_is_missing(tiny_data, tmp_path):
    # the DFEW config reads refined descriptions; raw ones and maps exist
    root = _copy(tiny_data, tmp_path)
    run = call_tool_main('tools/data/prepare.py', [
        DAGGER_DFEW, '--run', '--cfg-options'] + tiny_options(
            root, synthetic=False))
    out = run.stdout
    assert run.returncode == 0, out[-3000:] + run.stderr[-3000:]
    assert '[2/4] face maps: nothing to do' in out
    assert '[3/4] descriptions: nothing to do' in out
    assert f'tools/data/refine_descriptions.py {root}/descriptions.jsonl ' \
        f'--out {root}/descriptions_refined.jsonl' in out
    assert '[present] refined descriptions' in out
    assert osp.isfile(osp.join(root, 'descriptions_refined.jsonl'))


def test_run_stops_at_a_problem_no_step_makes_good(tiny_data, tmp_path):
    root = _copy(tiny_data, tmp_path, ('face_maps', ))
    shutil.rmtree(osp.join(root, 'Clip/clip_224x224/00003'))
    run = call_tool_main('tools/data/prepare.py', [
        STAR_SYNTHETIC, '--run', '--analyzer', 'PrepareTestAnalyzer',
        '--cfg-options'] + tiny_options(root, dagger=False))
    assert run.returncode == 1
    assert "clip 00003's frame folder" in run.stdout
    assert 'Stopped: 1 problem(s)' in run.stdout
    assert not osp.exists(osp.join(root, 'face_maps'))  # before step 2


def test_train_prints_the_checklist_instead_of_the_first_error(tiny_data,
                                                               tmp_path):
    root = _copy(tiny_data, tmp_path, ('face_maps', ))
    work_dir = tmp_path / 'work'
    run = call_tool_main('tools/train.py', [
        STAR_SYNTHETIC, '--work-dir', str(work_dir), '--cfg-options'] +
        tiny_options(root, dagger=False))
    assert run.returncode == 2
    assert f'Not ready to train {STAR_SYNTHETIC}: no face-map files in ' \
        f"'{root}/face_maps'" in run.stderr
    assert f'[missing] face-map files: {root}/face_maps/: 0 of 35 clips' \
        in run.stdout
    assert 'Traceback' not in run.stderr
    assert not work_dir.exists()  # stopped before the Runner


@pytest.mark.parametrize('config', [STAR_SYNTHETIC, DAGGER_SYNTHETIC])
def test_synthetic_set_is_ready_as_generated(config, tiny_data):
    run = call_tool_main('tools/data/prepare.py', [
        config, '--cfg-options'] + tiny_options(
            tiny_data, dagger=config == DAGGER_SYNTHETIC))
    assert run.returncode == 0, run.stdout
    assert 'items ready: python tools/train.py' in run.stdout


def test_multi_process_steps_go_to_torchrun_or_srun(monkeypatch):
    import subprocess
    import sys

    from fineclip.apis.preparation import PrepareOptions, run_tool
    from fineclip.apis.preparation.commands import (command_line,
                                                    face_maps_argv)
    started = []
    monkeypatch.setattr(subprocess, 'run', lambda cmd, **kw: started.append(
        cmd) or subprocess.CompletedProcess(cmd, 0))
    opts = PrepareOptions('c.py', {'a.b': 1}, launcher='pytorch', nproc=8,
                          analyzer_cfg={'checkpoint': 'w.pt'})
    assert command_line('face_maps', face_maps_argv(opts), opts) == (
        'torchrun --nproc_per_node=8 tools/data/extract_face_maps.py c.py '
        '--analyzer FaceXFormerAnalyzer --analyzer-cfg checkpoint=w.pt '
        '--cfg-options a.b=1 --launcher pytorch')
    assert run_tool('face_maps', face_maps_argv(opts), opts,
                    echo=lambda _: None) == 0
    assert started[0][:4] == [sys.executable, '-m', 'torch.distributed.run',
                              '--nproc_per_node=8']
    assert started[0][-2:] == ['--launcher', 'pytorch']
    opts.launcher = 'slurm'
    run_tool('descriptions', ['c.py'], opts, echo=lambda _: None)
    assert started[1][:3] == ['srun', '--ntasks=8', sys.executable]
    assert started[1][-2:] == ['--launcher', 'slurm']
