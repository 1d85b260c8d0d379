"""The bad-input suite's fixture: inputs it reports stay as they were."""
import hashlib
import os
import os.path as osp

import pytest


def _tree(root: str) -> dict:
    state = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                state[path] = hashlib.sha1(f.read()).hexdigest()
    return state


@pytest.fixture
def nothing_lost():
    """``keep(root)``: every file under ``root`` at that moment must still
    be there, byte for byte, when the test ends (a bad input is reported,
    never deleted, moved or rewritten)."""
    kept = []

    def keep(root: str) -> str:
        kept.append(_tree(root))
        return root

    yield keep
    for state in kept:
        for path, digest in state.items():
            assert osp.isfile(path), f'{path} was removed'
            with open(path, 'rb') as f:
                assert hashlib.sha1(f.read()).hexdigest() == digest, (
                    f'{path} was changed')
