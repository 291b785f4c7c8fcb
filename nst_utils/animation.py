"""Watching an optimisation: the image every few iterations, written as an animated GIF.

GIF because it plays everywhere a course shows images: Jupyter, GitHub and nbviewer. Its frames
hold 256 colours each; they are taken without dithering, which would add a different noise to
every frame and make the file several times larger (and the animation flicker).
"""

from pathlib import Path

import numpy as np
from PIL import Image

from .errors import NSTError
from .images import to_uint8

#: How long each frame shows, and the last one (the result) before the animation loops.
FRAME_MS, HOLD_MS = 120, 2000


def animation_path(path):
    """The animation's file name: `path` itself if it ends in .gif, `path` + ".gif" if it has
    no image extension; another image extension is refused (only GIF animates everywhere)."""
    path = Path(path)
    if path.suffix.lower() == ".gif":
        return path
    if path.suffix.lower() in Image.registered_extensions():
        raise NSTError(f"The animation '{path}' is written as a GIF: give it a name ending in "
                       ".gif.")
    return Path(f"{path}.gif")


class Animation:
    """The frames of one style transfer: the start, every `every`-th iteration, the result.

    Each frame is resized to the final (height, width) (coarse scales give smaller images) and,
    with `colorize`, passed through it (a function of a uint8 RGB image, such as putting the
    content's colours back on a luminance-only transfer), then reduced to 256 colours and kept in
    memory at one byte per pixel until `writer` writes the GIF.

    Args:
        path: the GIF file (see `animation_path`).
        every: keep a frame every this many iterations.
        dims: the (height, width) of the frames.
        colorize: optional function applied to every frame.
    """

    def __init__(self, path, every, dims, colorize=None):
        self.path = animation_path(path)
        self.every = int(every)
        self.dims = (int(dims[0]), int(dims[1]))
        self.colorize = colorize
        self.frames = []        # (iteration, "P" image)

    def add(self, iteration, image):
        """Keep `image` (uint8 RGB, any size) as the frame of `iteration` if it is due."""
        if iteration == 0 or iteration % self.every == 0:
            self.frames.append((iteration, self._frame(image)))

    def finish(self, iteration, image):
        """Make `image`, the result after `iteration` iterations, the last frame.

        If a frame was kept at that iteration it is replaced (it shows the same moment), so a run
        of n iterations has 1 + ceil(n / every) frames.
        """
        if self.frames and self.frames[-1][0] == iteration:
            self.frames.pop()
        self.frames.append((iteration, self._frame(image)))

    def writer(self):
        """A function writing the frames as a looping GIF to a binary handle (for
        `nst_utils.files.atomic_write`)."""
        if not self.frames:
            raise NSTError("The animation has no frames to write.")
        first, *rest = [frame for _, frame in self.frames]
        durations = [FRAME_MS] * (len(self.frames) - 1) + [HOLD_MS]
        return lambda handle: first.save(handle, format="GIF", save_all=True,
                                         append_images=rest, duration=durations, loop=0)

    def _frame(self, image):
        """A uint8 RGB image as a final-size frame of 256 colours without dithering."""
        frame = Image.fromarray(to_uint8(image))
        if frame.size != self.dims[::-1]:
            frame = frame.resize(self.dims[::-1], Image.Resampling.LANCZOS)
        if self.colorize is not None:
            frame = Image.fromarray(to_uint8(self.colorize(np.asarray(frame))))
        return frame.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
