"""The documentation site builds with warnings as errors.

``sphinx-build -W --keep-going -b html docs OUT`` as CI runs it, in this
process: myst-parser warns about a link to a page or heading that does not
exist, autodoc about a docstring it cannot read, Sphinx about a page outside
every toctree, so a passing build is also the internal link check. Nothing
reaches the network (no intersphinx, no linkcheck).
"""
import glob
import os.path as osp
import re

import pytest

from tests.doc_blocks import DOCS, ROOT

#: The packages whose modules the API reference documents, one page each.
API_PACKAGES = ('apis', 'models', 'datasets', 'evaluation', 'engine',
                'visualization', 'utils')


@pytest.mark.slow(30)
# Sphinx 9 and myst-parser warn each other about APIs Sphinx 11 removes.
@pytest.mark.filterwarnings('ignore::DeprecationWarning')
@pytest.mark.filterwarnings('ignore::PendingDeprecationWarning')
def test_docs_build_with_warnings_as_errors(tmp_path, capsys):
    from sphinx.cmd.build import build_main

    out = tmp_path / 'html'
    code = build_main(['-W', '--keep-going', '-q', '-b', 'html', '-d',
                       str(tmp_path / 'doctrees'), DOCS, str(out)])
    assert code == 0, capsys.readouterr().err[-5000:]
    for page in ('index', 'get_started/quick_run', 'advanced_guides/plugins',
                 'notes/changelog', 'api/models'):
        assert (out / f'{page}.html').is_file(), page
    # autodoc read the docstrings: a Google-style section became a field
    api = (out / 'api' / 'models.html').read_text(encoding='utf-8')
    assert 'fineclip.models.label_augmenters.BaseLabelAugmenter' in api
    assert 'Parameters' in api


def test_api_reference_lists_every_module():
    documented = set()
    for page in glob.glob(osp.join(DOCS, 'api', '*.md')):
        with open(page, encoding='utf-8') as f:
            documented |= set(re.findall(r'automodule:: ([\w.]+)', f.read()))
    missing = []
    for package in API_PACKAGES:
        for path in glob.glob(osp.join(ROOT, 'fineclip', package, '**',
                                       '*.py'), recursive=True):
            if path.endswith('__init__.py'):
                continue
            module = osp.relpath(path, ROOT)[:-3].replace(osp.sep, '.')
            if module not in documented:
                missing.append(module)
    assert 'fineclip.registry' in documented
    assert not missing, (
        f'modules missing from docs/api/*.md (add an automodule line): '
        f'{sorted(missing)}')
