"""The tiny CLIP pretraining behind the embedded default."""
import json

import numpy as np
import torch

from fineclip.models.clip import build_clip
from fineclip.pretraining import pretrain_tiny_clip, tiny_clip_ready
from fineclip.pretraining.tiny_clip import (_multi_positive_loss,
                                            _tune_text_tower,
                                            patch_class_mix,
                                            render_pretraining_set)


def test_patch_class_mix_counts_each_patch():
    parsing = np.zeros((1, 4, 4), np.uint8)
    parsing[0, :2, :2] = 3  # top-left patch all class 3
    parsing[0, 2:, 2:] = [[1, 2], [1, 2]]  # bottom-right half 1, half 2
    mix = patch_class_mix(parsing, patch=2, num_classes=4)
    assert mix.shape == (1, 4, 4)
    assert mix[0, 0].tolist() == [0, 0, 0, 1]
    assert mix[0, 1].tolist() == [1, 0, 0, 0]
    assert mix[0, 3].tolist() == [0, 0.5, 0.5, 0]


def test_identical_captions_are_positives():
    # images 0 and 1 share a caption; image 0 matches caption 1 best
    logits = torch.tensor([[1., 5., -5.], [5., 5., -5.], [-5., -5., 5.]])
    same = torch.tensor([[1., 1., 0.], [1., 1., 0.], [0., 0., 1.]])
    shared = _multi_positive_loss(logits, same)
    exact = _multi_positive_loss(logits, torch.eye(3))
    assert shared < exact - 0.5


def test_pretraining_set_has_no_emotion_words():
    data = render_pretraining_set(7, 3, size=32, seed=0)
    assert data['images'].shape == (21, 32, 32, 3)
    assert data['parsing'].shape == (21, 32, 32)
    text = ' '.join(data['captions']).lower()
    for word in ('happy', 'sad', 'angry', 'fear', 'surprise', 'disgust',
                 'neutral'):
        assert word not in text


def test_pretrain_writes_loadable_weights(tiny_arch, tmp_path):
    out = str(tmp_path / 'tiny.pth')
    info = pretrain_tiny_clip(out, tiny_arch, num_clips=7, frames_per_clip=2,
                              image_steps=3, text_steps=3, batch_size=4,
                              progress=False)
    assert tiny_clip_ready(out, tiny_arch)
    assert not tiny_clip_ready(out, dict(tiny_arch, embed_dim=16))
    assert json.load(open(out + '.json'))['image_steps'] == 3
    assert np.isfinite(info['final_image_loss'])
    model = build_clip(tiny_arch, pretrained=out)
    random = build_clip(tiny_arch)
    assert not torch.equal(model.visual.conv1.weight,
                           random.visual.conv1.weight)


def _plain_adamw_text_tuning(model, image_feats, tokens, caption_ids, steps,
                             batch_size, lr, rng, progress):
    """Stage 2 as AdamW over the whole token table: the reference."""
    params = [p for n, p in model.named_parameters()
              if not n.startswith('visual.')]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=steps, pct_start=0.1)
    for _ in range(steps):
        idx = torch.as_tensor(rng.randint(0, len(tokens), batch_size))
        text = model.encode_text(tokens[idx], normalize=True)
        logits = model.logit_scale.exp() * image_feats[idx] @ text.t()
        ids = caption_ids[idx]
        same = (ids[:, None] == ids[None]).float()
        loss = _multi_positive_loss(logits, same)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, 4.6052)


def test_text_stage_holding_only_used_rows_is_bitwise_adamw(tiny_arch):
    # tokens 3..40 in use, the rest of the 49,408 rows never seen
    torch.manual_seed(1)
    context = tiny_arch['text_cfg']['context_length']
    tokens = torch.randint(3, 40, (24, context))
    tokens[:, -1] = 49407  # an end-of-text token, which the pooling finds
    caption_ids = torch.arange(24) % 7
    image_feats = torch.nn.functional.normalize(torch.randn(24, 32), dim=-1)
    models = []
    for tune in (_tune_text_tower, _plain_adamw_text_tuning):
        torch.manual_seed(0)
        model = build_clip(tiny_arch, freeze=False)
        model.visual.requires_grad_(False)
        tune(model, image_feats, tokens, caption_ids, steps=6, batch_size=8,
             lr=3e-2, rng=np.random.RandomState(0), progress=False)
        models.append(model)
    used_rows, full_table = (m.state_dict() for m in models)
    assert type(models[0].token_embedding) is torch.nn.Embedding  # restored
    assert used_rows.keys() == full_table.keys()
    for key, value in full_table.items():
        assert torch.equal(used_rows[key], value), key
    # the stage moved the rows in use and only decayed the others
    torch.manual_seed(0)
    init = build_clip(tiny_arch, freeze=False).token_embedding.weight
    table = full_table['token_embedding.weight']
    assert not torch.allclose(table[3:40], init[3:40], atol=1e-3)
    decay = table[100:-1] / init[100:-1]  # the last, end of text, in use
    assert ((decay < 1) & (decay > 0.98)).all()
