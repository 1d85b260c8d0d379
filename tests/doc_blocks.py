"""Reading the code and commands out of README and the documentation pages,
for the tests that run them (``test_plugin_guide.py``) or check them
against the tools (``test_docs_commands.py``)."""
import glob
import os.path as osp
import re
from typing import Dict, Iterator, List, NamedTuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOCS = osp.join(ROOT, 'docs')

#: A fenced block: an opening run of 3+ backticks and its info string, the
#: body, and the same run of backticks closing it.
_FENCE = re.compile(r'^(?P<ticks>`{3,})(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=ticks)[ \t]*$',
                    re.M | re.S)
_OPTION = re.compile(r'^:([\w-]+):[ \t]*(.*)$')


class Block(NamedTuple):
    """One fenced block of a Markdown page.

    Attributes:
        language: ``python``, ``bash``, ... (a directive's argument for
            ``{code-block} python``; empty for a bare fence).
        directive: The myst directive (``code-block``, ``literalinclude``,
            ``eval-rst``, ...), or ``''`` for a plain fence.
        argument: The directive's argument (``literalinclude``'s path).
        options: The directive's ``:key: value`` options.
        body: The block's text, without options.
        line: The line of the page the block opens on (1-based).
    """

    language: str
    directive: str
    argument: str
    options: Dict[str, str]
    body: str
    line: int


def fenced_blocks(text: str) -> List[Block]:
    """Every fenced block of a Markdown text, in order."""
    blocks = []
    for match in _FENCE.finditer(text):
        info = match.group('info').strip()
        line = text.count('\n', 0, match.start()) + 1
        directive, argument, options = '', '', {}
        body = match.group('body')
        if info.startswith('{'):
            directive, _, argument = info[1:].partition('}')
            argument = argument.strip()
            lines = body.split('\n')
            while lines and _OPTION.match(lines[0]):
                key, value = _OPTION.match(lines[0]).groups()
                options[key] = value.strip()
                lines.pop(0)
            body = '\n'.join(lines).lstrip('\n')
        language = argument if directive == 'code-block' else (
            '' if directive else info.split()[0] if info else '')
        blocks.append(Block(language, directive, argument, options, body,
                            line))
    return blocks


def doc_pages() -> List[str]:
    """README.md, the READMEs of ``configs/`` (included in the docs) and
    ``plugins/``, and every Markdown page under ``docs/`` (paths relative
    to the repository)."""
    pages = ['README.md', 'configs/README.md', 'plugins/README.md'] + sorted(
        osp.relpath(p, ROOT)
        for p in glob.glob(osp.join(DOCS, '**', '*.md'), recursive=True)
        if '_build' not in p)
    return pages


def read(page: str) -> str:
    with open(osp.join(ROOT, page), encoding='utf-8') as f:
        return f.read()


def files_the_docs_create() -> set:
    """Paths the docs tell a reader to save (``{code-block}`` blocks with a
    ``:caption:`` that names a file): commands may name them."""
    return {block.options['caption'] for page in doc_pages()
            for block in fenced_blocks(read(page))
            if block.directive == 'code-block'
            and '/' in block.options.get('caption', '')}


class Command(NamedTuple):
    """``tool`` (a path under ``tools/``) and the arguments after it, from
    ``page``'s line ``line``."""

    page: str
    line: int
    tool: str
    args: List[str]

    def __str__(self):
        return f"{self.page}:{self.line}: {' '.join([self.tool] + self.args)}"


_SHELL = ('bash', 'shell', 'sh', 'console')
_RUNNERS = re.compile(r'^(python3?|bash|sh|torchrun|srun|\$)$')
_TOOL = re.compile(r'^tools/[\w./-]+\.(py|sh)$')
_INLINE = re.compile(r'(?<!`)`([^`]+)`(?!`)')


def _contexts(text: str) -> Iterator[tuple]:
    """``(line, text)`` of each place a command may be: every line of a
    fenced block (shell continuations joined) and every inline code span."""
    spans = []
    for match in _FENCE.finditer(text):
        start = text.count('\n', 0, match.start()) + 2
        body = match.group('body')
        info = match.group('info').strip()
        if info.startswith('{') and not info.startswith('{code-block}'):
            continue  # directives: toctree, literalinclude, eval-rst
        if info.split()[:1] and info.split()[0] in _SHELL:
            body = re.sub(r'\\\n', ' ', body)  # continuation lines
        for i, line in enumerate(body.split('\n')):
            yield start + i, line
        spans.append((match.start(), match.end()))
    prose = list(text)
    for a, b in spans:  # blank out fences, keeping the line count
        prose[a:b] = [c if c == '\n' else ' ' for c in text[a:b]]
    prose = ''.join(prose)
    for match in _INLINE.finditer(prose):
        yield (prose.count('\n', 0, match.start()) + 1,
               ' '.join(match.group(1).split()))


def commands(page: str) -> List[Command]:
    """Every ``python tools/...`` (``bash tools/...``, ``torchrun ...
    tools/...``) command of a Markdown page."""
    found = []
    for line, context in _contexts(read(page)):
        for segment in re.split(r'&&|\|\||;|\|', context):
            tokens = [t.strip('[]()') for t in segment.split()]
            current = None
            for i, token in enumerate(tokens):
                if token.startswith('#'):
                    break  # a shell comment
                if _TOOL.match(token) and any(
                        _RUNNERS.match(t) for t in tokens[:i]):
                    current = Command(page, line, token, [])
                    found.append(current)
                elif current is not None and token:
                    current.args.append(token)
    return found


def expand_braces(word: str) -> List[str]:
    """Shell brace expansion of ``{a,b}`` and ``{1..9}``, as the docs use it
    to name several configs at once."""
    match = re.search(r'\{([^{}]*)\}', word)
    if not match:
        return [word]
    inner = match.group(1)
    numbers = re.fullmatch(r'(\d+)\.\.(\d+)', inner)
    if numbers:
        options = [str(n) for n in range(int(numbers.group(1)),
                                         int(numbers.group(2)) + 1)]
    elif ',' in inner:
        options = inner.split(',')
    else:
        return [word]
    head, tail = word[:match.start()], word[match.end():]
    return [w for option in options
            for w in expand_braces(head + option + tail)]
