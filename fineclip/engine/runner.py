"""FineCLIP's Runner: MMEngine's, with a console a person can read, a log
folder of its own for every run, and a summary at the end of training.

MMEngine logs the environment, the whole config and the hook order at the
start of every run (about 300 lines), and four warnings that concern its
own internals. They stay in the run's log file; on the console each dump
becomes one line saying where it is, unless the config sets
``verbose = True`` (``--verbose`` on the tools).
"""
import logging
import os.path as osp
from typing import Optional

from mmengine.runner import Runner

from fineclip.registry import RUNNERS
from .run_folders import claim_run_folder_on_all_ranks

#: Console lines MMEngine writes at every run that a user need not read:
#: ``(start of the message, what the console shows instead or None)``.
_DIGESTS = (
    ('\n' + '-' * 60 + '\nSystem environment',
     'environment ({runtime}): written to the log file {log}'),
    ('Config:\n', 'config (as overridden): {config}'),
    ('Hooks will be executed in the following order', None),
    ('Distributed training is not used', None),
    # MMEngine's CheckpointHook and LoggerHook build a FileClient at every
    # run, whatever their arguments: deprecation notes about MMEngine's
    # own code, not about anything in the config
    ('"FileClient" will be deprecated', None),
    ('"HardDiskBackend" is the alias of "LocalBackend"', None),
)


class ConsoleDigest(logging.Filter):
    """Drops MMEngine's start-up noise from the console handler; with
    :class:`DigestFormatter` it shows the dumps as one line each. The
    records themselves are left as they are: the file handler, which sees
    the same records, keeps everything.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        digest = _digest_of(record.getMessage())
        return digest is None or digest[1] is not None


class DigestFormatter(logging.Formatter):
    """Formats a start-up dump as the one line that says where it is, and
    anything else with the handler's own formatter.

    Args:
        inner: The console handler's formatter.
        log_file: The run's log file, where everything stays.
        config_file: The dumped config (``work_dir/<config name>``).
    """

    def __init__(self, inner: logging.Formatter, log_file: str,
                 config_file: str):
        super().__init__()
        self.inner = inner
        self.log_file, self.config_file = log_file, config_file

    def format(self, record: logging.LogRecord) -> str:
        digest = _digest_of(record.getMessage())
        if digest is None or digest[1] is None:
            return self.inner.format(record)
        short = logging.makeLogRecord(record.__dict__)
        short.msg = digest[1].format(log=self.log_file,
                                     config=self.config_file,
                                     runtime=_runtime_summary(
                                         record.getMessage()))
        short.args = ()
        return self.inner.format(short)


#: Lines of MMEngine's environment dump the console keeps.
_RUNTIME_KEYS = ('seed', 'Distributed launcher', 'GPU number')


def _runtime_summary(message: str) -> str:
    """``'seed: 0; Distributed launcher: none; GPU number: 1'`` from the
    environment dump: what tells one run from another."""
    lines = [line.strip() for line in message.splitlines()]
    return '; '.join(line for line in lines
                     if line.split(':', 1)[0] in _RUNTIME_KEYS)


def _digest_of(message: str):
    """The entry of :data:`_DIGESTS` that ``message`` starts with."""
    return next((d for d in _DIGESTS if message.startswith(d[0])), None)


def _console_handlers(logger: logging.Logger):
    return [h for h in logger.handlers
            if type(h) is logging.StreamHandler]  # not the file handler


@RUNNERS.register_module()
class FineCLIPRunner(Runner):
    """MMEngine's Runner with a short console (see the module docstring)
    and a summary when training ends (:meth:`train`).

    Built as MMEngine's: ``FineCLIPRunner.from_cfg(cfg)``.
    """

    def build_logger(self, log_level='INFO', log_file: Optional[str] = None,
                     **kwargs):
        logger = super().build_logger(log_level, log_file, **kwargs)
        if not self.cfg.get('verbose', False):
            log = log_file or osp.join(self.log_dir, f'{self.timestamp}.log')
            config = osp.join(self.work_dir,
                              osp.basename(self.cfg.filename or 'config.py'))
            for handler in _console_handlers(logger):
                if not any(isinstance(f, ConsoleDigest)
                           for f in handler.filters):
                    handler.addFilter(ConsoleDigest())
                    handler.setFormatter(DigestFormatter(
                        handler.formatter or logging.Formatter(), log,
                        config))
        return logger

    def setup_env(self, env_cfg: dict) -> None:
        super().setup_env(env_cfg)  # starts the process group, if any
        # MMEngine names the log folder by the second: two runs started in
        # the same second would share it (and one log file)
        self._timestamp = claim_run_folder_on_all_ranks(self._work_dir,
                                                         self._timestamp)

    def train(self):
        model = super().train()
        self.logger.info(training_summary(self))
        return model


def training_summary(runner: Runner) -> str:
    """What a finished training run left, and how to test it: the last and
    best checkpoints, the last validation metrics, the test command."""
    work_dir = runner.work_dir
    last = None
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            last = f.read().strip() or None
    best = runner.message_hub.get_info('best_ckpt')
    metrics = {k.split('/', 1)[-1]: v for k, v in
               runner.message_hub.log_scalars.items()
               if k.startswith('val/') and k.split('/', 1)[-1] in ('UAR',
                                                                  'WAR')}
    values = {k: v.current() for k, v in metrics.items()}
    lines = ['Training finished.']
    if last:
        lines.append(f'  last checkpoint: {last}')
    if best:
        lines.append(f'  best checkpoint: {best}')
    if values:
        shown = '  '.join(f'{k} {float(v):.4f}' for k, v in
                          sorted(values.items()))
        lines.append(f'  last validation: {shown}')
    config = osp.join(work_dir, osp.basename(runner.cfg.filename or ''))
    tested = best or last
    if tested and osp.isfile(config):
        lines.append(f'  test it: python tools/test.py {config} {tested}')
    return '\n'.join(lines)
