"""Host-to-device traffic: one non-blocking copy per modality per batch,
class-prompt tokens cached on the model's device, one read-back per batch
in the metric, loader options that fit the machine.

Copies are counted by a dispatch mode that records every ``_to_copy`` /
``copy_`` whose source and target devices differ; the ``meta`` device
stands in for the GPU (a real device type to the dispatcher, no data, no
driver), so the count is the one a CUDA run makes.
"""
import pytest
import torch
from mmengine.dataset import default_collate, pseudo_collate
from torch.utils._python_dispatch import TorchDispatchMode

from fineclip.datasets.loader_options import fit_loader_options
from fineclip.evaluation.metrics import DFERMetric
from fineclip.models.data_preprocessors import DFERDataPreprocessor
from fineclip.models.encoders import AdaptedTextEncoder
from fineclip.structures import DFERDataSample
from fineclip.utils.config import load_config

MODALITIES = ('frames', 'parsing', 'landmarks')


class CrossDeviceCopies(TorchDispatchMode):
    """Records ``(source device, target device, bytes, non_blocking)`` of
    every copy between devices, and every scalar read-back."""

    def __init__(self):
        super().__init__()
        self.copies = []
        self.scalar_reads = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.ops.aten._to_copy.default:
            target = kwargs.get('device')
            if target is not None and \
                    torch.device(target).type != args[0].device.type:
                self.copies.append((args[0].device.type,
                                    torch.device(target).type,
                                    args[0].nbytes,
                                    kwargs.get('non_blocking', False)))
        elif func is torch.ops.aten.copy_.default:
            dst, src = args[0], args[1]
            if dst.device.type != src.device.type:
                non_blocking = args[2] if len(args) > 2 else kwargs.get(
                    'non_blocking', False)
                self.copies.append((src.device.type, dst.device.type,
                                    src.nbytes, non_blocking))
        elif func is torch.ops.aten._local_scalar_dense.default:
            self.scalar_reads += 1
        return func(*args, **kwargs)


def clips(batch=4, frames=2, size=8):
    """Per-clip packed inputs as PackDFERInputs gives them (FineCLIPER*-
    dagger's modalities: three image ones and description tokens)."""
    g = torch.Generator().manual_seed(0)
    items = []
    for i in range(batch):
        inputs = {key: torch.randint(0, 256, (frames, 3, size, size),
                                     generator=g, dtype=torch.uint8)
                  for key in MODALITIES}
        inputs['description'] = torch.randint(0, 1000, (12, ), generator=g)
        items.append(dict(inputs=inputs,
                          data_samples=DFERDataSample().set_gt_label(i % 3)))
    return items


@pytest.mark.parametrize('collate', [pseudo_collate, default_collate],
                         ids=['per-clip', 'stacked'])
def test_one_non_blocking_copy_per_modality(collate):
    batch = collate(clips())
    preprocessor = DFERDataPreprocessor().to('meta')
    with CrossDeviceCopies() as mode:
        out = preprocessor(batch, training=True)
    # four modalities and the batch's labels, each moved once
    assert len(mode.copies) == len(MODALITIES) + 2, mode.copies
    assert {(src, dst) for src, dst, _, _ in mode.copies} == {
        ('cpu', 'meta')}
    assert all(non_blocking for *_, non_blocking in mode.copies)
    # images travel as uint8: 4 clips x 2 frames x 3 x 8 x 8 bytes
    assert sorted(n for _, _, n, _ in mode.copies)[-3:] == [1536] * 3
    for key in MODALITIES:
        assert out['inputs'][key].device.type == 'meta'
        assert out['inputs'][key].dtype == torch.float32
    assert out['inputs']['description'].dtype == torch.int64
    labels = [s.gt_label for s in out['data_samples']]
    assert {t.device.type for t in labels} == {'meta'}
    assert [t.shape for t in labels] == [torch.Size([1])] * 4
    # the loader's own samples keep their CPU labels
    assert batch['data_samples'][0].gt_label.device.type == 'cpu'


def test_stacked_and_per_clip_batches_give_the_same_inputs():
    items = clips()
    preprocessor = DFERDataPreprocessor()
    per_clip = preprocessor(pseudo_collate(items))
    stacked = preprocessor(default_collate(items))
    mean, std = preprocessor.mean, preprocessor.std  # (1, 1, 3, 1, 1)
    for key in MODALITIES + ('description', ):
        assert torch.equal(per_clip['inputs'][key], stacked['inputs'][key])
    frames = torch.stack([c['inputs']['frames'] for c in items]).float()
    assert torch.allclose(per_clip['inputs']['frames'], (frames - mean) / std)
    assert [int(s.gt_label) for s in stacked['data_samples']] == [0, 1, 2, 0]


def test_float_images_of_the_caller_are_left_alone():
    images = torch.rand(2, 2, 3, 4, 4) * 255
    before = images.clone()
    DFERDataPreprocessor()(dict(inputs=dict(frames=images),
                                data_samples=None))
    assert torch.equal(images, before)


def test_class_prompt_tokens_live_on_the_model_device(tiny_clip):
    encoder = AdaptedTextEncoder(tiny_clip)
    prompts = {'positive': ['a happy face', 'a sad face'],
               'negative': ['no happy face', 'no sad face']}
    encoder.encode_prompts(prompts)  # cached on the CPU
    tiny_clip.to('meta')
    encoder.to('meta')
    with CrossDeviceCopies() as first:
        encoder.encode_prompts(prompts)
    with CrossDeviceCopies() as later:
        for _ in range(3):
            feats = encoder.encode_prompts(prompts)
    # the cache follows the tower once; later steps copy nothing
    assert len(first.copies) == 2
    assert later.copies == []
    assert feats['positive'].device.type == 'meta'
    assert encoder.tokenize(prompts['positive']).device.type == 'meta'


def test_metric_reads_a_batch_back_once_per_field():
    # a wrapper tensor that reports cuda and holds CPU values, as in the
    # fake-CUDA tests; it counts as on a device for the read-backs
    from tests.models.test_fake_cuda_device import OnDevice
    torch._C._ensureCUDADeviceGuardSet()
    batch = 8
    samples = [dict(pred_label=OnDevice(torch.tensor([i % 3])),
                    gt_label=OnDevice(torch.tensor([(i + 1) % 3])),
                    pred_score=OnDevice(torch.full((3, ), 1 / 3)),
                    branch_pred_labels=dict(video=i % 3, parsing=0),
                    branch_weights=OnDevice(torch.tensor([0.75, 0.25])))
               for i in range(batch)]
    metric = DFERMetric(class_names=('a', 'b', 'c'))
    with CrossDeviceCopies() as mode:
        metric.process(None, samples)
    # labels, ground truth, weights: three copies for the batch, no
    # per-clip int()/float() reads (2 + 2 branches per clip before)
    assert len(mode.copies) == 3
    assert mode.scalar_reads == 0
    assert [r['pred'] for r in metric.results] == [i % 3 for i in
                                                   range(batch)]
    assert metric.results[0]['weights'] == [0.75, 0.25]
    assert metric.results[1]['gt'] == 2


def test_loader_options_fit_the_machine():
    cfg = load_config('configs/fineclip_star_dagger_dfew.py')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[key]
        assert loader.pin_memory is True
        assert loader.collate_fn.type == 'default_collate'
    # the test pipeline is deterministic: its workers stay; the training
    # workers are reseeded per epoch (exact resume), see the config
    assert cfg.val_dataloader.persistent_workers is True
    assert cfg.train_dataloader.persistent_workers is False

    assert fit_loader_options(cfg, accelerator=True) == []
    cfg.val_dataloader.num_workers = 0
    changed = fit_loader_options(cfg, accelerator=False)
    assert changed == ['train_dataloader.pin_memory',
                       'val_dataloader.persistent_workers',
                       'val_dataloader.pin_memory',
                       'test_dataloader.pin_memory']
    assert cfg.val_dataloader.persistent_workers is False
    assert not cfg.train_dataloader.pin_memory
