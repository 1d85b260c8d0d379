"""The gloo group the tools start is destroyed before the interpreter
exits, after the wrappers that hold it: torch 2.14 aborts a fair share of
the processes whose gloo group is torn down in interpreter finalisation
(SIGABRT after all work is done), failing the whole job."""
import os
import subprocess
import sys

from tests.helpers import free_port

SCRIPT = '''
import atexit
import weakref

import torch
import torch.distributed as dist
from mmengine.config import Config
from fineclip.apis import setup_cpu_distributed

# atexit runs handlers last-in first-out: this one runs after any handler
# setup_cpu_distributed registers, and reports what it left behind
atexit.register(lambda: print('alive at exit:', dist.is_initialized(),
                              'wrapper:', wrapper() is not None))
cfg = Config(dict(launcher='pytorch'))
assert setup_cpu_distributed(cfg)
assert dist.is_initialized() and dist.get_backend() == 'gloo'


class Holder:  # a reference cycle, as the Runner and its hooks make
    pass


holder = Holder()
holder.me = holder
holder.model = torch.nn.parallel.DistributedDataParallel(
    torch.nn.Linear(2, 2))
wrapper = weakref.ref(holder.model)
del holder
'''


def test_cpu_process_group_is_closed_at_exit():
    env = dict(os.environ, RANK='0', WORLD_SIZE='1', LOCAL_RANK='0',
               MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()),
               CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run([sys.executable, '-c', SCRIPT], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'alive at exit: False wrapper: False' in proc.stdout, (
        proc.stdout + proc.stderr)
