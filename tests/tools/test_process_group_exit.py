"""The gloo group the tools start is destroyed before the interpreter
exits: torch 2.14 aborts about half of the processes that exit with a live
gloo group (SIGABRT after all work is done), failing the whole job."""
import os
import subprocess
import sys

from tests.tools.test_distributed import _free_port

SCRIPT = '''
import atexit
import torch.distributed as dist
from mmengine.config import Config
from fineclip.apis import setup_cpu_distributed

# atexit runs handlers last-in first-out: this one runs after any handler
# setup_cpu_distributed registers, and reports what it left behind
atexit.register(lambda: print('alive at exit:', dist.is_initialized()))
cfg = Config(dict(launcher='pytorch'))
assert setup_cpu_distributed(cfg)
assert dist.is_initialized() and dist.get_backend() == 'gloo'
'''


def test_cpu_process_group_is_closed_at_exit():
    env = dict(os.environ, RANK='0', WORLD_SIZE='1', LOCAL_RANK='0',
               MASTER_ADDR='127.0.0.1', MASTER_PORT=str(_free_port()),
               CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run([sys.executable, '-c', SCRIPT], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'alive at exit: False' in proc.stdout, proc.stdout + proc.stderr
