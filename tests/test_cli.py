"""The `nst` command: exit codes and messages."""

import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_utils.cli import main
from nst_utils.transfer import IMAGES_DIR

CONTENT, STYLE = str(IMAGES_DIR / "rocket.jpg"), str(IMAGES_DIR / "klimt_the_kiss.jpg")
FAST = ["--max-size", "40", "--iterations", "3"]


def test_transfer_writes_the_image(tmp_path, capsys):
    out = tmp_path / "r.png"
    assert main(["transfer", CONTENT, STYLE, "-o", str(out), *FAST]) == 0
    assert Image.open(out).size == (40, 27)
    assert "Saved" in capsys.readouterr().out


def test_default_output_is_numbered_never_overwritten(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["transfer", CONTENT, STYLE, *FAST]) == 0
    assert main(["transfer", CONTENT, STYLE, *FAST]) == 0
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == [
        "rocket_in_the_style_of_klimt_the_kiss.png",
        "rocket_in_the_style_of_klimt_the_kiss_2.png"]


def test_existing_output_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "r.png"
    out.write_bytes(b"mine")
    assert main(["transfer", CONTENT, STYLE, "-o", str(out), *FAST]) == 1
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"mine"
    assert main(["transfer", CONTENT, STYLE, "-o", str(out), "--overwrite", *FAST]) == 0
    assert np.asarray(Image.open(out)).shape == (27, 40, 3)


def test_user_errors_exit_1_with_one_line_and_no_traceback(tmp_path, capsys):
    cases = [["transfer", str(tmp_path / "missing.jpg"), STYLE],
             ["transfer", CONTENT],
             ["transfer", CONTENT, STYLE, "--style-layers", "block1_conv1", "nope"],
             ["transfer", CONTENT, STYLE, "--max-size", "4"]]
    for argv in cases:
        assert main([*argv, "-o", str(tmp_path / "x.png")]) == 1
        err = capsys.readouterr().err
        assert err.startswith("nst: error: ") and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_the_installed_command_rejects_bad_usage():
    nst = Path(sys.executable).parent / "nst"  # the console script pip installed
    result = subprocess.run([str(nst), "transfer", "--convnet", "alexnet"], capture_output=True,
                            text=True)
    assert result.returncode == 2 and "invalid choice: 'alexnet'" in result.stderr
    assert "Traceback" not in result.stderr


# Outputs, stops and inputs (issue 13): every case checks the exit status, that no traceback is
# shown, and which files exist afterwards.

def run_nst(*argv, env=None, timeout=300):
    """Run the installed entry point in a fresh process, as a shell would."""
    return subprocess.run([sys.executable, "-m", "nst_command", *argv], capture_output=True,
                          text=True, timeout=timeout, env=env)


def one_line_error(err, *parts):
    """Apart from the progress bar, the error output is one 'nst: error:' line containing
    every part."""
    lines = [line for line in err.replace("\r", "\n").splitlines()
             if line.strip() and not re.match(r"(lbfgs|adam|gd)\S*: ", line)]
    assert len(lines) == 1 and lines[0].startswith("nst: error: "), err
    assert "Traceback" not in err and "Warning" not in err
    for part in parts:
        assert part in lines[0], (part, lines[0])


def can_mount():
    """Whether this machine lets us mount a private tmpfs (a user and mount namespace)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            "mount -t tmpfs -o size=4k tmpfs /mnt"], capture_output=True)
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(not can_mount(), reason="needs unshare and a tmpfs mount")


def on_tmpfs(folder, options, *argv, env=None):
    """`nst` with `folder` replaced by a fresh tmpfs mounted with `options`, seen only by it."""
    script = (f'mount -t tmpfs -o {options} tmpfs "{folder}" && exec "{sys.executable}" '
              '-m nst_command "$@"')
    return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script,
                           "sh", *argv], capture_output=True, text=True, timeout=300, env=env)


@needs_mount
def test_read_only_folder_is_refused_before_any_work(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    result = on_tmpfs(folder, "ro", "transfer", CONTENT, STYLE, "-o", str(folder / "out.png"),
                      *FAST)
    assert result.returncode == 1
    one_line_error(result.stderr, f"Cannot write '{folder / 'out.png'}'",
                   "(Read-only file system)")
    assert "lbfgs" not in result.stderr  # no progress bar: refused before optimising
    assert not list(folder.iterdir())


@needs_mount
@pytest.mark.slow
def test_full_disk_saves_the_result_elsewhere_and_says_where(tmp_path):
    folder, spare = tmp_path / "full", tmp_path / "spare"
    folder.mkdir()
    spare.mkdir()
    env = {**os.environ, "TMPDIR": str(spare)}
    result = on_tmpfs(folder, "size=4k", "transfer", CONTENT, STYLE, "-o",
                      str(folder / "out.png"), "--max-size", "64", "--iterations", "2", env=env)
    assert result.returncode == 1
    one_line_error(result.stderr, f"Could not write the result to '{folder / 'out.png'}' (No "
                   f"space left on device); it was saved to '{spare / 'out.png'}' instead.")
    assert Image.open(spare / "out.png").size == (64, 43)
    assert not list(folder.iterdir())  # the mount is gone, and nothing was written under it


@pytest.mark.parametrize("make_output, message", [
    (lambda tmp: "/proc/nst/out.png", "Cannot write '/proc/nst/out.png': creating a file in "
                                      "'/proc' failed"),
    (lambda tmp: tmp / "photo.jpg" / "out.png", "is a file, not a folder"),
])
def test_unwritable_outputs_are_refused_before_any_work(tmp_path, capsys, monkeypatch,
                                                        make_output, message):
    (tmp_path / "photo.jpg").write_bytes(b"not a folder")
    monkeypatch.setattr("nst_utils.transfer.build_vgg", None)  # would fail if reached
    before = sorted(tmp_path.iterdir())
    assert main(["transfer", CONTENT, STYLE, "-o", str(make_output(tmp_path)), *FAST]) == 1
    one_line_error(capsys.readouterr().err, message)
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.slow
def test_an_output_folder_gets_a_new_file_inside_it(tmp_path, capsys):
    folder = tmp_path / "album.png"  # a folder, whatever its name says
    folder.mkdir()
    for _ in (1, 2):
        assert main(["transfer", CONTENT, STYLE, "-o", str(folder), *FAST]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "rocket_in_the_style_of_klimt_the_kiss.png", "rocket_in_the_style_of_klimt_the_kiss_2.png"]
    assert f"Saved {folder / 'rocket_in_the_style_of_klimt_the_kiss_2.png'} after" in (
        capsys.readouterr().out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["album.png"]


def test_the_animation_path_is_checked_before_any_work_too(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("nst_utils.transfer.build_vgg", None)  # would fail if reached
    assert main(["transfer", CONTENT, STYLE, "-o", str(tmp_path / "r.png"), "--animation",
                 "/proc/nst/a.gif", *FAST]) == 1
    one_line_error(capsys.readouterr().err, "Cannot write '/proc/nst/a.gif'")
    assert main(["transfer", CONTENT, STYLE, "-o", str(tmp_path / "r.png"), "--animation",
                 str(tmp_path / "a.png"), *FAST]) == 1
    one_line_error(capsys.readouterr().err, "is written as a GIF: give it a name ending in .gif")
    assert not list(tmp_path.iterdir())


def test_a_failed_snapshot_is_reported_and_the_run_goes_on(tmp_path, capsys, monkeypatch):
    def full_disk(path, image, overwrite=False):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("nst_utils.transfer.save_image", full_disk)
    out = tmp_path / "r.png"
    assert main(["transfer", CONTENT, STYLE, "-o", str(out), "--save-every", "1", *FAST]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("Could not save the snapshot") == 3
    assert f"'{tmp_path / 'r_at_iteration_2.png'}' (No space left on device); going on" in \
        captured.err and "Traceback" not in captured.err
    assert f"Saved {out} after 3 iterations" in captured.out
    assert [p.name for p in tmp_path.iterdir()] == ["r.png"]


def test_the_result_never_replaces_an_input_even_with_overwrite(tmp_path, capsys):
    photo, painting, start = tmp_path / "photo.jpg", tmp_path / "painting.gif", tmp_path / "s.png"
    shutil.copy(CONTENT, photo)
    Image.open(STYLE).resize((60, 40)).save(painting)
    Image.open(STYLE).resize((60, 40)).save(start)
    (tmp_path / "link.jpg").symlink_to(photo)
    originals = {path: path.read_bytes() for path in (photo, painting, start)}
    for options, role in [(["-o", str(photo)], "content image"),
                          (["-o", str(tmp_path / "sub" / ".." / "photo.jpg")], "content image"),
                          (["-o", str(tmp_path / "link.jpg")], "content image"),
                          (["-o", str(start), "--init", str(start)], "init image"),
                          (["--animation", str(painting)], "style image 1")]:
        assert main(["transfer", str(photo), str(painting), *options, "--overwrite",
                     *FAST]) == 1
        one_line_error(capsys.readouterr().err, "is the " + role,
                       "never writes over its inputs")
    assert {path: path.read_bytes() for path in (photo, painting, start)} == originals
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.jpg", "painting.gif",
                                                          "photo.jpg", "s.png"]


def test_a_name_without_an_image_extension_gets_png_and_the_message_says_so(tmp_path, capsys):
    assert main(["transfer", CONTENT, STYLE, "-o", str(tmp_path / "result.xyz"), *FAST]) == 0
    assert f"Saved {tmp_path / 'result.xyz.png'} after" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["result.xyz.png"]


@pytest.mark.parametrize("options, message", [
    (["--style-weights", "1000", "-1", "12", "1", "1"], "--style-weights must not be negative, "
                                                        "got -1.0."),
    (["--style-weights", "nan", "1", "1", "1", "1"], "--style-weights must be a finite number"),
    (["--content-weight", "inf"], "--content-weight must be a finite number, got inf."),
    (["--tv-weight", "-5"], "--tv-weight must not be negative"),
    (["--optimizer", "adam", "--learning-rate", "nan"], "--learning-rate must be a finite"),
    (["--learning-rate", "0"], "--learning-rate must be more than 0, got 0.0."),
    (["--save-every", "0"], "--save-every must be at least 1, got 0."),
    (["--save-every", "-1"], "--save-every must be at least 1, got -1."),
    (["--iterations", "0"], "--iterations must be at least 1, got 0."),
    (["--max-size", "0"], "--max-size must be at least 1, got 0."),
    (["--max-size", "4"], "after resizing, too small for layer block5_*"),
    (["--memory-limit", "-1"], "--memory-limit must be more than 0, got -1.0."),
    (["--animation", "a.gif", "--animation-every", "0"], "--animation-every must be at least 1"),
    (["--scales", "0", "1"], "--scales must be more than 0"),
    (["--style-scale", "nan"], "--style-scale must be a finite number"),
    (["--init-noise", "2"], "--init-noise must be a fraction between 0 and 1"),
    (["--style-blend", "1", "1"], "Got 2 --style-blend for 1 style; give one weight per style."),
])
def test_numeric_options_are_checked_first_and_named_as_typed(tmp_path, capsys, monkeypatch,
                                                               options, message):
    monkeypatch.setattr("nst_utils.transfer.build_vgg", None)  # would fail if reached
    assert main(["transfer", CONTENT, STYLE, "-o", str(tmp_path / "x.png"), *options]) == 1
    err = capsys.readouterr().err
    one_line_error(err, message)
    assert "_weight" not in err and "save_every" not in err and "max_size" not in err
    assert not list(tmp_path.iterdir())


def test_memory_limit_is_reported_in_the_gigabytes_typed(tmp_path, capsys):
    assert main(["transfer", CONTENT, STYLE, "-o", str(tmp_path / "x.png"), "--memory-limit",
                 "1.2"]) == 1
    one_line_error(capsys.readouterr().err, "only 1.2 GB is available. Use --max-size ",
                   "or pass a larger --memory-limit if you know better.")


def wait_for(path, process, timeout=240):
    """Wait until `path` exists (the optimisation is running), failing if the process ends."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the optimisation did not start in time"
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_run_and_keeps_the_best_image(tmp_path, signum, status):
    out = tmp_path / "r.png"
    process = subprocess.Popen(
        [sys.executable, "-m", "nst_command", "transfer", CONTENT, STYLE, "-o", str(out),
         "--max-size", "40", "--iterations", "500", "--save-every", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(tmp_path / "r_at_iteration_2.png", process)
        process.send_signal(signum)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == status
    name = signal.Signals(signum).name
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(rf"nst: stopped by {name} after \d+ iterations; the best image "
                        rf"so far is saved in {re.escape(str(out))}\.", last), err
    assert "Traceback" not in err and "Warning" not in err
    assert Image.open(out).size == (40, 27)


def wait_until_handled(process, signum, timeout=60):
    """Wait until `process` has a handler for `signum` (Linux's /proc shows which signals a
    process catches): nst_command installs one just before it imports Keras, which takes
    seconds, so a signal sent now arrives while the command is starting."""
    deadline = time.monotonic() + timeout
    while True:
        status = Path(f"/proc/{process.pid}/status").read_text()
        caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.M).group(1), 16)
        if caught >> (signum - 1) & 1:
            return
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the command did not start in time"
        time.sleep(0.01)


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_starting_exits_with_one_line(tmp_path, signum, status):
    process = subprocess.Popen(
        [sys.executable, "-m", "nst_command", "transfer", CONTENT, STYLE, "-o",
         str(tmp_path / "r.png"), *FAST], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        # SIGTERM, which Python itself leaves to the system, is caught only by nst_command.
        wait_until_handled(process, signal.SIGTERM)
        process.send_signal(signum)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    name = signal.Signals(signum).name
    assert (process.returncode, err) == (
        status, f"nst: stopped by {name} while starting; nothing was done.\n")
    assert not list(tmp_path.iterdir())


# The command answers at once (issue 25): usage and every mistake found before Keras loads.

def before_keras(*argv, cwd=None):
    """Run the `nst` entry point on argv in a fresh interpreter, as far as it goes before a
    model run: (exit status, stderr, stdout, whether Keras or TensorFlow was imported)."""
    code = ("import sys, nst_command\n"
            "try:\n    status = nst_command.main()\nexcept SystemExit as end:\n"
            "    status = end.code\n"
            "print(status, any(name in sys.modules for name in ('keras', 'tensorflow')))")
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                            timeout=60, cwd=cwd)
    *out, last = result.stdout.splitlines()
    status, loaded = last.split()
    return int(status), result.stderr, "\n".join(out), loaded == "True"


def test_help_shows_every_default_without_loading_keras():
    status, err, out, loaded = before_keras("transfer", "--help")
    assert (status, err, loaded) == (0, "", False)
    text = " ".join(out.split())  # argparse wraps the lines
    for option, default in [("--max-size MAX_SIZE", "384"), ("--iterations", "65"),
                            ("--convnet", "vgg16"), ("--pooling", "max"),
                            ("--optimizer", "lbfgs"), ("--init INIT", "content"),
                            ("--content-weight", "100"), ("--style-weights", "1000 100 12 1 1"),
                            ("--tv-weight", "200"), ("--content-layer", "block4_conv2"),
                            ("--scales", "0.5 1"), ("--seed SEED", "0")]:
        assert re.search(rf"{re.escape(option)}[^(]*\(default: {re.escape(default)}\)", text), \
            option
    assert "(default: block1_conv1 block2_conv1 block3_conv1 block4_conv1 block5_conv1)" in text
    for argv, code in [(["--help"], 0), ([], 2)]:  # no command: the help, and status 2
        status, err, out, loaded = before_keras(*argv)
        assert (status, loaded) == (code, False) and "transfer" in out and "grade" in out


@pytest.mark.parametrize("argv, line", [
    (["transfer", "--iterations", "abc"],
     "nst transfer: error: argument --iterations: invalid int value: 'abc'; "
     "see 'nst transfer --help'."),
    (["transfer", "--convnet", "alexnet"],
     "nst transfer: error: argument --convnet: invalid choice: 'alexnet' (choose from "),
    (["grade"], "nst grade: error: the following arguments are required: submissions; "
                "see 'nst grade --help'."),
    (["transfer", "a.jpg", "b.jpg", "--bogus"],
     "nst transfer: error: unrecognized arguments: --bogus; see 'nst transfer --help'."),
])
def test_a_usage_mistake_is_one_line_pointing_to_help(argv, line):
    status, err, out, loaded = before_keras(*argv)
    assert (status, loaded, out) == (2, False, "")
    (only,) = err.splitlines()
    # how argparse quotes the choices differs between Python versions
    assert only.startswith(line) and only.endswith(f"; see 'nst {argv[0]} --help'.")


def one_pixel_image(path):
    Image.new("RGB", (1, 1), (200, 30, 30)).save(path)
    return str(path)


@pytest.mark.parametrize("options, message", [
    (["--iterations", "0"], "--iterations must be at least 1, got 0."),
    (["--content-weight", "0", "--style-weights", "0", "0", "0", "0", "0", "--tv-weight", "0"],
     "--content-weight, --style-weights and --tv-weight are all 0, so nothing would change the "
     "starting image; give at least one of them a positive value."),
    (["--weights", "nowhere.h5"], "--weights 'nowhere.h5' is not a file"),
    (["--style-masks", "nowhere.png"], "No image at 'nowhere.png'"),
    (["--style-masks", "a.png", "b.png"], "Got 2 style masks for 1 style; give one mask per "
                                          "style, in the same order."),
])
def test_value_mistakes_are_answered_before_keras_loads(tmp_path, options, message):
    status, err, out, loaded = before_keras("transfer", CONTENT, STYLE, "-o",
                                            str(tmp_path / "x.png"), *options, cwd=tmp_path)
    assert (status, loaded) == (1, False)
    one_line_error(err, message)
    assert not (tmp_path / "x.png").exists()


def test_content_and_style_need_the_same_size(tmp_path):
    tiny = one_pixel_image(tmp_path / "tiny.png")
    for argv, name in [([tiny, STYLE], "content"), ([CONTENT, tiny], "style")]:
        status, err, _, loaded = before_keras("transfer", *argv, "-o", str(tmp_path / "x.png"))
        assert (status, loaded) == (1, False)
        one_line_error(err, f"The {name} image is 1x1 pixels, too small for layer block5_*, "
                            "which needs at least 16 pixels on each side.")
