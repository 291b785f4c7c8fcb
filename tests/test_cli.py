"""The `nst` command: exit codes and messages."""

import subprocess
import sys

import numpy as np
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
    result = subprocess.run([sys.executable, "-m", "nst_utils.cli", "transfer", "--convnet",
                             "alexnet"], capture_output=True, text=True)
    assert result.returncode == 2 and "invalid choice: 'alexnet'" in result.stderr
    assert "Traceback" not in result.stderr
