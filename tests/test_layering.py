"""The package's layers: nothing below ``fineclip.apis`` imports it, and no
module grows past 500 lines (read from the source, nothing imported)."""
import ast
import glob
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PACKAGE = osp.join(ROOT, 'fineclip')
MODULES = sorted(glob.glob(osp.join(PACKAGE, '**', '*.py'), recursive=True))
LOWER = [m for m in MODULES
         if not osp.relpath(m, PACKAGE).startswith('apis' + osp.sep)]
MAX_LINES = 500


def _imported_modules(path):
    """Absolute names of every module ``path`` imports (relative imports
    resolved against its package), at any depth (function-level too)."""
    package = osp.relpath(osp.dirname(path), ROOT).replace(osp.sep, '.')
    tree = ast.parse(open(path, encoding='utf-8').read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                yield '.'.join(base + ([node.module] if node.module else []))
            else:
                yield node.module


def test_the_layering_check_sees_relative_imports(tmp_path):
    # a check that parses nothing would pass; this one must see both forms
    names = list(_imported_modules(
        osp.join(PACKAGE, 'apis', 'model_builder.py')))
    assert 'fineclip.utils.config' in names
    assert 'fineclip.apis.embedded_default' in names


def test_lower_layers_never_import_apis():
    upward = {}
    for path in LOWER:
        names = [n for n in _imported_modules(path)
                 if n == 'fineclip.apis' or n.startswith('fineclip.apis.')]
        if names:
            upward[osp.relpath(path, ROOT)] = names
    assert not upward, f'imports from a lower layer up to apis: {upward}'


def test_no_module_over_500_lines():
    long = {osp.relpath(m, ROOT): n for m in MODULES
            if (n := sum(1 for _ in open(m, encoding='utf-8'))) > MAX_LINES}
    assert not long, f'modules over {MAX_LINES} lines: {long}'
