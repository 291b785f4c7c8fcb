"""Small display helpers for the notebooks: image grids, loss curves and a live preview.

Nothing here is needed to run a style transfer; these functions only show what happens.
"""

import itertools

import matplotlib.pyplot as plt
import numpy as np

from .images import deprocess_image, to_uint8

_PREVIEWS_SHOWN = set()
_PREVIEW_IDS = itertools.count(1)


def as_uint8(image):
    """An RGB uint8 image (H, W, 3) from a uint8 image, a 0-255 float image or a VGG batch.

    A float array of shape (1, H, W, 3) is taken to be preprocessed (BGR minus the ImageNet
    mean) and is deprocessed; a float (H, W, 3) array is taken to be RGB in 0-255.
    """
    image = np.asarray(image)
    if image.ndim == 4:
        return deprocess_image(image, image.shape[1], image.shape[2])
    return to_uint8(image)


def show_images(images, titles=None, ncols=None, size=3.0, suptitle=None, row_labels=None):
    """Show images in a grid, each with its title.

    Nothing is returned, so the figure is shown once even as a cell's last line.

    Args:
        images: a list of images (anything `as_uint8` accepts), row by row.
        titles: one title per image (or None).
        ncols: images per row (default: all in one row).
        size: the side of one panel in inches.
        suptitle: a title for the whole figure.
        row_labels: optional text written to the left of each row.
    """
    images = [as_uint8(image) for image in images]
    ncols = ncols or len(images)
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.4),
                             squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if index >= len(images):
            ax.axis("off")
            continue
        ax.imshow(images[index], interpolation="lanczos" if images[index].shape[0] > 64
                  else "nearest")
        if titles is not None:
            ax.set_title(titles[index], fontsize=10)
    if row_labels is not None:
        for ax, label in zip(axes[:, 0], row_labels):
            ax.set_ylabel(label, fontsize=10)
    if suptitle:
        fig.suptitle(suptitle, fontsize=12)
    fig.tight_layout()
    plt.show()


def show_feature_maps(activation, channels, title=None, size=2.0, cmap="viridis"):
    """Show some channels of one activation (1, H, W, C) or (H, W, C) as images."""
    activation = np.asarray(activation)
    if activation.ndim == 4:
        activation = activation[0]
    fig, axes = plt.subplots(1, len(channels), figsize=(size * len(channels), size + 0.5),
                             squeeze=False)
    for ax, channel in zip(axes[0], channels):
        ax.imshow(activation[:, :, channel], cmap=cmap)
        ax.set_title(f"channel {channel}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.show()


def plot_losses(histories, x="evaluations", y="loss", log=True, title=None, ax=None):
    """Plot loss curves of several optimisation runs on one set of axes.

    Args:
        histories: {label: history}, each history the list of dicts `minimize` or
            `style_transfer` returns.
        x: "evaluations" (loss and gradient computations), "seconds" or "iteration".
        y: the history key to plot: "loss" (the total) or a term such as "style".
        log: use a logarithmic loss axis.
        title: the plot's title.
        ax: draw into these matplotlib axes instead of a new figure.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for label, history in histories.items():
        ax.plot([record[x] for record in history], [record[y] for record in history],
                label=label, marker="." if len(history) < 30 else None)
    if log:
        ax.set_yscale("log")
    names = {"evaluations": "loss and gradient evaluations", "seconds": "seconds",
             "iteration": "iteration"}
    ax.set_xlabel(names.get(x, x))
    ax.set_ylabel(f"{y} (log scale)" if log else y)
    ax.set_title(title or f"{y} against {names.get(x, x)}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    plt.tight_layout()
    plt.show()


def live_preview(every=10, title="", size=3.0, display_id=None):
    """A callback that shows the current image every `every` iterations, in place.

    It fits both `minimize(..., callback=...)` (which passes a preprocessed batch) and
    `style_transfer(..., callback=...)` (which passes a uint8 image). The picture is replaced
    rather than appended, so a notebook keeps one preview per `display_id`: pass the same
    `display_id` to several runs to show them all in one place.
    """
    from IPython.display import display, update_display

    display_id = display_id or f"nst-preview-{next(_PREVIEW_IDS)}"

    def callback(iteration, image, record=None):
        if iteration % every:
            return
        fig, ax = plt.subplots(figsize=(size, size))
        ax.imshow(as_uint8(image))
        ax.set_xticks([])
        ax.set_yticks([])
        loss = f", loss {record['loss']:.3g}" if record else ""
        ax.set_title(f"{title + ': ' if title else ''}iteration {iteration}{loss}", fontsize=9)
        fig.tight_layout()
        if display_id in _PREVIEWS_SHOWN:
            update_display(fig, display_id=display_id)
        else:
            display(fig, display_id=display_id)
            _PREVIEWS_SHOWN.add(display_id)
        plt.close(fig)

    return callback
