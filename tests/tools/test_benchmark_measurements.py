"""The benchmark's measures: CPU peak memory counts tensors as a GPU would;
times are means over calls."""
import torch
from torch import nn

from fineclip.apis.benchmark import live_tensor_bytes, peak_tensor_bytes

WIDTH, LAYERS = 256, 4


def _setup(batch):
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(WIDTH, WIDTH) for _ in range(LAYERS)])
    optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    inputs = torch.randn(batch, WIDTH)

    def step():
        model(inputs).square().mean().backward()
        optim.step()
        optim.zero_grad()  # frees the gradients (set_to_none)

    step()  # creates the momentum buffers
    weights = sum(p.numel() * 4 for p in model.parameters())
    return step, weights, inputs


def test_live_bytes_count_weights_state_and_inputs_once():
    step, weights, inputs = _setup(batch=8)
    live = live_tensor_bytes()
    own = 2 * weights + inputs.numel() * 4  # weights + momentum + input
    assert live >= own
    # other tests' leftovers may be alive, but not a second copy of ours
    view = inputs[:4]  # shares the storage: counted once
    assert live_tensor_bytes() - live < inputs.numel() * 4
    del view


def test_peak_adds_gradients_and_activations_to_what_is_live():
    step, weights, inputs = _setup(batch=512)
    before = live_tensor_bytes()
    peak = peak_tensor_bytes(step)
    activations = LAYERS * inputs.numel() * 4
    # gradients of every weight are held together before the update
    assert peak >= before + weights
    # and no more than gradients, saved activations and the update's
    # temporaries are ever alive on top of the start
    assert peak <= before + 2 * weights + 2 * activations


def test_peak_grows_with_the_activations():
    small_step, _, _ = _setup(batch=16)
    small = peak_tensor_bytes(small_step) - live_tensor_bytes()
    big_step, _, inputs = _setup(batch=2048)
    big = peak_tensor_bytes(big_step) - live_tensor_bytes()
    # 2032 more rows: at least their saved inputs of the upper layers
    assert big - small >= (LAYERS - 1) * (2048 - 16) * WIDTH * 4


def test_seconds_per_call_is_the_mean_over_calls():
    import time

    from fineclip.apis.benchmark import seconds_per_call
    calls = []

    def sleep():
        calls.append(1)
        time.sleep(0.02)

    mean = seconds_per_call(sleep, 3, torch.device('cpu'))
    assert len(calls) == 3
    assert 0.02 <= mean < 0.2
