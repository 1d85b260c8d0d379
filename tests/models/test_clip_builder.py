import time

import pytest
import torch

from fineclip.models.clip import CLIPWeightsNotFoundError, build_clip


def test_tiny_clip_from_shapes_is_frozen(tiny_arch):
    model = build_clip(tiny_arch)
    assert not any(p.requires_grad for p in model.parameters())
    assert model.visual.conv1.out_channels == 64
    assert model.fineclip_source['pretrained'] is None


def test_local_weights_file_round_trip(tiny_arch, tmp_path):
    torch.manual_seed(0)
    source = build_clip(tiny_arch, freeze=False)
    path = tmp_path / 'tiny.pth'
    torch.save(source.state_dict(), path)
    loaded = build_clip(tiny_arch, pretrained=str(path))
    for (name, a), b in zip(source.state_dict().items(),
                            loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_offline_tag_fails_at_once_naming_the_download(monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setattr('fineclip.models.clip.builder._cached_tag_file',
                        lambda cfg: None)
    start = time.time()
    with pytest.raises(CLIPWeightsNotFoundError) as err:
        build_clip('ViT-B-16', pretrained='openai')
    assert time.time() - start < 5
    message = str(err.value)
    assert 'timm/vit_base_patch16_clip_224.openai' in message
    assert 'model.clip.pretrained' in message


def test_missing_file_and_wrong_combinations(tiny_arch):
    with pytest.raises(CLIPWeightsNotFoundError, match='does not exist'):
        build_clip(tiny_arch, pretrained='/no/such/weights.pt')
    with pytest.raises(ValueError, match='local weights file'):
        build_clip(tiny_arch, pretrained='openai')
    with pytest.raises(ValueError, match='Unknown open_clip tag'):
        build_clip('ViT-B-16', pretrained='no_such_tag')


def test_trainable_parts_stay_trainable(tiny_arch):
    model = build_clip(tiny_arch, trainable=('visual', 'positional_embedding'))
    assert all(p.requires_grad for p in model.visual.parameters())
    assert model.positional_embedding.requires_grad
    assert not any(p.requires_grad for p in model.transformer.parameters())
    with pytest.raises(ValueError, match="'vision'.*visual"):
        build_clip(tiny_arch, trainable=('vision', ))
