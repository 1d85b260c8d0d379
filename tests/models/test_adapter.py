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
