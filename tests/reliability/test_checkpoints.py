"""Bad checkpoints, through every tool that loads one: a truncated ``.pth``,
a checkpoint of another FineCLIPER variant, and a ``.pth`` whose pickle
would run code when loaded. Each tool refuses each with a message naming
the file, writes nothing, and the planted code never runs (its marker file
never appears)."""
import builtins
import os
import os.path as osp

import pytest
import torch

from fineclip.engine.checkpoint_io import (UnreadableCheckpointError,
                                           read_checkpoint)
from tests.helpers import TINY_ARCH, call_tool_main

REASON = dict(truncated='truncated or corrupt',
              variant='another variant',
              code='could run code')


class _PlantedCode:
    """Pickles as a call that creates a marker file when unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (builtins.exec, (f'open({self.marker!r}, "w").close()', ))


@pytest.fixture(scope='module')
def bad_checkpoints(small_trained_run, tmp_path_factory):
    """The three bad files, made from the small run's real checkpoint, and
    the marker the planted code would create."""
    folder = tmp_path_factory.mktemp('bad_checkpoints')
    good = small_trained_run['checkpoint']
    with open(good, 'rb') as f:
        data = f.read()
    files = {}
    files['truncated'] = str(folder / 'truncated.pth')
    with open(files['truncated'], 'wb') as f:
        f.write(data[:len(data) // 2])  # a copy or a save cut short

    marker = str(folder / 'CODE_RAN')
    checkpoint = torch.load(good, map_location='cpu', weights_only=True)
    checkpoint['meta']['note'] = _PlantedCode(marker)
    files['code'] = str(folder / 'planted_code.pth')
    torch.save(checkpoint, files['code'])
    # the attack is real: an unrestricted unpickler runs it
    torch.load(files['code'], weights_only=False)  # our own test file
    assert osp.exists(marker)
    os.remove(marker)

    # FineCLIPER* (video + face-map branches) of the same tiny CLIP, for a
    # FineCLIPER config
    from mmengine.config import Config

    from fineclip.apis.model_builder import build_model
    from tests.helpers import ROOT
    star = Config.fromfile(
        osp.join(ROOT, 'configs/synthetic/fineclip_star_synthetic.py'))
    star.merge_from_dict({'model.clip.arch': TINY_ARCH,
                          'model.clip.pretrained': None})
    model = build_model(star, class_names=[str(i) for i in range(7)])
    files['variant'] = str(folder / 'star_variant.pth')
    torch.save({'state_dict': model.state_dict(),
                'meta': {'experiment_name': 'fineclip_star_synthetic_x'}},
               files['variant'])
    return dict(files=files, marker=marker, folder=folder)


def _check_refused(run, kind, path, marker):
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-2000:]
    assert path in out, out[-2000:]
    assert REASON[kind] in out, out[-2000:]
    if kind == 'variant':
        assert "['face_maps', 'video']" in out and "['video']" in out, \
            out[-2000:]
    else:  # a bad file, not a wrong config: no hint at the config
        assert 'does not fit the model' not in out, out[-2000:]
    assert not osp.exists(marker)


def test_read_checkpoint_refuses_each_kind(bad_checkpoints):
    files, marker = bad_checkpoints['files'], bad_checkpoints['marker']
    for kind in ('truncated', 'code'):
        with pytest.raises(UnreadableCheckpointError,
                           match=REASON[kind]) as err:
            read_checkpoint(files[kind])
        assert files[kind] in str(err.value)
    assert not osp.exists(marker)


def test_torch_default_is_weights_only():
    """MMEngine calls torch.load without weights_only; we pass it
    explicitly, and this torch also defaults to it."""
    import inspect
    from mmengine.runner.checkpoint import CheckpointLoader
    from fineclip.engine import checkpoint_io
    assert CheckpointLoader._get_checkpoint_loader('/x/epoch_1.pth') is \
        checkpoint_io._load_from_local
    src = inspect.getsource(checkpoint_io.read_checkpoint)
    assert 'weights_only=True' in src


TOOLS = {
    'test.py': lambda cfg, ckpt, tmp, data: (
        'tools/test.py', [cfg, ckpt, '--work-dir', tmp]),
    'train.py --resume': lambda cfg, ckpt, tmp, data: (
        'tools/train.py', [cfg, '--resume', ckpt, '--work-dir', tmp]),
    'train.py load_from': lambda cfg, ckpt, tmp, data: (
        'tools/train.py', [cfg, '--work-dir', tmp, '--cfg-options',
                           f'load_from={ckpt}']),
    'infer.py': lambda cfg, ckpt, tmp, data: (
        'tools/infer.py', [cfg, ckpt, data, '--out',
                           osp.join(tmp, 'out.json')]),
    'export_adapters.py': lambda cfg, ckpt, tmp, data: (
        'tools/export_adapters.py', [ckpt, '--out',
                                     osp.join(tmp, 'out.safetensors')]),
    'plot_attention.py': lambda cfg, ckpt, tmp, data: (
        'tools/analysis/plot_attention.py', [cfg, ckpt, '--out',
                                             osp.join(tmp, 'a.png')]),
    'plot_pn_similarity.py': lambda cfg, ckpt, tmp, data: (
        'tools/analysis/plot_pn_similarity.py',
        [cfg, ckpt, '--out', osp.join(tmp, 'p.png'), '--no-progress',
         '--device', 'cpu']),
}


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_every_loading_tool_refuses_bad_checkpoints(
        tool, bad_checkpoints, small_trained_run, tiny_data, tmp_path,
        nothing_lost):
    files, marker = bad_checkpoints['files'], bad_checkpoints['marker']
    nothing_lost(str(bad_checkpoints['folder']))
    clip_folder = osp.join(tiny_data, 'Clip', 'clip_224x224')
    clip = osp.join(clip_folder, sorted(os.listdir(clip_folder))[0])
    # export_adapters builds no model: another variant exports as itself
    kinds = ['truncated', 'code'] if tool == 'export_adapters.py' else [
        'truncated', 'variant', 'code']
    for kind in kinds:
        work = tmp_path / kind
        work.mkdir()
        path, argv = TOOLS[tool](small_trained_run['config'], files[kind],
                                 str(work), clip)
        run = call_tool_main(path, argv)
        _check_refused(run, kind, files[kind], marker)
        # nothing written that looks like a result
        assert not [n for n in os.listdir(work)
                    if n.endswith(('.png', '.json', '.safetensors', '.pth'))
                    ], os.listdir(work)


def test_a_good_checkpoint_still_exports(small_trained_run, tmp_path):
    out = str(tmp_path / 'good.safetensors')
    run = call_tool_main('tools/export_adapters.py',
                         [small_trained_run['checkpoint'], '--out', out])
    assert run.returncode == 0, run.stderr[-2000:]
    assert osp.isfile(out) and 'full (frozen weights included)' in run.stdout
