"""The paper-figure tools in tools/analysis/ write real PNGs from the right
numbers: confusion matrix, training curves, PN similarity, attention."""
import json
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from PIL import Image

from fineclip.apis.analysis import (capture_last_block_attention,
                                    find_scalar_files, group_curves,
                                    load_dump, load_model_and_loader,
                                    read_scalars)
from fineclip.evaluation import confusion_matrix, uar_war
from fineclip.visualization.attention import upsample_map
from tests import helpers
from tests.conftest import CLASSES, TINY_ARCH
from tests.helpers import run_tool_main


def load_tool(name: str):
    """Imports ``tools/analysis/<name>.py`` so its ``main`` runs here."""
    return helpers.load_tool(osp.join('tools', 'analysis', f'{name}.py'))


def assert_png(path: str) -> tuple:
    """The file is a decodable PNG of a plausible size; returns its size."""
    assert osp.getsize(path) > 1000, path
    with open(path, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n', path
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.width >= 200 and image.height >= 150, image.size
        return image.size


@pytest.fixture
def trained(small_trained_run):
    """The session's small training run (2 epochs on tiny_data), tested
    with --dump; shared read-only, outputs go to each test's tmp_path."""
    return small_trained_run


# --- confusion matrix -------------------------------------------------------


def test_plot_confusion_from_dump(trained, tmp_path):
    out = str(tmp_path / 'cm.png')
    log = run_tool_main('tools/analysis/plot_confusion.py',
                        [trained['dump'], '--out', out, '--classes',
                         *CLASSES])
    assert_png(out)
    assert_png(str(tmp_path / 'cm_recall.png'))
    with open(trained['dump'], 'rb') as f:
        samples = pickle.load(f)
    labels = [int(s['gt_label'][0]) for s in samples]
    preds = [int(s['pred_score'].argmax()) for s in samples]
    stats = uar_war(confusion_matrix(np.array(labels), np.array(preds), 7))
    assert f"UAR       {stats['UAR']:6.4f}" in log
    assert f"WAR       {stats['WAR']:6.4f}" in log

    # in-process: the dump names the classes (predictions carry them), the
    # matrix counts every clip
    result = load_tool('plot_confusion').main(
        [trained['dump'], '--out', str(tmp_path / 'named.png')])
    assert result['classes'][3] == 'Angry'
    assert result['matrix'].sum() == len(samples)
    assert result['matrix'].sum(1).tolist() == np.bincount(
        labels, minlength=7).tolist()


def test_plot_confusion_rejects_bad_dumps(trained, tmp_path):
    not_a_list = str(tmp_path / 'dict.pkl')
    with open(not_a_list, 'wb') as f:
        pickle.dump({'pred_score': [1.0]}, f)
    with pytest.raises(ValueError, match='dict.pkl.*not a non-empty list'):
        load_dump(not_a_list)
    missing = str(tmp_path / 'missing.pkl')
    with open(missing, 'wb') as f:
        pickle.dump([dict(pred_score=[0.5, 0.5], pred_label=[0])], f)
    with pytest.raises(ValueError, match=r"missing.pkl.*\['gt_label'\]"):
        load_dump(missing)
    with pytest.raises(ValueError, match='--classes names 2 classes'):
        load_tool('plot_confusion').main(
            [trained['dump'], '--out', str(tmp_path / 'x.png'),
             '--classes', 'a', 'b'])


# --- training curves --------------------------------------------------------


def test_plot_curves_of_the_training_run(trained, tmp_path):
    iters = torch.load(trained['checkpoint'], map_location='cpu',
                       weights_only=False)['meta']['iter']
    out = str(tmp_path / 'curves.png')
    result = load_tool('plot_curves').main([trained['work_dir'], '--out',
                                            out])
    assert_png(out)
    curves = {k: v for _, _, group in result['groups']
              for k, v in group.items()}
    # logger interval 1: one loss point per iteration, one val per epoch
    assert curves['loss'][0].tolist() == list(range(1, iters + 1))
    assert len(curves['lr'][0]) == iters
    epochs = trained['epochs']
    assert curves['UAR'][0].tolist() == [float(e)
                                         for e in range(1, epochs + 1)]
    assert 'w_video' not in curves  # one branch always weighs 1
    # the test run's newer folder has no scalars: the training's is used
    assert len(result['files']) == 1


def _write_scalars(work_dir, run, lines):
    folder = osp.join(work_dir, run, 'vis_data')
    os.makedirs(folder)
    with open(osp.join(folder, 'scalars.json'), 'w') as f:
        f.write(''.join(json.dumps(line) + '\n' for line in lines))


def test_read_scalars_runs_and_resumption(tmp_path):
    work_dir = str(tmp_path / 'w')
    train = [dict(lr=0.1, loss=3. - s, epoch=1 + (s > 2), iter=s, step=s)
             for s in range(1, 5)]
    _write_scalars(work_dir, '20240101_000000',
                   train + [dict(UAR=0.3, WAR=0.4, step=1)])
    # resumed from iteration 3: logs 3..6 again, the later values count
    resumed = [dict(lr=0.01, loss=1., epoch=2 + (s > 4), iter=s, step=s)
               for s in range(3, 7)]
    _write_scalars(work_dir, '20240102_000000',
                   resumed + [dict(UAR=0.5, WAR=0.6, step=2)])
    latest = read_scalars(find_scalar_files(work_dir))
    assert latest['train']['loss'][0].tolist() == [3, 4, 5, 6]
    joined = read_scalars(find_scalar_files(work_dir, 'all'))
    xs, ys = joined['train']['loss']
    assert xs.tolist() == [1, 2, 3, 4, 5, 6]
    assert ys.tolist() == [2., 1., 1., 1., 1., 1.]
    assert joined['val']['UAR'][1].tolist() == [0.3, 0.5]
    assert joined['by_epoch']
    first = read_scalars(find_scalar_files(work_dir, '20240101_000000'))
    assert len(first['train']['lr'][0]) == 4

    groups = group_curves(joined, ['loss', 'UAR'])
    assert [(t, x, list(c)) for t, x, c in groups] == [
        ('losses', 'iteration', ['loss']),
        ('validation', 'epoch', ['UAR'])]
    with pytest.raises(KeyError, match="No logged scalar matches 'nope'"):
        group_curves(joined, ['nope'])
    with pytest.raises(FileNotFoundError, match='No <timestamp>/vis_data'):
        find_scalar_files(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="No run '2099'"):
        find_scalar_files(work_dir, '2099')


# --- PN similarity (Fig 5) --------------------------------------------------


def test_plot_pn_similarity_matches_a_hand_computation(trained, tmp_path):
    out = str(tmp_path / 'pn.png')
    result = load_tool('plot_pn_similarity').main(
        [trained['config'], trained['checkpoint'], '--out', out,
         '--device', 'cpu', '--no-progress'])
    assert_png(out)
    with open(osp.splitext(out)[0] + '.json') as f:
        summary = json.load(f)
    assert summary == json.loads(json.dumps(result['summary']))
    assert summary['representation'] == 'video'
    assert [e['name'] for e in summary['per_class']] == list(CLASSES)

    model, loader, _ = load_model_and_loader(
        trained['config'], trained['checkpoint'], device='cpu')
    dataset = loader.dataset
    assert sum(e['clips'] for e in summary['per_class']) == len(dataset)
    # By hand, for the first test clip: cosine of its video embedding with
    # its class's positive and negative prompt features.
    data = model.data_preprocessor(pseudo_collate([dataset[0]]), False)
    sample = data['data_samples'][0]
    label = int(sample.gt_label[0])
    with torch.no_grad():
        video = F.normalize(model.extract_feat(data['inputs'])['video'],
                            dim=-1)
        t_p, t_n = model.text_features()
    entry = summary['per_class'][label]
    at = entry['clip_ids'].index(sample.metainfo['clip_id'])
    expected_p = float(video[0] @ F.normalize(t_p[label], dim=-1))
    expected_n = float(video[0] @ F.normalize(t_n[label], dim=-1))
    assert entry['positive']['values'][at] == pytest.approx(expected_p,
                                                            abs=1e-5)
    assert entry['negative']['values'][at] == pytest.approx(expected_n,
                                                            abs=1e-5)
    assert entry['positive']['mean'] == pytest.approx(
        np.mean(entry['positive']['values']))

    with pytest.raises(KeyError, match="No representation 'nope'"):
        load_tool('plot_pn_similarity').main(
            [trained['config'], trained['checkpoint'], '--out', out,
             '--device', 'cpu', '--no-progress', '--branch', 'nope'])


# --- attention of the last block (Fig 6) ------------------------------------


def test_plot_attention_maps_and_capture(trained, tmp_path):
    tool = load_tool('plot_attention')
    out = str(tmp_path / 'attn.png')
    result = tool.main([trained['config'], trained['checkpoint'], '--index',
                        '1', '--out', out, '--device', 'cpu'])
    assert_png(out)
    num_frames = 4
    grid = TINY_ARCH['vision_cfg']['image_size'] // TINY_ARCH[
        'vision_cfg']['patch_size']
    maps = result['maps']
    assert maps.shape == (num_frames, grid, grid)
    # renormalised over the patches: each frame's map is a distribution
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), 1, atol=1e-5)
    assert ((result['to_patches'] > 0) & (result['to_patches'] <= 1)).all()
    # the recorded attention is the spatial one over class token + patches
    spatial = result['records'][-1]
    assert spatial.shape == (num_frames, 1 + grid**2, 1 + grid**2)
    torch.testing.assert_close(spatial.sum(-1),
                               torch.ones(spatial.shape[:2]))
    with open(osp.splitext(out)[0] + '.json') as f:
        assert json.load(f)['index'] == 1

    model, loader, _ = load_model_and_loader(
        trained['config'], trained['checkpoint'], device='cpu')
    encoder = model.branches['video'].encoder
    data = model.data_preprocessor(pseudo_collate([loader.dataset[1]]),
                                   False)
    block = encoder.blocks[-1].block
    normed = []  # ln_1 outputs: the last one feeds the spatial attention
    handle = block.ln_1.register_forward_hook(
        lambda module, args, output: normed.append(output))
    with torch.no_grad():
        plain = model(data['inputs'], mode='tensor')
        with capture_last_block_attention(encoder) as records:
            captured = model(data['inputs'], mode='tensor')
    handle.remove()
    # capturing changes nothing, and leaves the block as it was
    assert torch.equal(plain, captured)
    assert '_attend' not in vars(encoder.blocks[-1])
    # Hand computation of the class token's head-averaged attention.
    attn = block.attn
    x = normed[-1]
    q, k, _ = F.linear(x, attn.in_proj_weight, attn.in_proj_bias).chunk(3, -1)
    heads, dim = attn.num_heads, x.shape[-1] // attn.num_heads
    q = q.reshape(*x.shape[:2], heads, dim).transpose(1, 2)
    k = k.reshape(*x.shape[:2], heads, dim).transpose(1, 2)
    weights = (q @ k.transpose(-1, -2) / dim**0.5).softmax(-1).mean(1)
    torch.testing.assert_close(records[-1][:, 0], weights[:, 0])
    torch.testing.assert_close(records[-1][:, 0], spatial[:, 0])

    with pytest.raises(IndexError, match='--index 99 is out of range'):
        tool.main([trained['config'], trained['checkpoint'], '--index', '99',
                   '--out', out, '--device', 'cpu'])
    with pytest.raises(KeyError, match="No clip 'nope'"):
        tool.main([trained['config'], trained['checkpoint'], '--clip-id',
                   'nope', '--out', out, '--device', 'cpu'])


def test_upsampled_map_stays_on_its_patch():
    grid_map = np.zeros((4, 4))
    grid_map[1, 2] = 1.
    up = upsample_map(grid_map, 32, 32)
    row, col = np.unravel_index(up.argmax(), up.shape)
    assert 8 <= row < 16 and 16 <= col < 24


def test_several_branches_use_the_fused_representation():
    from fineclip.apis.analysis import representation
    from fineclip.models.similarity import pn_similarity
    from fineclip.registry import MODELS
    from tests.conftest import tiny_model_cfg

    torch.manual_seed(0)
    cfg = tiny_model_cfg()
    cfg['branches']['again'] = dict(
        type='FramesBranch', encoder=dict(type='AIMVideoEncoder',
                                          num_frames=4, t_adapter=False))
    model = MODELS.build(cfg).eval()
    # Zero-initialised adapters make both branches equal: tell them apart.
    with torch.no_grad():
        model.branches['again'].encoder.temporal_embedding.normal_()
    inputs = dict(frames=torch.randn(2, 4, 3, 32, 32))
    with torch.no_grad():
        name, fused = representation(model, inputs)
        logits = model(inputs, mode='tensor')
        t_p, t_n = model.text_features()
        _, video = representation(model, inputs, 'video')
    assert name == 'fused'
    # the fused representation is the one the model classifies
    torch.testing.assert_close(pn_similarity(fused, t_p, t_n),
                               logits * model.temperature)
    assert not torch.allclose(F.normalize(fused, dim=-1),
                              F.normalize(video, dim=-1))


def test_metric_panels_keep_a_readable_range_and_say_when_points_are_few():
    from fineclip.visualization.curves import (MIN_METRIC_SPAN,
                                               few_points_note,
                                               legend_labels, metric_ylim)
    lo, hi = metric_ylim(np.array([0.70, 0.72]))
    assert hi - lo >= MIN_METRIC_SPAN and lo < 0.70 and hi > 0.72
    lo, hi = metric_ylim(np.array([0.95, 0.99]))  # stays inside [0, 1]
    assert 0.98 < hi <= 1.01 and hi - lo >= MIN_METRIC_SPAN
    assert metric_ylim(np.array([0.1, 0.9])) is None  # spread shows itself
    assert metric_ylim(np.array([2.3, 2.31])) is None  # a loss: automatic
    two = {'UAR': (np.array([5., 10.]), np.array([0.7, 0.71]))}
    assert 'only 2 points' in few_points_note(two)
    three = {'UAR': (np.arange(3.), np.full(3, 0.7))}
    assert few_points_note(three) is None
    two['WAR'] = two['UAR']
    two['recall/Happy'] = (np.array([5., 10.]), np.array([0.5, 0.6]))
    assert legend_labels(two) == {'UAR': 'UAR', 'WAR': 'WAR (= UAR)',
                                  'recall/Happy': 'recall/Happy'}
