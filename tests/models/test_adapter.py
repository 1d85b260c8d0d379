import pytest
import torch

from fineclip.models.adapters import Adapter


def test_new_adapter_is_identity_with_skip_and_zero_without():
    x = torch.randn(3, 5, 16)
    assert torch.equal(Adapter(16, skip=True)(x), x)
    assert torch.equal(Adapter(16, skip=False)(x), torch.zeros_like(x))


def test_bottleneck_width_follows_ratio():
    adapter = Adapter(768, ratio=0.25)
    assert adapter.fc_down.out_features == 192
    assert adapter.fc_up.in_features == 192


def test_trained_adapter_changes_output():
    adapter = Adapter(8, skip=True)
    torch.nn.init.normal_(adapter.fc_up.weight)
    x = torch.randn(2, 8)
    assert not torch.allclose(adapter(x), x)


# --- adapters from ADAPTERS, in the encoders --------------------------------
def test_encoders_build_adapters_from_the_adapter_config(tiny_clip):
    from fineclip.models.encoders import AdaptedTextEncoder, AIMVideoEncoder
    video = AIMVideoEncoder(tiny_clip.visual, num_frames=2,
                            adapter=dict(type='Adapter', ratio=0.5))
    width = tiny_clip.visual.conv1.out_channels
    assert video.blocks[0].t_adapter.fc_down.out_features == width // 2
    text = AdaptedTextEncoder(tiny_clip, adapter=dict(type=Adapter,
                                                      ratio=0.5))
    layer = text.adapters['positive'][0]
    assert layer.skip and layer.fc_down.out_features == \
        tiny_clip.transformer.width // 2


def test_adapter_ratio_is_an_alias_of_the_adapter_ratio(tiny_clip):
    from fineclip.models.adapters import DEFAULT_ADAPTER, adapter_config
    from fineclip.models.encoders import AIMVideoEncoder, LongCLIPTextEncoder
    assert adapter_config() == DEFAULT_ADAPTER == dict(type='Adapter',
                                                       ratio=0.25)
    assert adapter_config(None, 0.5) == dict(type='Adapter', ratio=0.5)
    assert adapter_config(dict(type='Adapter', ratio=0.25), 0.125) == dict(
        type='Adapter', ratio=0.125)
    old = AIMVideoEncoder(tiny_clip.visual, num_frames=2, adapter_ratio=0.5)
    new = AIMVideoEncoder(tiny_clip.visual, num_frames=2,
                          adapter=dict(type='Adapter', ratio=0.5))
    assert [(k, v.shape) for k, v in old.state_dict().items()] == \
        [(k, v.shape) for k, v in new.state_dict().items()]
    # The tiny CLIP's 24-row table stretches to 36 rows.
    long_clip = LongCLIPTextEncoder(tiny_clip, adapter_ratio=0.5,
                                    context_length=36)
    assert long_clip.adapters[0].fc_down.out_features == \
        tiny_clip.transformer.width // 2


def test_the_encoder_decides_width_and_skip():
    from fineclip.models.adapters import build_adapter
    with pytest.raises(ValueError, match='skip'):
        build_adapter(dict(type='Adapter', skip=False), 8, skip=True)
    with pytest.raises(KeyError, match='custom_imports'):
        build_adapter(dict(type='NoSuchAdapter'), 8, skip=True)
