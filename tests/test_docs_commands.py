"""Every shell command of README and the documentation names files that
exist and flags its tool knows.

For each ``python tools/X.py ... --flag`` (and ``bash tools/*.sh``,
``torchrun ... tools/X.py``) in a ``bash``/``shell`` block, another fenced
block or an inline code span: ``tools/X.py`` exists, each ``--flag`` after
it is listed by ``tools/X.py --help`` (run in-process), and each
``configs/...py`` argument exists, brace expansions such as
``configs/fineclip{,_star}_dfew.py`` taken apart. A config the docs tell the
reader to write first (a ``{code-block}`` with that path as caption) counts
as existing.
"""
import os.path as osp
import re

import pytest

from tests.doc_blocks import (Command, ROOT, commands, doc_pages,
                              expand_braces, files_the_docs_create)
from tests.helpers import call_tool_main

_FLAG = re.compile(r'^(--[A-Za-z][\w-]*)(=.*)?$')
_CONFIG = re.compile(r'^configs/\S*\.py$')


def tool_help(tool: str, cache={}) -> str:
    """``python TOOL --help``'s text, from the tool's own parser."""
    if tool not in cache:
        run = call_tool_main(tool, ['--help'])
        assert run.returncode == 0, f'{tool} --help failed:\n{run.stderr}'
        cache[tool] = run.stdout
    return cache[tool]


def problems(command: Command, created=frozenset()) -> list:
    """What is wrong with one command, as messages naming page and line."""
    where = f'{command.page}:{command.line}: {command.tool}'
    if not osp.isfile(osp.join(ROOT, command.tool)):
        return [f'{where} does not exist']
    found = []
    for arg in command.args:
        for path in expand_braces(arg):
            if (_CONFIG.match(path) and path not in created
                    and not osp.isfile(osp.join(ROOT, path))):
                found.append(f'{where}: no config {path}')
    if command.tool.endswith('.py'):
        text = tool_help(command.tool)
        known = set(re.findall(r'--[A-Za-z][\w-]*', text))
        for arg in command.args:
            flag = _FLAG.match(arg)
            if flag and flag.group(1) not in known:
                found.append(f'{where}: {flag.group(1)} is not an option '
                             f'of the tool (its --help lists '
                             f'{sorted(known)})')
    return found


def test_docs_have_commands_to_check():
    pages = doc_pages()
    assert 'README.md' in pages
    assert 'docs/advanced_guides/plugins.md' in pages
    found = [c for page in pages for c in commands(page)]
    # train and test appear in README's quick start and on many pages
    assert sum(c.tool == 'tools/train.py' for c in found) >= 10
    assert {c.page for c in found} >= {
        'README.md', 'docs/get_started/quick_run.md',
        'docs/user_guides/train_test.md'}


@pytest.mark.slow(12)
def test_every_command_names_existing_files_and_known_flags():
    created = files_the_docs_create()
    assert 'configs/plugins/fineclip_two_sided_synthetic.py' in created
    found = []
    for page in doc_pages():
        for command in commands(page):
            found += problems(command, created)
    assert not found, '\n'.join(found)


def test_the_check_finds_a_wrong_flag_a_missing_tool_and_config(tmp_path):
    page = tmp_path / 'page.md'
    page.write_text(
        '```bash\n'
        'python tools/train.py configs/fineclip_{dfew,nope}.py \\\n'
        '    --work-dir W --no-such-flag\n'
        '```\n'
        'Or `python tools/no_tool.py X`, and '
        '`torchrun --nproc_per_node 2 tools/test.py C K --dump p.pkl`.\n')
    found = commands(str(page))
    assert [(c.tool, c.line) for c in found] == [
        ('tools/train.py', 2), ('tools/no_tool.py', 5),
        ('tools/test.py', 5)]
    assert found[0].args[-1] == '--no-such-flag'
    messages = [m for c in found for m in problems(c)]
    assert len(messages) == 3, messages
    assert 'no config configs/fineclip_nope.py' in messages[0]
    assert '--no-such-flag is not an option' in messages[1]
    assert 'tools/no_tool.py does not exist' in messages[2]
