"""The checklist: what a config needs, each item present or missing with
the command or key that provides it."""
from dataclasses import dataclass, field
from typing import List, Optional

#: Item states: ``present``; ``auto``: made or downloaded on first use;
#: ``skip``: not needed now; ``waits``: made by a step that needs an
#: earlier item first; ``missing``; ``partial``: some clips lack it;
#: ``bad``: present but unreadable.
READY = ('present', 'auto', 'skip')
SECTIONS = ('data', 'weights', 'face maps', 'descriptions')


@dataclass
class Item:
    """One line of the checklist.

    Attributes:
        section: One of :data:`SECTIONS`.
        name: What it is (``'split file (train fold 1)'``).
        status: See :data:`READY` and the module's states.
        detail: The path, counts or reason.
        fix: The exact command or key that provides it.
        step: The ``prepare.py --run`` step that makes it, if any
            (``'face_maps'``, ``'descriptions'``, ``'refine'``).
        path: The file or folder it is about, where there is one.
    """

    section: str
    name: str
    status: str
    detail: str = ''
    fix: str = ''
    step: Optional[str] = None
    path: Optional[str] = None

    @property
    def ready(self) -> bool:
        return self.status in READY


@dataclass
class Checklist:
    """All items of one config, and the steps ``--run`` would run."""

    config: str
    items: List[Item] = field(default_factory=list)
    train_command: str = ''

    @property
    def ready(self) -> bool:
        """Whether training can start: nothing missing."""
        return all(item.ready for item in self.items)

    def missing(self) -> List[Item]:
        return [item for item in self.items if not item.ready]

    def steps(self) -> List[str]:
        """The steps that would make a missing item, in run order."""
        wanted = {item.step for item in self.missing() if item.step}
        return [s for s in ('face_maps', 'descriptions', 'refine')
                if s in wanted]


def format_checklist(checklist: Checklist) -> str:
    """The checklist as text: one line per item, its fix below it."""
    lines = [f'Checklist for {checklist.config}']
    for section in SECTIONS:
        items = [i for i in checklist.items if i.section == section]
        if not items:
            continue
        lines.append(f'\n{section}')
        for item in items:
            lines.append(f'  [{item.status:^7}] {item.name}'
                         + (f': {item.detail}' if item.detail else ''))
            if item.fix and not item.status == 'present':
                lines.append(f'            -> {item.fix}')
    missing = checklist.missing()
    if not missing:
        train = (checklist.train_command or
                 f'python tools/train.py {checklist.config}')
        lines.append(f'\nAll {len(checklist.items)} items ready: {train}')
        return '\n'.join(lines)
    lines.append(f'\n{len(missing)} of {len(checklist.items)} items not '
                 'ready.')
    steps = checklist.steps()
    if steps:
        lines.append(f'python tools/data/prepare.py {checklist.config} '
                     f"--run makes what it can ({', '.join(steps)}), "
                     'skipping what exists; weights and the dataset itself '
                     'are downloaded by hand.')
    return '\n'.join(lines)
