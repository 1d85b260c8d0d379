"""The plugin guide runs as written, and its plugin trains.

``docs/advanced_guides/plugins.md`` is followed as a reader would, in a
scratch folder laid out like the repository (``configs/_base_`` and
``configs/synthetic`` linked in): each ``{code-block} python`` with a file
as caption is saved there, each plain ``python`` block is run (in order,
in one namespace, from that folder), each ``{literalinclude}`` must name a
file (and object) that exists; then the config the guide wrote is trained
one epoch with ``tools/train.py`` on the ``tiny_data`` set, with a random
tiny CLIP (``tests/helpers.py``'s small-run overrides).
"""
import ast
import contextlib
import io
import os
import os.path as osp
import sys

import pytest
import torch

from fineclip.engine.checkpoint_io import read_checkpoint
from tests.doc_blocks import Block, ROOT, fenced_blocks, read
from tests.helpers import SMALL_RUN, TINY_ARCH, run_tool_main

GUIDE = 'docs/advanced_guides/plugins.md'


def guide_blocks():
    return fenced_blocks(read(GUIDE))


def saved_files(blocks):
    return [b.options['caption'] for b in blocks
            if b.directive == 'code-block' and b.language == 'python'
            and 'caption' in b.options]


def check_literalinclude(block: Block):
    path = osp.normpath(osp.join(ROOT, osp.dirname(GUIDE), block.argument))
    assert osp.isfile(path), f'{GUIDE}:{block.line}: no {block.argument}'
    name = block.options.get('pyobject')
    if name:
        with open(path) as f:
            tree = ast.parse(f.read())
        assert name in {n.name for n in tree.body
                        if isinstance(n, (ast.ClassDef, ast.FunctionDef))}, (
            f'{GUIDE}:{block.line}: {block.argument} defines no {name}')


@contextlib.contextmanager
def plugins_from(folder):
    """``plugins.<name>`` also found in ``folder/plugins``, as for a reader
    whose ``plugins/`` holds the guide's file; afterwards the modules and
    the registrations they made are gone again."""
    import plugins

    from fineclip import registry
    from mmengine.registry import Registry
    extra = osp.join(folder, 'plugins')
    before = set(sys.modules)
    plugins.__path__.append(extra)
    try:
        yield
    finally:
        plugins.__path__.remove(extra)
        new = [m for m in set(sys.modules) - before
               if m.startswith('plugins.')
               and osp.dirname(getattr(sys.modules[m], '__file__', '') or '')
               == extra]
        for name in new:
            del sys.modules[name]
        for reg in vars(registry).values():
            if isinstance(reg, Registry):
                for key, cls in list(reg.module_dict.items()):
                    if getattr(cls, '__module__', None) in new:
                        reg.module_dict.pop(key)


def test_guide_saves_a_plugin_and_a_config_and_declares_its_groups():
    blocks = guide_blocks()
    files = saved_files(blocks)
    assert files[:2] == ['plugins/two_sided_prompts.py',
                         'configs/plugins/fineclip_two_sided_synthetic.py']
    module = next(b.body for b in blocks
                  if b.options.get('caption') == files[0])
    # the attribute whose absence issue 29 met as a KeyError mid-training
    assert "groups = ('pos', 'neg')" in module
    assert any(b.directive == 'literalinclude' for b in blocks)


@pytest.mark.slow(6)
def test_every_block_of_the_plugin_guide_runs_and_its_plugin_trains(
        tiny_data, tmp_path, monkeypatch):
    root = tmp_path / 'repo'
    for part in ('_base_', 'synthetic'):
        (root / 'configs').mkdir(parents=True, exist_ok=True)
        os.symlink(osp.join(ROOT, 'configs', part), root / 'configs' / part)
    monkeypatch.chdir(root)
    namespace, ran, saved = {'__name__': '__guide__'}, 0, []
    with plugins_from(str(root)):
        for block in guide_blocks():
            if block.directive == 'literalinclude':
                check_literalinclude(block)
            elif block.language != 'python':
                continue
            elif 'caption' in block.options:
                path = root / block.options['caption']
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(block.body)
                saved.append(block.options['caption'])
            else:
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    exec(compile(block.body, f'{GUIDE}:{block.line}',
                                 'exec'), namespace)
                ran += 1
        assert ran >= 1 and len(saved) >= 2
        # The check block encoded one (C, D) feature per group and class.
        t_p, t_n = namespace['t_p'], namespace['t_n']
        assert t_p.shape == t_n.shape and t_p.shape[0] == 2
        assert not torch.equal(t_p, t_n)

        config = str(root / saved[-1])
        small = root / 'small.py'
        small.write_text(SMALL_RUN.format(
            base=config, data_root=tiny_data, arch=TINY_ARCH, max_epochs=1,
            workers=0))
        work = root / 'work'
        run_tool_main('tools/train.py', [str(small), '--work-dir', str(work)],
                      cwd=str(root))
    state = read_checkpoint(str(work / 'epoch_1.pth'))['state_dict']
    # the guide's groups got text adapter stacks of their own
    stacks = {k.split('.')[2] for k in state
              if k.startswith('text_encoder.adapters.')}
    assert stacks == {'pos', 'neg'}, sorted(state)[:20]
