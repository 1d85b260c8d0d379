"""Sphinx configuration of FineCLIP's documentation (Markdown via myst-parser).

Build it as CI does (``tests/test_docs.py``), warnings as errors::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Nothing here reaches the network: no intersphinx, no linkcheck. myst-parser
warns about a link to a page or heading that does not exist, so ``-W`` is the
internal link check.
"""
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# autodoc imports the package from this checkout, not an installed copy.
sys.path.insert(0, ROOT)
os.environ.setdefault('HF_HUB_OFFLINE', '1')

from fineclip.version import __version__  # noqa: E402

project = 'FineCLIP'
author = 'The FineCLIP team'
copyright = '2026, the FineCLIP team'
version = release = __version__

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',  # the Google-style docstrings of the package
]
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build', 'Thumbs.db', '.DS_Store']

# Links such as [Results](changelog.md#results) resolve to headings up to
# level 3; a heading that does not exist is a warning, so an error under -W.
myst_heading_anchors = 3
myst_enable_extensions = ['colon_fence', 'dollarmath']

autodoc_member_order = 'bysource'
# Document each object where it is defined: the packages re-export their
# parts through __all__, which would describe them twice.
autodoc_default_options = {
    'members': True,
    'show-inheritance': True,
    'ignore-module-all': True,
}
autodoc_typehints = 'description'
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# 'Attributes:' as fields of the class: a NamedTuple's fields are also
# documented by autodoc, and two descriptions of one name are a warning.
napoleon_use_ivar = True

html_theme = 'alabaster'
html_title = f'FineCLIP {version}'
html_static_path = []
