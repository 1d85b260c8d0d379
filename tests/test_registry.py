"""Registry errors point at the plugin that defines a missing part."""
import pytest

from fineclip.registry import BRANCHES, plugin_defining


def test_plugin_defining_finds_files_and_packages(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'plugins' / 'pack').mkdir(parents=True)
    (tmp_path / 'plugins' / 'pack' / '__init__.py').write_text('')
    (tmp_path / 'plugins' / 'pack' / 'parts.py').write_text(
        'class PackedBranch(object):\n    pass\n')
    (tmp_path / 'plugins' / 'lone.py').write_text(
        '@X.register_module()\nclass LoneFusion:\n    pass\n')
    assert plugin_defining('PackedBranch') == (
        'plugins/pack/parts.py', 'plugins.pack')
    assert plugin_defining('LoneFusion') == ('plugins/lone.py',
                                             'plugins.lone')
    assert plugin_defining('Packed') is None  # whole names only


def test_unregistered_plugin_part_names_its_module(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'plugins').mkdir()
    (tmp_path / 'plugins' / 'mine.py').write_text('class MyBranch:\n  pass\n')
    with pytest.raises(KeyError, match=r"plugins\.mine.*custom_imports"):
        BRANCHES.build(dict(type='MyBranch'))
    with pytest.raises(KeyError, match='If it comes from a plugin'):
        BRANCHES.build(dict(type='NoSuchBranch'))
