"""A work dir given where a checkpoint belongs resolves to its newest
loadable checkpoint, and the tool says which one it took (and why it
skipped newer ones)."""
import os
import shutil

from tests.helpers import call_tool_main


def test_test_tool_takes_the_newest_checkpoint_of_a_work_dir(
        small_trained_run, tmp_path):
    work = small_trained_run['work_dir']
    run = call_tool_main('tools/test.py', [
        small_trained_run['config'], work, '--work-dir', tmp_path / 'w'])
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert (f'CHECKPOINT {work} is a folder: using its newest loadable '
            f'checkpoint, {small_trained_run["checkpoint"]}') in run.stderr
    assert 'UAR' in run.stdout


def test_a_broken_newest_checkpoint_is_skipped_by_name(small_trained_run,
                                                       tmp_path,
                                                       nothing_lost):
    work = tmp_path / 'work'
    work.mkdir()
    good = work / 'epoch_1.pth'
    shutil.copy(os.path.join(small_trained_run['work_dir'], 'epoch_1.pth'),
                good)
    (work / 'epoch_2.pth').write_bytes(good.read_bytes()[:5000])  # disk full
    nothing_lost(str(work))
    out = tmp_path / 'shared.safetensors'
    run = call_tool_main('tools/export_adapters.py', [work, '--out', out])
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    text = run.stdout + run.stderr
    assert f"skipping Cannot read checkpoint '{work}/epoch_2.pth'" in text
    assert f'using its newest loadable checkpoint, {good}' in text
    assert out.is_file()


def test_a_folder_without_checkpoints_is_named(tmp_path):
    run = call_tool_main('tools/export_adapters.py', [tmp_path])
    assert run.returncode == 2
    assert (f'CHECKPOINT {tmp_path} is a folder without a loadable '
            'checkpoint') in run.stderr
    assert 'Traceback' not in run.stderr


def test_resume_after_num_frames_changed_names_file_and_tensors(
        small_trained_run, tmp_path, nothing_lost):
    work = tmp_path / 'work'
    work.mkdir()
    shutil.copy(os.path.join(small_trained_run['work_dir'], 'epoch_1.pth'),
                work / 'epoch_1.pth')
    nothing_lost(str(work))
    run = call_tool_main('tools/train.py', [
        small_trained_run['config'], '--work-dir', work, '--resume',
        '--cfg-options', 'model.branches.video.encoder.num_frames=8'])
    assert run.returncode == 2, (run.stdout + run.stderr)[-3000:]
    assert (f"'{work}/epoch_1.pth' does not fit the model built from this "
            'config') in run.stderr
    assert 'temporal' in run.stderr and 'checkpoint (4, ' in run.stderr
    assert 'num_frames' in run.stderr and 'Traceback' not in run.stderr
